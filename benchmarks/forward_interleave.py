"""The forward with its level groups interleaved (``FORWARD_LAUNCH["interleave"]``): consecutive
programs take K level groups of one sample block, so instruction-bound coarse groups and
L2-bound fine groups can share the SMs, against the default (one group after the other, each
group's tables alone in L2). Each setting: the forward and the whole step (forward + walk
backward), CUDA graphs, checked against the default's output, in ``--rounds`` alternations.

  python benchmarks/forward_interleave.py --json $OUT/interleave.json [--points rays] [--rounds 2]
      [--sweep: launch settings | --zeroing: the gradient's zeroing in the forward
       | --pdl: the walk's launches as programmatic dependents]
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backward_parts as parts  # graph_ms
import step_parts  # the workload (inputs) and its options

from meshcast.fields import hashgrid_triton as fast

SETTINGS = {"default (groups one after the other)": None, "all 4 interleaved": (4, (0, 1, 2, 3)),
            "0+3 then 1+2": (2, (0, 3, 1, 2)), "0+2 then 1+3": (2, (0, 2, 1, 3)), "3+0 then 2+1": (2, (3, 0, 2, 1)),
            "all 4, fine first": (4, (3, 2, 1, 0)), "one by one, fine first": (1, (3, 2, 1, 0))}


def write_rows(args, rows: list[dict]) -> None:
    """The rows of --sweep, --zeroing or --pdl to ``args.json``, with the date, GPU and command."""
    args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0),
                                     "command": " ".join(sys.argv), "rows": rows}, indent=1, default=str))


def sweep(x, table, levels, leaf, gout, args) -> None:
    """The step at other forward launch settings (block, warps) and walk samples per thread, with
    the default interleave; each checked against the reference settings' output and gradient."""
    forward0, walk0 = dict(fast.FORWARD_LAUNCH), dict(fast.WALK_LAUNCH)

    def step():
        return torch.autograd.grad(fast.hash_encode(x, leaf, levels, "walk"), [leaf], gout)[0]

    expected = step()
    rows = []
    settings = [({"block": b, "num_warps": w}, {}) for b, w in ((32, 4), (32, 2), (32, 8), (64, 4), (64, 8), (16, 2))]
    settings += [({}, {"chunk_by_launch": c}) for c in ((32, 24, 16), (32, 16, 24), (48, 16, 16), (24, 16, 16))]
    for _ in range(args.rounds):
        for forward, walk in settings:
            fast.FORWARD_LAUNCH.update(forward0, **forward)
            fast.WALK_LAUNCH.update(walk0, **walk)
            err = float((step() - expected).norm() / expected.norm())
            rows.append({"forward": {**forward0, **forward}, "walk_chunks": fast.WALK_LAUNCH["chunk_by_launch"],
                         "rel_err": err, "step_ms": parts.graph_ms(step, args.rep_ms)})
            print(f"forward block {rows[-1]['forward']['block']} warps {rows[-1]['forward']['num_warps']} "
                  f"walk chunks {rows[-1]['walk_chunks']}: step {rows[-1]['step_ms']:.4f} ms, rel err {err:.1e}",
                  flush=True)
    fast.FORWARD_LAUNCH.update(forward0)
    fast.WALK_LAUNCH.update(walk0)
    write_rows(args, rows)


def zeroing(x, table, levels, leaf, gout, args) -> None:
    """The walk's step with its first launch's gradient rows zeroed by the forward
    (``WALK_LAUNCH["forward_zeroes_first"]``: each group its own rows, or all by one group's
    programs) against a memset; and the runs' step (the forward zeroing every row, as in training
    launched one by one) with and without the interleave. Gradients checked against the default's."""
    walk0, forward0 = dict(fast.WALK_LAUNCH), dict(fast.FORWARD_LAUNCH)

    def step(scatter):
        return torch.autograd.grad(fast.hash_encode(x, leaf, levels, scatter), [leaf], gout)[0]

    expected = step("walk")
    settings = [("walk", {"forward_zeroes_first": by}, {}) for by in (None, "own", 0, 1, 2, 3)]
    # ... and the later launches' rows zeroed by the launch before (zero_next per launch)
    settings += [("walk", {"forward_zeroes_first": 0, "zero_next": flags}, {})
                 for flags in ((True, False), (False, True), (True, True))]
    settings += [("runs", {}, {"interleave": il}) for il in (None, forward0["interleave"])]
    rows = []
    for _ in range(args.rounds):
        for scatter, walk, forward in settings:
            fast.WALK_LAUNCH.update(walk0, **walk)
            fast.FORWARD_LAUNCH.update(forward0, **forward)
            err = float((step(scatter) - expected).norm() / expected.norm())
            rows.append({"scatter": scatter, **walk, **forward, "rel_err": err,
                         "step_ms": parts.graph_ms(lambda s=scatter: step(s), args.rep_ms)})
            print(f"{scatter} {walk or forward}: step {rows[-1]['step_ms']:.4f} ms, rel err {err:.1e}", flush=True)
    fast.WALK_LAUNCH.update(walk0)
    fast.FORWARD_LAUNCH.update(forward0)
    write_rows(args, rows)


