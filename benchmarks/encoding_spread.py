"""Why does the Triton encoding backward's time move between runs? Times the backward kernel alone
(zero the float32 gradient, then ``_encode_bwd``) on fixed inputs, for several gradient buffers
at different addresses and several scatter modes, repeated and interleaved, so that a spread that
follows the buffer (its physical placement in L2/HBM) is told apart from one that follows the run
or the kernel.

  python benchmarks/encoding_spread.py --json $OUT/spread.json [--points rays] [--buffers 6] [--reps 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from triton.testing import do_bench

sys.path.insert(0, str(Path(__file__).resolve().parent))
import encoding_bench as bench  # the same workload and inputs

from meshcast.fields import hashgrid_triton as fast


def backward_launch(inp: dict, scatter: str):
    """A function running the table-gradient kernel into a given float32 buffer."""
    x, table, gout, levels = inp["x"], inp["table"], inp["gout"], inp["levels"]
    ints, scale, layout, meta = fast._launch_args(x, table, levels)
    block = fast.BACKWARD_LAUNCH["block"]
    meta["LG"] = min(fast._pow2(meta["L"]), fast.BACKWARD_LAUNCH["levels"])
    grid = fast._grid(x.shape[0], meta, block)
    red = fast._reduction_kind(scatter, x.device, meta["F"])

    def run(buf: torch.Tensor) -> None:
        buf.zero_()
        fast._encode_bwd[grid](
            x, fast._words(table, meta), ints, scale, fast._words(gout, meta), buf, table, table, table,
            x.shape[0], layout.hash_rows, BLOCK=block, TABLE_GRAD=True, SORT=False, X_GRAD=False, RED=red,
            RUNS=scatter == "runs", num_warps=fast.backward_warps(block, meta["LG"], fast.BACKWARD_LAUNCH["num_warps"]),
            EVICT=fast.BACKWARD_LAUNCH["evict"], TR=bool(fast.BACKWARD_LAUNCH["transposed"]),
            enable_fp_fusion=False, **meta)
    return run


def host_and_step(inp: dict, points: str) -> list[dict]:
    """The whole forward + backward as ``encoding_bench`` times it (autograd, allocations), and
    the host's time to submit one such step: when the host needs longer than the GPU, the
    measured step is the host's time, which moves with the lent machine's CPU."""
    out = []
    x, gout, levels = inp["x"], inp["gout"], inp["levels"]
    table = inp["table"].detach().requires_grad_(True)
    for scatter in ("atomic", "runs"):
        def step(scatter=scatter) -> None:
            torch.autograd.grad(fast.hash_encode(x, table, levels, scatter), [table], gout)
        step()
        ms = do_bench(step, warmup=25, rep=200, return_mode="median")
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(200):
            step()
        host_ms = (time.perf_counter() - t) / 200 * 1e3
        torch.cuda.synchronize()
        gpu_ms = (time.perf_counter() - t) / 200 * 1e3
        out.append({"points": points, "scatter": scatter, "step_ms_do_bench": ms,
                    "host_submit_ms": host_ms, "back_to_back_ms": gpu_ms})
        print(json.dumps(out[-1]), flush=True)
    return out


def host_costs(inp: dict) -> dict:
    """Host microseconds per call (submission only, no synchronisation) of each piece of a step."""
    x, table, gout, levels = inp["x"], inp["table"], inp["gout"], inp["levels"]
    ints, scale, layout, meta = fast._launch_args(x, table, levels)
    meta["LG"] = min(fast._pow2(meta["L"]), fast.FORWARD_LAUNCH["levels"])
    out = torch.empty(x.shape[0], meta["L"] * meta["F"], device="cuda")
    grid = fast._grid(x.shape[0], meta, fast.FORWARD_LAUNCH["block"])
    words, out_words = fast._words(table, meta), fast._words(out, meta)
    leaf = table.detach().requires_grad_(True)
    pieces = {
        "launch_args": lambda: fast._launch_args(x, table, levels),
        "zeros_table": lambda: torch.zeros(table.shape, device="cuda"),
        "triton_launch_fwd": lambda: fast._encode_fwd[grid](
            x, words, ints, scale, out_words, x.shape[0], layout.hash_rows, BLOCK=fast.FORWARD_LAUNCH["block"],
            num_warps=fast.FORWARD_LAUNCH["num_warps"], EVICT="", enable_fp_fusion=False, **meta),
        "encode_forward": lambda: fast.encode_forward(x, table, levels),
        "encode_backward": lambda: fast.encode_backward(x, table, levels, gout, x_grad=False),
        "autograd_step": lambda: torch.autograd.grad(fast.hash_encode(x, leaf, levels), [leaf], gout),
    }
    result = {}
    for name, fn in pieces.items():
        fn()
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(100):
            fn()
        result[name] = round((time.perf_counter() - t) / 100 * 1e6, 1)
        torch.cuda.synchronize()
    print("host us per call", json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--points", choices=["uniform", "rays"], nargs="+", default=["uniform", "rays"])
    parser.add_argument("--buffers", type=int, default=6)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rep-ms", type=int, default=40)
    args = parser.parse_args()
    cfg = bench.WORKLOAD
    t0 = time.time()
    rows: list[dict] = []
    host: list[dict] = []
    for points in args.points:
        bench.POINTS = points
        inp = bench.make_inputs(cfg, 2**18, torch.float32, seed=1)
        reference = torch.zeros(inp["table"].shape, device="cuda")
        buffers, spacers = [], []
        for i in range(args.buffers):  # spacers of odd sizes move the next buffer's address
            spacers.append(torch.empty((i * 37 + 5) * 2**20, dtype=torch.uint8, device="cuda"))
            buffers.append(torch.zeros(inp["table"].shape, device="cuda"))
        for scatter in ("atomic", "atomic_v2", "runs"):
            run = backward_launch(inp, scatter)
            run(reference)
            expected = reference.clone()
            for buf in buffers:  # every buffer gets the same sums, up to float32 reordering
                run(buf)
                err = ((buf - expected).norm() / expected.norm()).item()
                assert err < 1e-5, (scatter, err)
        for rep in range(args.reps):
            for scatter in ("atomic", "atomic_v2", "runs"):
                run = backward_launch(inp, scatter)
                for b, buf in enumerate(buffers):
                    ms = do_bench(lambda buf=buf, run=run: run(buf), warmup=5, rep=args.rep_ms, return_mode="all")
                    rows.append({"points": points, "rep": rep, "scatter": scatter, "buffer": b,
                                 "address_mib": buf.data_ptr() / 2**20, "median_ms": statistics.median(ms),
                                 "min_ms": min(ms), "max_ms": max(ms), "n": len(ms)})
                    print(json.dumps(rows[-1]), flush=True)
        del buffers, spacers
        rows.extend(host_and_step(inp, points))
        host.append(host_costs(inp))
    torch.cuda.synchronize()
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "command": " ".join(sys.argv),
              "date": time.strftime("%Y-%m-%d"), "rows": rows, "host_us": host, "wall_s": round(time.time() - t0, 1)}
    args.json.write_text(json.dumps(result, indent=1))
    print(f"\n{'points':8} {'scatter':10} " + " ".join(f"buf{b:<5}" for b in range(args.buffers)))
    for points in args.points:
        for rep in range(args.reps):
            for scatter in ("atomic", "atomic_v2", "runs"):
                cells = [r["median_ms"] for r in rows
                         if (r["points"], r.get("rep"), r["scatter"]) == (points, rep, scatter)]
                print(f"{points:8} {scatter:10} " + " ".join(f"{c:8.3f}" for c in cells))


if __name__ == "__main__":
    main()
