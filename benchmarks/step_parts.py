"""The encoding step on issue 8's workload cut into its parts, each captured in a CUDA graph and
replayed (median ms, the GPU's time alone): the forward without and with a table that needs a
gradient, the backward alone (the walk, with and without its memsets), and forward + backward.
Repeated ``--rounds`` times in alternation, so that two trees measured one after the other on the
same machine (``--label``) compare parts, not the machine's drift.

  python benchmarks/step_parts.py --json $OUT/parts.json [--points rays] [--rounds 3] [--label new]

The table is made in whichever layout the tree's ``hashgrid.Levels`` describes: one (rows, F)
table (level offsets; meshcast 0.4) or (L, T, F) tables (meshcast 0.3), so a checkout of the
earlier tree on PYTHONPATH times the same parts for an A/B of the layout change.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backward_parts as parts  # graph_ms
import encoding_bench as bench  # the same workload and points

from meshcast.fields import hashgrid as reference
from meshcast.fields import hashgrid_triton as fast


def make_table(cfg, gen: torch.Generator, align: int) -> tuple[torch.Tensor, reference.Levels]:
    """A random float32 table of this tree's layout for ``cfg`` and its levels; ``align`` > 1 (one
    table layout only): each level's first row rounded up to a multiple of ``align`` rows (2^19:
    the addresses of the (L, T, F) layout, read by this tree's code)."""
    levels = reference.Levels.of(cfg, "cuda")
    if "offset" not in reference.Levels._fields:
        shape: tuple[int, ...] = (cfg.levels, 2**cfg.log2_table_size, cfg.features_per_level)
    else:
        offsets, end = [], 0
        for size in cfg.level_sizes():
            offsets.append(-(-end // align) * align)
            end = offsets[-1] + size
        levels = reference.Levels(*levels[:4], torch.tensor(offsets, device="cuda"))
        shape = (end, cfg.features_per_level)
    return torch.rand(shape, device="cuda", generator=gen) * 2 - 1, levels


def parser_with_inputs(doc: str, rounds: int) -> argparse.ArgumentParser:
    """The options every step benchmark takes: --json, --points, --rounds, --rep-ms."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--points", choices=["uniform", "rays"], default="rays")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--rep-ms", type=int, default=100)
    return parser


def inputs(points: str, align: int = 1):
    """Issue 8's workload from one seeded generator: 2^18 points (``points``), a table of this
    tree's layout with its levels, a leaf copy of the table, and an output gradient."""
    cfg = bench.WORKLOAD
    bench.POINTS = points
    gen = torch.Generator(device="cuda").manual_seed(5)
    n = 2**18
    x = bench.make_points(n, gen)
    table, levels = make_table(cfg, gen, align)
    gout = torch.randn(n, cfg.output_dim, device="cuda", generator=gen)
    return x, table, levels, table.clone().requires_grad_(True), gout


def main() -> None:
    parser = parser_with_inputs(__doc__, rounds=3)
    parser.add_argument("--label", default="")
    parser.add_argument("--align", type=int, default=1, help="level first rows rounded up to this many rows")
    args = parser.parse_args()
    x, table, levels, leaf, gout = inputs(args.points, args.align)
    zeroed = torch.zeros(table.shape, device="cuda")
    pieces = {
        "forward": lambda: fast.encode_forward(x, table, levels),
        "forward_graph_for_grad": lambda: fast.hash_encode(x, leaf, levels, "walk"),
        "backward_walk": lambda: fast.encode_backward(x, table, levels, gout, x_grad=False, scatter="walk"),
        "backward_walk_no_zeroing": lambda: fast.encode_backward(x, table, levels, gout, x_grad=False,
                                                                 scatter="walk", zeroed=zeroed),
        "memset_gradient": lambda: torch.zeros(table.shape, device="cuda"),
        "step_walk": lambda: torch.autograd.grad(fast.hash_encode(x, leaf, levels, "walk"), [leaf], gout),
        "step_runs": lambda: torch.autograd.grad(fast.hash_encode(x, leaf, levels, "runs"), [leaf], gout),
    }
    for fn in pieces.values():  # compile and warm up outside the graphs
        fn()
    torch.cuda.synchronize()
    times: dict[str, list[float]] = {name: [] for name in pieces}
    for _ in range(args.rounds):
        for name, fn in pieces.items():
            times[name].append(parts.graph_ms(fn, args.rep_ms))
    props = torch.cuda.get_device_properties(0)
    result = {"date": time.strftime("%Y-%m-%d"), "gpu": props.name, "torch": torch.__version__,
              "triton": __import__("triton").__version__, "command": " ".join(sys.argv), "label": args.label, "align": args.align,
              "points": args.points, "table_shape": list(table.shape), "walk_launch": dict(fast.WALK_LAUNCH),
              "ms": times, "median_ms": {k: statistics.median(v) for k, v in times.items()}}
    args.json.write_text(json.dumps(result, indent=1, default=str))
    print(f"{args.label or 'tree'}  table {tuple(table.shape)}  {args.points}")
    for name, values in times.items():
        print(f"  {name:28s} {statistics.median(values):.4f} ms  ({', '.join(f'{v:.4f}' for v in values)})")


if __name__ == "__main__":
    main()
