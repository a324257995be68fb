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
from meshcast.fields.config import HashGridConfig


def backward_launch(inp: dict, scatter: str):
    """A function running the table-gradient kernel into a given float32 buffer."""
    x, table, gout, levels = inp["x"], inp["table"], inp["gout"], inp["levels"]
    ints, scale, meta = fast._launch_args(x, table, levels)
    block = fast.BACKWARD_LAUNCH["block"]
    meta["LG"] = min(fast._pow2(table.shape[0]), fast.BACKWARD_LAUNCH["levels"])
    grid = fast._grid(x.shape[0], meta, block)
    red = fast._reduction_kind(scatter, x.device, table.shape[2])

    def run(buf: torch.Tensor) -> None:
        buf.zero_()
        fast._encode_bwd[grid](
            x, fast._words(table, meta), ints, scale, fast._words(gout, meta), buf, table, table, table,
            x.shape[0], table.shape[1], BLOCK=block, TABLE_GRAD=True, SORT=False, X_GRAD=False, RED=red,
            RUNS=scatter == "runs", num_warps=fast.BACKWARD_LAUNCH["num_warps"],
            EVICT=fast.BACKWARD_LAUNCH["evict"], enable_fp_fusion=False, **meta)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--points", choices=["uniform", "rays"], nargs="+", default=["uniform", "rays"])
    parser.add_argument("--buffers", type=int, default=6)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rep-ms", type=int, default=40)
    args = parser.parse_args()
    cfg = HashGridConfig(levels=16, features_per_level=2, log2_table_size=19, base_resolution=16, finest_resolution=2048)
    t0 = time.time()
    rows = []
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
                assert torch.allclose(buf, expected, rtol=1e-4, atol=1e-5), scatter
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
    torch.cuda.synchronize()
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "command": " ".join(sys.argv),
              "date": time.strftime("%Y-%m-%d"), "rows": rows, "wall_s": round(time.time() - t0, 1)}
    args.json.write_text(json.dumps(result, indent=1))
    print(f"\n{'points':8} {'scatter':10} " + " ".join(f"buf{b:<5}" for b in range(args.buffers)))
    for points in args.points:
        for rep in range(args.reps):
            for scatter in ("atomic", "atomic_v2", "runs"):
                cells = [r["median_ms"] for r in rows if (r["points"], r["rep"], r["scatter"]) == (points, rep, scatter)]
                print(f"{points:8} {scatter:10} " + " ".join(f"{c:8.3f}" for c in cells))


if __name__ == "__main__":
    main()
