"""Hash-encoding throughput on one GPU: Triton kernels vs eager and torch.compile'd PyTorch.

One call builds everything (Triton kernels, the compiled reference, optionally torch-ngp's CUDA
grid encoder from its own source), checks every variant against the PyTorch reference on fresh
random inputs, times forward and forward+backward (median of ``triton.testing.do_bench``, L2
flushed before each call) twice: launched one by one from Python (what a training loop without
CUDA graphs pays, host included) and replayed from a CUDA graph (the GPU's time alone), prints a
table last and writes JSON.

  python benchmarks/encoding_bench.py --json $OUT/encoding_bench.json [--peer .peer/gridencoder] [--sweep]

Workload (issue 8): 2^18 points uniform in [0, 1]^3, 16 levels, 2 features, 2^19 rows per level,
resolutions 16..2048. ``--points rays`` instead lays the points out as training hands them to the
encoding: runs of 64 consecutive samples along random rays, one NeRF march step apart
(sqrt(3)/1024 of the grid's cube), so that neighbouring points share the coarse levels' corners.
"table" rows time the table gradient only (NeRF); "table+x" rows also the gradient to the points
(NeuS' analytic normals, first order).
"""
from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
import triton
import triton.language as tl
from triton.compiler.errors import CompilationError

from meshcast.fields import hashgrid as reference
from meshcast.fields import hashgrid_triton as fast
from meshcast.fields.config import HashGridConfig

Encode = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


POINTS = "uniform"  # or "rays" (--points)
# issue 8's workload: 16 levels x 2 features, 2^19 rows per level, resolutions 16 to 2048
WORKLOAD = HashGridConfig(levels=16, features_per_level=2, log2_table_size=19, base_resolution=16,
                          finest_resolution=2048)
RAY_SAMPLES, RAY_STEP = 64, 3**0.5 / 1024


