"""``meshcast demo``: the whole pipeline on a built-in object, no download, CPU is fine."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from meshcast.reporting import Reporter


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo", help="reconstruct a built-in object end to end (a few minutes on a CPU)",
        description="Render a built-in object into a capture, train a neural SDF on it, extract a "
        "coloured mesh, compare it with the true shape and write a preview image.",
        epilog="example: meshcast demo --out demo_out --max-seconds 150",
    )
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default ./demo_out)")
    parser.add_argument("--max-seconds", type=float, default=150.0, help="training budget (default 150)")
    parser.add_argument("--views", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--resolution", type=int, default=160, help="extraction grid (default 160)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    import shutil

    from meshcast.demo.pipeline import run_demo

    if (args.out / "run").exists():
        shutil.rmtree(args.out / "run")  # the demo always starts fresh
    return run_demo(args.out, args.max_seconds, args.views, args.image_size, args.resolution, args.device, reporter)


def format_result(data: dict[str, Any]) -> str:
    return (f"demo finished in {data['seconds']:.0f} s\n"
            f"  mesh:     {data['mesh']}\n  preview:  {data['preview']}\n"
            f"  Chamfer distance to the true shape: {data['chamfer_relative'] * 100:.2f}% of its size, "
            f"F-score {data['fscore']:.3f}\n  open the mesh in Blender or any viewer; the scene is in {data['scene']}")
