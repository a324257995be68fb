"""Where the Triton encoding backward's time goes: each group of four levels timed alone (its own
tables and output gradient), with and without the in-block runs, on both tile layouts, and as a
walk, beside the reductions each issues (counted from the points, the hash and the block or
chunk ends) and the memset of its gradient; the whole step with the walk's launch variants.
Also checks that a launch with more threads than tile elements adds every gradient once
(``hashgrid_triton.backward_warps``).

  python benchmarks/backward_parts.py --json $OUT/parts.json [--points rays uniform]

Every time is a CUDA graph replayed by ``triton.testing.do_bench`` (median): the GPU's time alone.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from triton.testing import do_bench

sys.path.insert(0, str(Path(__file__).resolve().parent))
import encoding_bench as bench  # the same workload and inputs

from meshcast.fields import hashgrid as reference
from meshcast.fields import hashgrid_triton as fast
from meshcast.fields.config import HashGridConfig

GROUP = 4  # levels per group: the backward's default levels per program


@contextlib.contextmanager
def settings(launch: dict, **changes):
    """``launch`` (a kernels' settings dict) with ``changes`` for the block, restored after."""
    before = dict(launch)
    launch.update(changes)
    try:
        yield
    finally:
        launch.update(before)


def graph_ms(fn: Callable[[], object], rep_ms: int) -> float:
    """Median ms of ``fn`` captured once in a CUDA graph and replayed."""
    graph, _ = bench.capture(fn)
    ms = do_bench(graph.replay, warmup=10, rep=rep_ms, return_mode="median")
    del graph
    return ms


def reductions(x: torch.Tensor, levels: reference.Levels, block: int, chunk: int) -> list[dict]:
    """Per level: samples that end a run (the next sample of the block lies in another cell) and
    the vector reductions they issue (one per x-neighbour pair of rows that share an aligned
    16-byte pair, else two), as ``_encode_bwd`` with RUNS and RED 2 makes them; and those of
    ``scatter="walk"`` (a corner is added where the next sample of the chunk does not share it)."""
    n = x.shape[0]
    out = []
    for lv in range(levels.scale.shape[0]):
        one = reference.Levels(*(t[lv:lv + 1] for t in levels))
        cell = torch.floor(x * one.scale[0] + 0.5).long()
        last = torch.ones(n, dtype=torch.bool, device=x.device)
        last[:-1] = ~(cell[1:] == cell[:-1]).all(1)
        last[block - 1::block] = True
        step = torch.full_like(cell, 2)  # how far the next sample of the chunk moved; 2: none
        step[:-1] = cell[1:] - cell[:-1]
        step[chunk - 1::chunk] = 2
        count = walk = 0
        for cy in (0, 1):
            for cz in (0, 1):
                offset = torch.tensor([[0, cy, cz], [1, cy, cz]], device=x.device)
                keys = reference.corner_indices((cell[:, None, :] + offset)[:, None], one)[:, 0]
                merged = (keys[:, 0] >> 1) == (keys[:, 1] >> 1)
                count += int(torch.where(merged, 1, 2)[last].sum())
                # a corner stays one of the next cell's where offset - step is 0 or 1 on every axis
                added = [~(((offset[k] - step) >= 0) & ((offset[k] - step) <= 1)).all(1) for k in (0, 1)]
                walk += int((torch.where(merged, 1, 2) * (added[0] & added[1])).sum()
                            + (added[0] ^ added[1]).sum())
        out.append({"level": lv, "resolution": int(one.resolution[0]), "hashed": bool(one.hashed[0]),
                    "run_ends_per_sample": float(last.float().mean()), "reductions_per_sample": count / n,
                    "walk_reductions_per_sample": walk / n})
    return out


def replication_check(inp: dict) -> list[dict]:
    """The kernel launched directly with more threads than tile elements, against the default
    launch: the ratio of the table gradients' norms (1: every gradient added once)."""
    x, table, gout, levels = inp["x"], inp["table"], inp["gout"], inp["levels"]
    _, expected = fast.encode_backward(x, table, levels, gout, x_grad=False)
    rows = []
    for block, group, warps in ((32, 4, 4), (32, 4, 8), (32, 2, 4), (16, 4, 4)):
        ints, scale, layout, meta = fast._launch_args(x, table, levels)
        meta["LG"] = group
        buf = torch.zeros(table.shape, device="cuda")
        fast._encode_bwd[fast._grid(x.shape[0], meta, block)](
            x, fast._words(table, meta), ints, scale, fast._words(gout, meta), buf, table, table, table,
            x.shape[0], layout.hash_rows, BLOCK=block, TABLE_GRAD=True, SORT=False, X_GRAD=False,
            RED=fast._reduction_kind("runs", x.device, 2), RUNS=True, num_warps=warps, EVICT="",
            TR=bool(fast.BACKWARD_LAUNCH["transposed"]), enable_fp_fusion=False, **meta)
        _, public = fast.encode_backward(x, table, levels, gout, x_grad=False, block=block,
                                         levels_per_program=group, num_warps=warps)
        rows.append({"block": block, "levels": group, "num_warps": warps,
                     "direct_launch_norm_ratio": float(buf.norm() / expected.norm()),
                     "encode_backward_warps": fast.backward_warps(block, group, warps),
                     "encode_backward_rel_err": float((public - expected).norm() / expected.norm())})
        print("replication", json.dumps(rows[-1]), flush=True)
    return rows


def measure(points: str, cfg: HashGridConfig, rep_ms: int, check: bool, sweep: bool = False,
            plans: bool = False, parts: bool = True) -> dict:
    """The whole backward, then each level group alone, on one kind of points."""
    bench.POINTS = points
    inp = bench.make_inputs(cfg, 2**18, torch.float32, seed=1)
    x, table, gout, levels = inp["x"], inp["table"], inp["gout"], inp["levels"]
    leaf = table.detach().requires_grad_(True)
    part: dict = {"replication": replication_check(inp) if check else [],
                  "levels": reductions(x, levels, fast.BACKWARD_LAUNCH["block"], fast.WALK_LAUNCH["chunk"]),
                  "groups": []}
    each = {"launches": None, "chunk_by_launch": None}  # split: one launch per level group
    walk_variants = {  # WALK_LAUNCH settings, the last the default (the RESULTS.md table's rows)
        "walk_one_launch": {**each, "split": False, "zero_per_group": False, "zero_next": False},
        "walk_split": {**each, "split": True, "zero_per_group": False, "zero_next": False},
        "walk_split_memset_per_group": {**each, "split": True, "zero_per_group": True, "zero_next": False},
        "walk_split_zero_next": {**each, "split": True, "zero_per_group": True, "zero_next": True},
        "walk_coarse_together": {"launches": ((0, 1), (2,), (3,)), "chunk_by_launch": (32, 16, 16),
                                 "split": True, "zero_per_group": True, "zero_next": False},
    }
    xleaf = x.detach().requires_grad_(True)

    def step(scatter):  # forward + backward with the table gradient
        return torch.autograd.grad(fast.hash_encode(x, leaf, levels, scatter), [leaf], gout)

    def step_x(scatter):  # ... and the x gradient
        return torch.autograd.grad(fast.hash_encode(xleaf, leaf, levels, scatter), [leaf, xleaf], gout)

    if not parts:
        part["whole"] = {}
        part["walk_plans"] = walk_plans(inp, rep_ms, plans)
        return part
    part["whole"] = {
        "memset_ms": graph_ms(lambda: torch.zeros(table.shape, device="cuda"), rep_ms),
        "forward_ms": graph_ms(lambda: fast.encode_forward(x, table, levels), rep_ms),
        "forward_zeroing_gradient_ms": graph_ms(lambda: fast.encode_forward(
            x, table, levels, zero=torch.empty(table.shape, device="cuda")), rep_ms),
        "step_default_ms": graph_ms(lambda: step(None), rep_ms),  # "auto": the walk inside a graph
        "step_runs_ms": graph_ms(lambda: step("runs"), rep_ms),
        "backward_runs_ms": graph_ms(lambda: fast.encode_backward(x, table, levels, gout, x_grad=False,
                                                                  scatter="runs"), rep_ms),
        "step_table_x_runs_ms": graph_ms(lambda: step_x("runs"), rep_ms),
        "step_table_x_default_ms": graph_ms(lambda: step_x(None), rep_ms),
    }
    for name, changes in walk_variants.items():
        with settings(fast.WALK_LAUNCH, **changes):
            part["whole"][f"backward_{name}_ms"] = graph_ms(lambda: fast.encode_backward(
                x, table, levels, gout, x_grad=False, scatter="walk"), rep_ms)
            part["whole"][f"step_{name}_ms"] = graph_ms(lambda: step("walk"), rep_ms)
    fast.ZERO_IN_FORWARD = False  # a memset before the backward instead
    part["whole"]["step_runs_memset_ms"] = graph_ms(lambda: step("runs"), rep_ms)
    fast.ZERO_IN_FORWARD = True
    print(points, "whole", json.dumps(part["whole"]), flush=True)
    before = fast.BACKWARD_LAUNCH["transposed"]
    for g in range(cfg.levels // GROUP):
        # the group's levels as a grid of their own: their rows of the table, first rows from 0
        sub = reference.Levels.packed(*(t[g * GROUP:(g + 1) * GROUP] for t in levels[:4]))
        first = int(levels.offset[g * GROUP])
        tab = table[first:first + int(sub.size.sum())].contiguous()
        go = gout[:, g * GROUP * 2:(g + 1) * GROUP * 2].contiguous()
        per_level = part["levels"][g * GROUP:(g + 1) * GROUP]
        row: dict = {"group": g, "levels": [r["level"] for r in per_level],
                     "reductions": sum(r["reductions_per_sample"] for r in per_level) * x.shape[0],
                     "walk_reductions": sum(r["walk_reductions_per_sample"] for r in per_level) * x.shape[0]}
        row["memset_ms"] = graph_ms(lambda tab=tab: torch.zeros(tab.shape, device="cuda"), rep_ms)
        row["forward_ms"] = graph_ms(lambda tab=tab, sub=sub: fast.encode_forward(x, tab, sub), rep_ms)
        for transposed in (True, False):
            fast.BACKWARD_LAUNCH["transposed"] = transposed
            for scatter in ("runs", "atomic"):
                row[f"backward_{scatter}_{'transposed' if transposed else 'rows'}_ms"] = graph_ms(
                    lambda tab=tab, sub=sub, go=go, scatter=scatter: fast.encode_backward(
                        x, tab, sub, go, x_grad=False, scatter=scatter), rep_ms)
        fast.BACKWARD_LAUNCH["transposed"] = before
        with settings(fast.WALK_LAUNCH, launches=None, chunk_by_launch=None):  # chunk 16, as it ran before
            row["backward_walk_ms"] = graph_ms(lambda tab=tab, sub=sub, go=go: fast.encode_backward(
                x, tab, sub, go, x_grad=False, scatter="walk"), rep_ms)
        part["groups"].append(row)
        print(points, "group", json.dumps(row), flush=True)
    if sweep:
        part["walk_sweep"] = walk_sweep(inp, rep_ms)
    if plans:
        part["walk_plans"] = walk_plans(inp, rep_ms, plans)
    return part


# level groups launched together (WALK_LAUNCH["launches"]), samples per thread of each launch
# ("chunk_by_launch", None: WALK_LAUNCH["chunk"]) and which launches zero the next one's rows
# ("zero_next": all, none, or per launch; the others by memsets)
_SPLIT, _COARSE = ((0,), (1,), (2,), (3,)), ((0, 1), (2,), (3,))
WALK_PLANS = {
    "0_1_2_3": (_SPLIT, None, (True, False)),
    **{f"01_2_3 chunks {'/'.join(map(str, c))}": (_COARSE, c, (True, False, (False, True)))
       for c in ((16, 16, 16), (32, 16, 16), (48, 16, 16), (64, 16, 16))},
    **{f"01_2_3 chunks {'/'.join(map(str, c))}": (_COARSE, c, ((False, True), False))
       for c in ((32, 24, 16), (32, 16, 24), (32, 32, 16), (32, 12, 16), (32, 20, 16), (32, 32, 24),
                 (40, 32, 16), (32, 48, 16))},
    **{f"012_3 chunks {'/'.join(map(str, c))}": (((0, 1, 2), (3,)), c, (True, False))
       for c in ((32, 16), (24, 16), (16, 16))},
    "3_2_01 chunks 16/16/32": (((3,), (2,), (0, 1)), (16, 16, 32), (True, False, (True, False))),
}


def walk_plans(inp: dict, rep_ms: int, plans: bool = True) -> list[dict]:
    """The whole step and backward with scatter="walk" for other groupings of the level groups
    into launches (checked, then timed), and the backward with no zeroing at all (adding into a
    buffer zeroed once, for timing only: what zeroing costs net, since the memsets also bring
    the rows into L2; labelled "bound" in the JSON files)."""
    x, table, gout, levels = inp["x"], inp["table"], inp["gout"], inp["levels"]
    leaf = table.detach().requires_grad_(True)
    _, expected = fast.encode_backward(x, table, levels, gout, x_grad=False, scatter="atomic")
    buf = torch.zeros(table.shape, device="cuda")
    rows = [{"plan": "no zeroing (bound)", "backward_ms": graph_ms(lambda: fast.encode_backward(
        x, table, levels, gout, x_grad=False, scatter="walk", zeroed=buf), rep_ms)}]
    print("plan", json.dumps(rows[-1]), flush=True)
    for name, (plan, chunks, zero_nexts) in WALK_PLANS.items() if plans else []:
        for zero_next in zero_nexts:
            with settings(fast.WALK_LAUNCH, launches=plan, chunk_by_launch=chunks, split=True, zero_per_group=True,
                          zero_next=zero_next):
                _, got = fast.encode_backward(x, table, levels, gout, x_grad=False, scatter="walk")
                rows.append({"plan": name, "zero_next": zero_next,
                             "rel_err": float((got - expected).norm() / expected.norm()),
                             "backward_ms": graph_ms(lambda: fast.encode_backward(
                                 x, table, levels, gout, x_grad=False, scatter="walk"), rep_ms),
                             "step_ms": graph_ms(lambda: torch.autograd.grad(
                                 fast.hash_encode(x, leaf, levels, "walk"), [leaf], gout), rep_ms)})
            print("plan", json.dumps(rows[-1]), flush=True)
    return rows


def walk_sweep(inp: dict, rep_ms: int) -> list[dict]:
    """The whole backward with scatter="walk" at other launch settings (checked, then timed)."""
    x, table, gout, levels = inp["x"], inp["table"], inp["gout"], inp["levels"]
    _, expected = fast.encode_backward(x, table, levels, gout, x_grad=False, scatter="atomic")
    before = dict(fast.WALK_LAUNCH)
    rows = []
    for chunk, chunks, group, zero in ((16, 8, 4, False), (16, 8, 4, True), (8, 8, 4, True), (12, 8, 4, True),
                                       (24, 8, 4, True), (32, 8, 4, True), (16, 16, 4, True), (24, 16, 4, True),
                                       (16, 4, 8, True), (16, 8, 8, True)):
        fast.WALK_LAUNCH.update(chunk=chunk, chunks=chunks, levels=group, split=True, zero_per_group=zero,
                                launches=None, chunk_by_launch=None,
                                zero_next=zero, num_warps=max(1, chunks * group // 32))
        _, got = fast.encode_backward(x, table, levels, gout, x_grad=False, scatter="walk")
        rows.append({**fast.WALK_LAUNCH, "rel_err": float((got - expected).norm() / expected.norm()),
                     "backward_ms": graph_ms(lambda: fast.encode_backward(
                         x, table, levels, gout, x_grad=False, scatter="walk"), rep_ms)})
        print("walk", json.dumps(rows[-1]), flush=True)
    fast.WALK_LAUNCH.update(before)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--points", choices=["uniform", "rays"], nargs="+", default=["rays", "uniform"])
    parser.add_argument("--rep-ms", type=int, default=60)
    parser.add_argument("--walk-sweep", action="store_true", help="time scatter='walk' at other launch settings")
    parser.add_argument("--walk-plans", action="store_true",
                        help="time scatter='walk' with level groups launched together (WALK_PLANS)")
    parser.add_argument("--only-plans", action="store_true",
                        help="only --walk-plans: skip the whole-step variants and groups")
    args = parser.parse_args()
    cfg = bench.WORKLOAD
    props = torch.cuda.get_device_properties(0)
    result: dict = {"date": time.strftime("%Y-%m-%d"), "gpu": props.name, "torch": torch.__version__,
                    "triton": __import__("triton").__version__, "command": " ".join(sys.argv),
                    "backward_launch": dict(fast.BACKWARD_LAUNCH), "points": {}}
    for points in args.points:
        check = points == args.points[0] and not args.only_plans
        result["points"][points] = measure(points, cfg, args.rep_ms, check=check,
                                          sweep=args.walk_sweep, plans=args.walk_plans,
                                          parts=not args.only_plans)
    args.json.write_text(json.dumps(result, indent=1))
    for points, part in result["points"].items():
        print(f"\n{points}: whole", "  ".join(f"{k} {v:.4f}" for k, v in part["whole"].items()))
        keys = [k for k in part["groups"][0] if k.endswith("_ms")] if part["groups"] else []
        print("group  reductions  walk  " + "  ".join(k.replace("backward_", "").replace("_ms", "") for k in keys))
        for row in part["groups"]:
            print(f"{row['group']:5d}  {row['reductions']:.3e}  {row['walk_reductions']:.3e}  "
                  + "  ".join(f"{row[k]:.4f}" for k in keys))
        for row in part.get("walk_sweep", []):
            print("walk", json.dumps(row))
        for row in part.get("walk_plans", []):
            print("plan", json.dumps(row))


if __name__ == "__main__":
    main()