def pdl(x, table, levels, leaf, gout, args) -> None:
    """The walk's step with its launches started as programmatic dependents of the kernel before
    (``WALK_LAUNCH["pdl"]``: the first launch's wait mode, the later ones'; ``FORWARD_LAUNCH["pdl"]``:
    the forward lets the first walk launch start early), against ordinary launches; gradients
    checked against the ordinary launches', eager and in the graph."""
    walk0, forward0 = dict(fast.WALK_LAUNCH), dict(fast.FORWARD_LAUNCH)

    def step():
        return torch.autograd.grad(fast.hash_encode(x, leaf, levels, "walk"), [leaf], gout)[0]

    fast.WALK_LAUNCH["pdl"], fast.FORWARD_LAUNCH["pdl"] = (0, 0), False
    expected = step()
    settings = [((0, 0), False), ((0, 2), False), ((0, 1), False), ((1, 2), False), ((1, 2), True), ((1, 1), True)]
    rows = []
    for _ in range(args.rounds):
        for walk, forward in settings:
            fast.WALK_LAUNCH["pdl"], fast.FORWARD_LAUNCH["pdl"] = walk, forward
            err = float((step() - expected).norm() / expected.norm())
            graph, out = parts.bench.capture(step)
            graph.replay()
            torch.cuda.synchronize()
            graph_err = float((out - expected).norm() / expected.norm())
            del graph
            rows.append({"walk_pdl": walk, "forward_pdl": forward, "rel_err": err, "graph_rel_err": graph_err,
                         "step_ms": parts.graph_ms(step, args.rep_ms)})
            print(f"walk pdl {walk} forward trigger {forward}: step {rows[-1]['step_ms']:.4f} ms, "
                  f"rel err {err:.1e} (graph {graph_err:.1e})", flush=True)
    fast.WALK_LAUNCH.update(walk0)
    fast.FORWARD_LAUNCH.update(forward0)
    write_rows(args, rows)


def main() -> None:
    parser = step_parts.parser_with_inputs(__doc__, rounds=2)
    parser.add_argument("--sweep", action="store_true",
                        help="instead: the default interleave at other forward launches and walk chunks (step only)")
    parser.add_argument("--zeroing", action="store_true",
                        help="instead: the walk's first rows zeroed by the forward; the runs with the interleave")
    parser.add_argument("--pdl", action="store_true",
                        help="instead: the walk's launches as programmatic dependents of the kernel before")
    args = parser.parse_args()
    x, table, levels, leaf, gout = step_parts.inputs(args.points)
    if args.sweep:
        return sweep(x, table, levels, leaf, gout, args)
    if args.zeroing:
        return zeroing(x, table, levels, leaf, gout, args)
    if args.pdl:
        return pdl(x, table, levels, leaf, gout, args)
    expected = fast.encode_forward(x, table, levels)
    times: dict[str, dict[str, list[float]]] = {name: {"forward": [], "step": []} for name in SETTINGS}
    errors = {}
    for _ in range(args.rounds):
        for name, setting in SETTINGS.items():
            fast.FORWARD_LAUNCH["interleave"] = setting
            got = fast.encode_forward(x, table, levels)
            errors[name] = float((got - expected).abs().max())
            times[name]["forward"].append(parts.graph_ms(lambda: fast.encode_forward(x, table, levels), args.rep_ms))
            times[name]["step"].append(parts.graph_ms(
                lambda: torch.autograd.grad(fast.hash_encode(x, leaf, levels, "walk"), [leaf], gout), args.rep_ms))
    fast.FORWARD_LAUNCH["interleave"] = None
    result = {"date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "triton": __import__("triton").__version__, "command": " ".join(sys.argv), "points": args.points,
              "settings": {k: v for k, v in SETTINGS.items()}, "ms": times, "max_abs_diff": errors}
    args.json.write_text(json.dumps(result, indent=1))
    for name, t in times.items():
        print(f"{name:40s} forward {statistics.median(t['forward']):.4f} ms ({', '.join(f'{v:.4f}' for v in t['forward'])})"
              f"  step {statistics.median(t['step']):.4f} ms ({', '.join(f'{v:.4f}' for v in t['step'])})"
              f"  max |diff| {errors[name]:.1e}", flush=True)


if __name__ == "__main__":
    main()