def make_points(n: int, gen: torch.Generator) -> torch.Tensor:
    """(n, 3) points in [0, 1]^3: uniform, or in runs of RAY_SAMPLES along random rays."""
    if POINTS == "uniform":
        return torch.rand(n, 3, device="cuda", generator=gen)
    rays = -(-n // RAY_SAMPLES)
    start = 0.2 + 0.6 * torch.rand(rays, 1, 3, device="cuda", generator=gen)
    d = torch.nn.functional.normalize(torch.randn(rays, 1, 3, device="cuda", generator=gen), dim=-1)
    t = torch.arange(RAY_SAMPLES, device="cuda").view(1, -1, 1) * RAY_STEP
    return (start + d * t).reshape(-1, 3)[:n].clamp(0.0, 1.0).contiguous()


def make_inputs(cfg: HashGridConfig, n: int, dtype: torch.dtype, seed: int) -> dict:
    """Fresh random points, table, output gradient (never zeros) and level constants on the GPU."""
    gen = torch.Generator(device="cuda").manual_seed(seed)
    rows = sum(cfg.level_sizes())  # HashGrid's one table: each level's rows in turn (tiny-cuda-nn's layout)
    table = (torch.rand(rows, cfg.features_per_level, device="cuda", generator=gen) * 2 - 1).to(dtype)
    return {
        "x": make_points(n, gen),
        "table": table,
        "gout": torch.randn(n, cfg.output_dim, device="cuda", generator=gen).to(dtype),
        "levels": reference.Levels.of(cfg, "cuda"),
    }


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b|| in float64 (NaN compares as inf)."""
    d = (a.detach().double() - b.detach().double()).norm() / b.detach().double().norm().clamp_min(1e-300)
    return float("inf") if not torch.isfinite(d) else float(d)


def grads(fn: Encode, x: torch.Tensor, table: torch.Tensor, gout: torch.Tensor, x_grad: bool):
    x = x.detach().requires_grad_(x_grad)
    table = table.detach().requires_grad_(True)
    out = fn(x, table)
    inputs = [table, x] if x_grad else [table]
    return out, torch.autograd.grad(out, inputs, gout.to(out.dtype))


def check(fn: Encode, inp: dict, x_grad: bool) -> dict:
    """Relative errors of output and gradients against the reference with a float64 table."""
    ref64 = lambda x, t: reference.hash_encode(x, t, inp["levels"])
    out, g = grads(fn, inp["x"], inp["table"], inp["gout"], x_grad)
    rout, rg = grads(ref64, inp["x"], inp["table"].double(), inp["gout"].double(), x_grad)
    errs = {"out": rel_err(out, rout), "d_table": rel_err(g[0], rg[0])}
    if x_grad:
        errs["d_x"] = rel_err(g[1], rg[1])
    return errs


# tiny-cuda-nn launches on streams of its own: capturing it fails inside the library, which then
# terminates the process (measured on the H100: cudaEventRecord during capture), so no graph
NO_GRAPH = "tiny-cuda-nn"


def bench(fn: Encode, inp: dict, x_grad: bool, rep_ms: int, graph: bool = True) -> dict:
    """Median ms of the forward alone and of forward + backward."""
    from triton.testing import do_bench

    x = inp["x"].detach().requires_grad_(x_grad)
    table = inp["table"].detach().requires_grad_(True)
    wrt = [table, x] if x_grad else [table]

    def forward():
        with torch.no_grad():
            return fn(x, table)

    def step():
        return torch.autograd.grad(fn(x, table), wrt, inp["gout"])

    step()
    result = {"forward_ms": do_bench(forward, warmup=25, rep=rep_ms, return_mode="median"),
              "step_ms": do_bench(step, warmup=25, rep=rep_ms, return_mode="median")}
    def refresh() -> None:  # new inputs in the same tensors (whole rays moved; tables negated)
        with torch.no_grad():
            x.copy_(x.roll(RAY_SAMPLES * 7, 0))
            table.neg_()

    if graph:
        result.update(graph_times(forward, step, refresh, rep_ms))
    else:
        result.update(graph_forward_ms=None, graph_step_ms=None, graph_step_error="not captured (own streams)")
    return result


def graph_times(forward: Callable[[], object], step: Callable[[], object], refresh: Callable[[], None],
                rep_ms: int) -> dict:
    """The same calls captured in CUDA graphs and replayed: the GPU's time alone. Launched one by
    one, a step also waits for the host (Python, autograd, the launchers: ~0.6-0.7 ms per step
    on the lent machines, as long as the GPU work), so those timings move with the host's CPU.
    After capture the inputs change in place, and the replay must give what an eager call gives
    on the new inputs (a library that launches on another stream than the captured one would
    otherwise be timed replaying only its last copy); where it does not, or capture fails, the
    column stays empty and the reason is recorded."""
    from triton.testing import do_bench

    out: dict = {}
    for name, fn in (("graph_forward_ms", forward), ("graph_step_ms", step)):
        error = name.replace("_ms", "_error")
        try:
            graph, captured = capture(fn)
            refresh()
            expected = fn()
            for t in _tensors(captured):
                t.zero_()
            graph.replay()
            torch.cuda.synchronize()
            pairs = list(zip(_tensors(captured), _tensors(expected), strict=True))
            worst = max(rel_err(a, b) for a, b in pairs) if pairs else float("inf")
            if worst > 0.05:  # float16 sums in another order differ by ~1e-3; stale results by ~1
                out[name], out[error] = None, f"replay differs from eager (rel. {worst:.3g}): not captured"
            else:
                out[name] = do_bench(graph.replay, warmup=25, rep=rep_ms, return_mode="median")
            del graph
        except RuntimeError as exc:  # not capturable: leave the column empty, say why
            out[name], out[error] = None, repr(exc)[-300:]
    return out


def capture(fn: Callable[[], object]) -> tuple[torch.cuda.CUDAGraph, object]:
    """``fn`` run three times on a side stream (warm-up, as CUDA graph capture needs), then
    captured in a CUDA graph; returns the graph and what the captured call returned."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = fn()
    return graph, captured


def _tensors(result: object) -> list[torch.Tensor]:
    return [result] if isinstance(result, torch.Tensor) else [t for t in result if isinstance(t, torch.Tensor)]


def graph_rate(ms: dict, n: int) -> dict:
    return {"graph_samples_per_s": n / (ms["graph_step_ms"] * 1e-3) if ms.get("graph_step_ms") else None}


def copy_bandwidth() -> float:
    """Device-to-device copy of 1 GiB: bytes read + written per second."""
    from triton.testing import do_bench

    a = torch.empty(2**28, device="cuda")
    b = torch.empty_like(a)
    ms = do_bench(lambda: b.copy_(a), warmup=10, rep=100, return_mode="median")
    return 2 * a.numel() * 4 / (ms * 1e-3)


@triton.jit
def _gather_probe(words_ptr, out_ptr, rows_mask, BLOCK: tl.constexpr, REPS: tl.constexpr):
    """REPS random 8-byte loads per lane (multiplicative hash of the lane index): the forward's
    access pattern with nothing else."""
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], dtype=tl.int64)
    for r in tl.static_range(REPS):
        row = ((i * REPS + r).to(tl.uint32) * 2654435761) & rows_mask.to(tl.uint32)
        acc += tl.load(words_ptr + row.to(tl.int32))
    tl.store(out_ptr + tl.program_id(0), tl.sum(acc, axis=0))


