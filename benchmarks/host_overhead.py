"""Host time of one hash-encoding step, launched one by one: where a training loop that waits for
the host (meshcast's NeRF and NeuS steps do) spends it. A batch of 1024 points keeps the GPU
idle, so each timing is the host's alone: Python, autograd, PyTorch's allocator and launches,
Triton's launcher. Also the cProfile functions of the default step.

  python benchmarks/host_overhead.py --json $OUT/host.json
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import encoding_bench as bench  # the same workload

from meshcast.fields import hashgrid as reference
from meshcast.fields import hashgrid_triton as fast


def host_us(fn: Callable[[], object], calls: int = 300) -> float:
    """Microseconds per call, the GPU idle: calls queued without waiting, then one sync."""
    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--points", type=int, default=1024)
    args = parser.parse_args()
    cfg = bench.WORKLOAD
    gen = torch.Generator(device="cuda").manual_seed(3)
    levels = reference.Levels.of(cfg, "cuda")
    table = torch.rand(sum(cfg.level_sizes()), 2, device="cuda", generator=gen)
    leaf = table.clone().requires_grad_(True)
    x = torch.rand(args.points, 3, device="cuda", generator=gen)
    xleaf = x.clone().requires_grad_(True)
    gout = torch.randn(args.points, cfg.output_dim, device="cuda", generator=gen)
    out = torch.empty(args.points, cfg.output_dim, device="cuda")
    ints, scale, layout, meta = fast._launch_args(x, table, levels)
    meta["LG"] = 4
    rows: dict = {}
    rows["torch_empty_us"] = host_us(lambda: torch.empty(64, device="cuda"))
    rows["torch_zeros_table_us"] = host_us(lambda: torch.zeros(table.shape, device="cuda"))
    rows["bare_forward_launch_us"] = host_us(lambda: fast._encode_fwd[fast._grid(args.points, meta, 32)](
        x, fast._words(table, meta), ints, scale, fast._words(out, meta), args.points, layout.hash_rows, BLOCK=32,
        num_warps=4, EVICT="", PAIR_ROWS=True, enable_fp_fusion=False, **meta))
    rows["encode_forward_us"] = host_us(lambda: fast.encode_forward(x, table, levels))
    for scatter in ("runs", "walk"):
        rows[f"encode_backward_{scatter}_us"] = host_us(
            lambda scatter=scatter: fast.encode_backward(x, table, levels, gout, x_grad=False, scatter=scatter))
        rows[f"step_{scatter}_us"] = host_us(lambda scatter=scatter: torch.autograd.grad(
            fast.hash_encode(x, leaf, levels, scatter), [leaf], gout))
        rows[f"step_table_x_{scatter}_us"] = host_us(lambda scatter=scatter: torch.autograd.grad(
            fast.hash_encode(xleaf, leaf, levels, scatter), [leaf, xleaf], gout))
    rows["step_reference_eager_us"] = host_us(lambda: torch.autograd.grad(
        reference.hash_encode(x, leaf, levels), [leaf], gout), calls=50)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(200):
        torch.autograd.grad(fast.hash_encode(x, leaf, levels), [leaf], gout)
    torch.cuda.synchronize()
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(25)
    props = torch.cuda.get_device_properties(0)
    args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "gpu": props.name, "torch": torch.__version__,
                                     "triton": __import__("triton").__version__, "command": " ".join(sys.argv),
                                     "points": args.points, "host_us": rows, "profile_default_step": text.getvalue()},
                                    indent=1))  # before printing: a pipe closed early must not lose it
    for name, value in rows.items():
        print(f"{name:32s} {value:9.1f} us", flush=True)
    print(text.getvalue()[:6000])


if __name__ == "__main__":
    main()