@triton.jit
def _red_probe(grad_ptr, rows_mask, BLOCK: tl.constexpr, REPS: tl.constexpr, WIDTH: tl.constexpr):
    """REPS random vector reductions per lane into a two-float-per-row table: 8-byte (WIDTH 2)
    or 16-byte aligned row pairs (WIDTH 4)."""
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    on = i >= 0
    for r in tl.static_range(REPS):
        row = (((i * REPS + r).to(tl.uint32) * 2654435761) & rows_mask.to(tl.uint32)).to(tl.int32)
        a = (i + r).to(tl.float32) * 1e-9
        if WIDTH == 2:
            fast._red_add_v2(grad_ptr + row * 2, a, a, on)
        else:
            ptr = (grad_ptr + (row - (row & 1)) * 2).to(tl.int64)
            tl.inline_asm_elementwise(
                "red.relaxed.gpu.global.add.v4.f32 [$1], {$2, $3, $4, $5}; mov.b32 $0, 0;",
                "=r,l,f,f,f,f", [ptr, a, a, a, a], dtype=tl.int32, is_pure=False, pack=1)


def probe_times(mib: int, ops: int) -> dict:
    """Milliseconds for ``ops`` random 8-byte gathers and 8-byte reductions, and ops / 2 16-byte
    reductions, all within ``mib`` MiB."""
    from triton.testing import do_bench

    block, reps = 256, 8
    programs = ops // (block * reps)
    rows = mib * 2**20 // 8
    words = torch.randint(-2**40, 2**40, (rows,), device="cuda", dtype=torch.int64)
    grad = torch.zeros(rows, 2, device="cuda")
    sink = torch.empty(programs, device="cuda", dtype=torch.int64)
    gather = do_bench(lambda: _gather_probe[(programs,)](words, sink, rows - 1, BLOCK=block, REPS=reps),
                      warmup=10, rep=100, return_mode="median")
    red8 = do_bench(lambda: _red_probe[(programs,)](grad, rows - 1, BLOCK=block, REPS=reps, WIDTH=2),
                    warmup=10, rep=100, return_mode="median")
    red16 = do_bench(lambda: _red_probe[(programs // 2,)](grad, rows - 1, BLOCK=block, REPS=reps, WIDTH=4),
                     warmup=10, rep=100, return_mode="median")
    return {f"gather8_{mib}MiB_ms": gather, f"red8_{mib}MiB_ms": red8, f"red16_half_{mib}MiB_ms": red16}


def ceilings(ops: int) -> dict:
    """Random access alone, as many as the encoding makes, within 16 MiB (one level group of the
    backward's gradient: L2-resident) and 64 MiB (the whole float32 table)."""
    return {**probe_times(16, ops), **probe_times(64, ops)}


def kernel_report() -> list[dict]:
    """Registers, spills and the memory instructions of every compiled Triton kernel."""
    rows = []
    for name in ("_encode_fwd", "_encode_bwd", "_segment_sum"):
        jit = getattr(fast, name)
        try:
            caches = [c[0] if isinstance(c, tuple) else c for c in jit.device_caches.values()]
            kernels = [k for cache in caches for k in cache.values()]
        except (AttributeError, TypeError, KeyError) as exc:  # the cache layout differs between versions
            rows.append({"kernel": name, "error": repr(exc)})
            continue
        for k in kernels:
            lines = k.asm.get("ptx", "").splitlines()

            def count(s: str, lines: list[str] = lines) -> int:
                return sum(s in line for line in lines)

            consts = getattr(getattr(k, "src", None), "constants", {}) or {}
            named = {jit.arg_names[key[0]] if isinstance(key, tuple) else str(key): v for key, v in consts.items()
                     if isinstance(v, (int, bool))}
            rows.append({"kernel": name, "regs": getattr(k, "n_regs", None), "spills": getattr(k, "n_spills", None),
                         "num_warps": getattr(getattr(k, "metadata", None), "num_warps", None), "constants": named,
                         "ld.global.v2": count("ld.global.v2") + count("ld.global.nc.v2"),
                         "ld.global": count("ld.global"), "red": count("red."), "atom": count("atom."),
                         "st.global": count("st.global"),
                         "layouts": [ln for ln in k.asm.get("ttgir", "").splitlines() if ln.startswith("#blocked")]})
    return rows


def sweep(inp: dict, rep_ms: int) -> list[dict]:
    """Samples per program, levels per program and warps, forward and table-gradient backward;
    the backward also on transposed tiles ([levels, samples]: ``BACKWARD_LAUNCH["transposed"]``),
    with 1 to 8 warps."""
    from triton.testing import do_bench

    args = (inp["x"], inp["table"], inp["levels"])
    evict = ""  # evict_first on x, out and d out changed nothing (RESULTS.md, 2026-11-24)
    fast.FORWARD_LAUNCH["evict"] = fast.BACKWARD_LAUNCH["evict"] = evict
    rows = []
    before = fast.BACKWARD_LAUNCH["transposed"]
    settings = [(False, *s) for s in itertools.product((32, 64, 128), (1, 2, 4), (4, 8))]
    settings += [(True, *s) for s in itertools.product((32, 64, 128), (1, 2, 4), (1, 2, 4, 8))]
    try:
        for transposed, block, levels, warps in settings:
            launch = {"block": block, "levels_per_program": levels, "num_warps": warps}

            def forward(launch: dict = launch) -> None:
                fast.encode_forward(*args, **launch)

            def backward(launch: dict = launch) -> None:
                fast.encode_backward(*args, inp["gout"], x_grad=False, **launch)

            fast.BACKWARD_LAUNCH["transposed"] = transposed
            # the forward has one layout: timed with the first backward layout only
            fwd = None if transposed else do_bench(forward, warmup=10, rep=rep_ms, return_mode="median")
            bwd = do_bench(backward, warmup=10, rep=rep_ms, return_mode="median")
            rows.append({"block": block, "levels": levels, "num_warps": warps, "evict": evict,
                         "transposed": transposed, "backward_warps": fast.backward_warps(block, levels, warps),
                         "forward_ms": fwd, "backward_ms": bwd})
            print(f"sweep {'transposed ' if transposed else ''}block {block:4d} levels {levels} warps {warps}: "
                  f"forward {fwd or float('nan'):.4f} ms, backward {bwd:.4f} ms", flush=True)
    finally:
        fast.BACKWARD_LAUNCH["transposed"] = before
    return rows


def build_peer(src: Path, result: dict, save: Path | None) -> None:
    """Compile torch-ngp's grid encoder from its source (run in a thread beside the checks).

    A ``_gridencoder*.so`` already in ``src/prebuilt`` (one this script built on the same kind of
    machine, brought back with --save-peer) is loaded instead of compiling again."""
    t = time.time()
    try:
        prebuilt = sorted((src / "prebuilt").glob("_gridencoder*.so"))
        if prebuilt:
            spec = importlib.util.spec_from_file_location("_gridencoder", prebuilt[0])
            ext = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(ext)
            result["prebuilt"] = str(prebuilt[0])
        else:
            from torch.utils.cpp_extension import load

            os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")
            half = ["-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__", "-U__CUDA_NO_HALF2_OPERATORS__"]
            build = Path("/tmp/peer_gridencoder_build")
            build.mkdir(exist_ok=True)
            ext = load(name="_gridencoder", sources=[str(src / "src" / "gridencoder.cu"),
                                                     str(src / "src" / "bindings.cpp")],
                       extra_cflags=["-O3", "-std=c++17"], extra_cuda_cflags=["-O3", "-std=c++17", *half],
                       build_directory=str(build), verbose=False)
            result["library"] = ext.__file__
            if save:
                shutil.copy(ext.__file__, save / Path(ext.__file__).name)
        sys.modules["_gridencoder"] = ext
        sys.path.insert(0, str(src.parent))
        from gridencoder import grid

        result["module"] = grid
    except (RuntimeError, OSError, ImportError, subprocess.CalledProcessError) as exc:  # go on without it
        result["error"] = repr(exc)[-2000:]
    result["build_s"] = round(time.time() - t, 1)


def peer_encoder(grid, cfg: HashGridConfig) -> tuple[Encode, torch.Tensor]:
    """torch-ngp's encoder for the same shape of work, and its (rows, F) table."""
    enc = grid.GridEncoder(num_levels=cfg.levels, level_dim=cfg.features_per_level,
                           base_resolution=cfg.base_resolution, log2_hashmap_size=cfg.log2_table_size,
                           desired_resolution=cfg.finest_resolution).cuda()
    offsets, scale, base = enc.offsets, enc.per_level_scale, enc.base_resolution

    def encode(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return grid.grid_encode(x, table, offsets, scale, base, x.requires_grad, 0, False, 0)

    return encode, enc.embeddings.detach()


def tcnn_encoder(cfg: HashGridConfig, dtype: torch.dtype, layout: str) -> Encode:
    """tiny-cuda-nn's encoding of the same grid: ``layout`` "meshcast" takes HashGrid's (rows, F)
    table (what ``HashGrid(backend="tcnn")`` passes: a view of the same memory), "native" its flat
    parameters."""
    import tinycudann

    enc = tinycudann.Encoding(3, reference.tcnn_encoding_config(cfg), dtype=dtype)

    def encode(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return reference.tcnn_encode(enc, x, reference.to_tcnn_params(table) if layout == "meshcast" else table)

    return encode


def time_peer(name: str, fn: Encode, inp: dict, x_grad: bool, rep_ms: int, timings: list[dict]) -> None:
    """Time a peer's encoder (no check: its function or layout differs) and record the row."""
    try:
        ms = bench(fn, inp, x_grad, rep_ms, graph=NO_GRAPH not in name)
    except RuntimeError as exc:
        print(f"{name} failed", inp["table"].dtype, x_grad, repr(exc)[-500:], flush=True)
        return
    timings.append({"variant": name, "table": str(inp["table"].dtype).replace("torch.", ""),
                    "grads": "table+x" if x_grad else "table", **ms,
                    "samples_per_s": inp["x"].shape[0] / (ms["step_ms"] * 1e-3), **graph_rate(ms, inp["x"].shape[0])})
    print("time", json.dumps(timings[-1]), flush=True)


# variants that are the default encoding with one setting flipped for their check and timing
FLIPPED = {
    "triton runs, the other backward tile (BACKWARD_LAUNCH['transposed'] flipped)": "transposed",
    "triton runs, gradient zeroed by a memset (ZERO_IN_FORWARD flipped)": "ZERO_IN_FORWARD",
}


def flip(setting: str) -> None:
    """Flip a boolean setting of the kernels module: a BACKWARD_LAUNCH key or a module flag."""
    if setting in fast.BACKWARD_LAUNCH:
        fast.BACKWARD_LAUNCH[setting] = not fast.BACKWARD_LAUNCH[setting]
    else:
        setattr(fast, setting, not getattr(fast, setting))


def forward_rows(levels: reference.Levels, rows: bool) -> Encode:
    """The Triton encoding (default scatter) with the forward's samples on two tile rows each
    (True, the default) or on one (False, the layout before it): ``FORWARD_LAUNCH["pair_rows"]``
    for the call."""
    def encode(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        before = fast.FORWARD_LAUNCH["pair_rows"]
        fast.FORWARD_LAUNCH["pair_rows"] = rows
        try:
            return fast.hash_encode(x, table, levels, "runs")
        finally:
            fast.FORWARD_LAUNCH["pair_rows"] = before
    return encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2**18)
    parser.add_argument("--json", type=Path, required=True, help="where to write the results")
    parser.add_argument("--peer", type=Path, help="torch-ngp's gridencoder folder, built from source here")
    parser.add_argument("--save-peer", type=Path, help="copy the peer's compiled library here")
    parser.add_argument("--sweep", action="store_true", help="also sweep block size and warps")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile'd reference")
    parser.add_argument("--rep-ms", type=int, default=300)
    parser.add_argument("--peer-build-timeout", type=float, default=240.0,
                        help="seconds to wait for the torch-ngp build before leaving it out")
    parser.add_argument("--points", choices=["uniform", "rays"], default="uniform",
                        help="uniform random points, or runs of samples along rays as in training")
    parser.add_argument("--launch", action="append", default=[], metavar="KERNEL.KEY=JSON",
                        help="a launch setting before timing, e.g. walk.pdl=[1,2] or forward.pdl=true "
                             "(kernel: forward, backward or walk; lists become tuples)")
    args = parser.parse_args()
    for setting in args.launch:
        name, _, value = setting.partition("=")
        kernel, _, key = name.partition(".")
        launch = {"forward": fast.FORWARD_LAUNCH, "backward": fast.BACKWARD_LAUNCH, "walk": fast.WALK_LAUNCH}.get(kernel)
        if launch is None or not key or not value:
            parser.error(f"--launch {setting!r}: use forward|backward|walk.KEY=JSON")
        parsed = json.loads(value)
        launch[key] = tuple(parsed) if isinstance(parsed, list) else parsed
    global POINTS
    POINTS = args.points
    cfg = WORKLOAD
    n = args.samples
    peer: dict = {}
    thread = threading.Thread(target=build_peer, args=(args.peer, peer, args.save_peer), daemon=True) if args.peer else None
    if thread:
        thread.start()
    t0 = time.time()
    props = torch.cuda.get_device_properties(0)
    info = {"date": time.strftime("%Y-%m-%d"), "gpu": props.name, "sms": props.multi_processor_count,
            "torch": torch.__version__, "triton": __import__("triton").__version__, "samples": n, "points": POINTS,
            "config": cfg.model_dump(), "resolutions": cfg.resolutions(), "command": " ".join(sys.argv)}
    print(json.dumps(info), flush=True)
    compiled = torch.compile(reference.hash_encode)
    variants: dict[str, Callable[[dict], Encode]] = {
        "triton atomic pairs (red.v4+v2)": lambda i: lambda x, t: fast.hash_encode(x, t, i["levels"],
                                                                                "atomic"),
        "triton atomic (red.v2)": lambda i: lambda x, t: fast.hash_encode(x, t, i["levels"],
                                                                        "atomic_v2"),
        "triton atomic (tl.atomic_add)": lambda i: lambda x, t: fast.hash_encode(x, t, i["levels"],
                                                                               "atomic_scalar"),
        "triton sort+segment": lambda i: lambda x, t: fast.hash_encode(x, t, i["levels"], "sort"),
        "triton runs + pairs (in-block sums)": lambda i: lambda x, t: fast.hash_encode(x, t, i["levels"], "runs"),
        "triton walk (auto in CUDA graphs)": lambda i: lambda x, t: fast.hash_encode(x, t, i["levels"], "walk"),
        "triton runs, forward one tile row per sample": lambda i: forward_rows(i["levels"], False),
        **{name: (lambda i: lambda x, t: fast.hash_encode(x, t, i["levels"], "runs")) for name in FLIPPED},
        "torch eager": lambda i: lambda x, t: reference.hash_encode(x, t, i["levels"]),
    }
    if not args.no_compile:
        variants["torch.compile"] = lambda i: lambda x, t: compiled(x, t, i["levels"])
    has_tcnn = importlib.util.find_spec("tinycudann") is not None
    if has_tcnn:
        variants["tiny-cuda-nn (peer) via HashGrid layout"] = lambda i: tcnn_encoder(cfg, i["table"].dtype, "meshcast")
    sweep_rows = sweep(make_inputs(cfg, n, torch.float32, seed=7), 60) if args.sweep else []
    if sweep_rows:  # time the rest with the fastest launch settings found here
        for key, launch in (("forward_ms", fast.FORWARD_LAUNCH), ("backward_ms", fast.BACKWARD_LAUNCH)):
            best = min((r for r in sweep_rows if r[key] is not None), key=lambda r, key=key: r[key])
            launch.update(block=best["block"], levels=best["levels"], num_warps=best["num_warps"],
                          evict=best["evict"])
            if launch is fast.BACKWARD_LAUNCH:
                launch["transposed"] = best["transposed"]
    info["launch"] = {"forward": dict(fast.FORWARD_LAUNCH), "backward": dict(fast.BACKWARD_LAUNCH),
                      "walk": dict(fast.WALK_LAUNCH)}
    print("launch", json.dumps(info["launch"]), flush=True)
    checks, timings = [], []
    for dtype in (torch.float32, torch.float16):
        for x_grad in (False, True):
            for name, make in variants.items():
                if dtype == torch.float16 and (name == "torch eager" or
                                               (name.startswith("triton") and "pairs" not in name and "rows" not in name)):
                    continue
                if x_grad and name in ("triton sort+segment", "triton atomic (tl.atomic_add)"):
                    continue
                inp = make_inputs(cfg, n, dtype, seed=len(checks) + 1)
                t = time.time()
                if name in FLIPPED:
                    flip(FLIPPED[name])
                try:
                    errs = check(make(inp), inp, x_grad)
                    checks.append({"variant": name, "table": str(dtype), "x_grad": x_grad, **errs,
                                   "check_s": round(time.time() - t, 1)})
                    print("check", json.dumps(checks[-1]), flush=True)
                    inp = make_inputs(cfg, n, dtype, seed=1000 + len(checks))
                    ms = bench(make(inp), inp, x_grad, args.rep_ms, graph=NO_GRAPH not in name)
                except (CompilationError, RuntimeError) as exc:  # report it and time the others
                    print("FAILED", name, dtype, x_grad, repr(exc)[-3000:], flush=True)
                    continue
                finally:
                    settings = {"backward": dict(fast.BACKWARD_LAUNCH), "zero_in_forward": fast.ZERO_IN_FORWARD}
                    if name in FLIPPED:
                        flip(FLIPPED[name])
                timings.append({"variant": name, "table": str(dtype).replace("torch.", ""),
                                "grads": "table+x" if x_grad else "table", "settings": settings, **ms,
                                "samples_per_s": n / (ms["step_ms"] * 1e-3), **graph_rate(ms, n)})
                print("time", json.dumps(timings[-1]), flush=True)
    if has_tcnn:  # tiny-cuda-nn on its own flat parameters: no layout conversion in the timing
        for dtype in (torch.float32, torch.float16):
            for x_grad in (False, True):
                inp = make_inputs(cfg, n, dtype, seed=2000 + len(timings))
                inp["table"] = reference.to_tcnn_params(inp["table"]).contiguous()
                time_peer("tiny-cuda-nn (peer)", tcnn_encoder(cfg, dtype, "native"), inp, x_grad, args.rep_ms, timings)
    if thread:
        thread.join(timeout=args.peer_build_timeout)  # a stuck build must not cost the results
        if thread.is_alive():
            peer["error"] = f"build still running after {args.peer_build_timeout} s; left out"
        print("peer build", json.dumps({k: v for k, v in peer.items() if k != "module"}), flush=True)
    if "module" in peer:
        for dtype in (torch.float32, torch.float16):
            for x_grad in (False, True):
                fn, table = peer_encoder(peer["module"], cfg)
                gen = torch.Generator(device="cuda").manual_seed(99)
                inp = {"x": make_points(n, gen),
                       "table": (torch.rand(table.shape, device="cuda", generator=gen) * 2 - 1).to(dtype),
                       "gout": torch.randn(n, cfg.output_dim, device="cuda", generator=gen).to(dtype)}
                time_peer("torch-ngp CUDA (peer)", fn, inp, x_grad, args.rep_ms, timings)
    bandwidth = copy_bandwidth()
    ceiling = ceilings(n * cfg.levels * 8)
    print("ceilings", json.dumps(ceiling), flush=True)
    kernels = kernel_report()
    for k in kernels:
        if k.get("constants", {}).get("BLOCK") in (fast.FORWARD_LAUNCH["block"], fast.BACKWARD_LAUNCH["block"]):
            print("kernel", json.dumps(k), flush=True)
    result = {**info, "copy_bytes_per_s": bandwidth, "ceilings_ms": ceiling, "checks": checks, "timings": timings, "sweep": sweep_rows,
              "kernels": kernels, "peer_build": {k: v for k, v in peer.items() if k != "module"},
              "wall_s": round(time.time() - t0, 1)}
    tmp = args.json.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(args.json)
    print_table(result)


def print_table(result: dict) -> None:
    base = {(r["table"], r["grads"]): r["step_ms"] for r in result["timings"] if r["variant"] == "torch.compile"}
    print(f"\n{result['gpu']}, {result['samples']} samples, copy {result['copy_bytes_per_s'] / 1e12:.2f} TB/s")
    print("random access alone, as many as the encoding makes:",
          ", ".join(f"{k} {v:.4f}" for k, v in result["ceilings_ms"].items()))
    graph_base = {(r["table"], r["grads"]): r.get("graph_step_ms") for r in result["timings"]
                  if r["variant"] == "torch.compile"}
    print("eager: launched one by one (host included); graph: replayed CUDA graph (GPU alone)")
    print(f"{'variant':36s} {'table':8s} {'grads':8s} {'fwd ms':>8s} {'fwd+bwd ms':>10s} {'samples/s':>10s} "
          f"{'vs compile':>10s} | {'graph fwd':>9s} {'graph f+b':>9s} {'samples/s':>10s} {'vs compile':>10s}")
    for r in result["timings"]:
        ref, gref, g = base.get((r["table"], r["grads"])), graph_base.get((r["table"], r["grads"])), r.get("graph_step_ms")
        speedup = f"{ref / r['step_ms']:.2f}x" if ref else "-"
        gspeed = f"{gref / g:.2f}x" if gref and g else "-"
        gf = f"{r['graph_forward_ms']:9.4f}" if r.get("graph_forward_ms") else f"{'-':>9s}"
        gs = f"{g:9.4f} {result['samples'] / (g * 1e-3):10.3e}" if g else f"{'-':>9s} {'-':>10s}"
        print(f"{r['variant']:36s} {r['table']:8s} {r['grads']:8s} {r['forward_ms']:8.4f} {r['step_ms']:10.4f} "
              f"{r['samples_per_s']:10.3e} {speedup:>10s} | {gf} {gs} {gspeed:>10s}")
    worst = max((c.get("out", 0), c.get("d_table", 0), c.get("d_x", 0)) for c in result["checks"]
                if c["variant"].startswith("triton"))
    print(f"largest Triton relative error (out, d_table, d_x): {worst}")


if __name__ == "__main__":
    main()
