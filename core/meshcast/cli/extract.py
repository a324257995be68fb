"""``meshcast extract RUN``: a mesh from a trained run, in the scene's own world coordinates."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from meshcast.reporting import Reporter


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "extract", help="extract a mesh from a trained run",
        description="Marching cubes over the run's field, block by block (bounded memory at any "
        "resolution), culled to the region of interest, coloured per vertex or baked into a UV "
        "texture, written in the scene's original world coordinates.",
        epilog="example: meshcast extract runs/fox --resolution 1024 --format glb --texture uv --keep-largest",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN")
    parser.add_argument("--resolution", type=int, default=512, help="grid samples per axis (default 512)")
    parser.add_argument("--block-res", type=int, default=128, help="cells per block (default 128)")
    parser.add_argument("--format", choices=["ply", "obj", "glb", "usd"], default="ply")
    parser.add_argument("--texture", choices=["none", "vertex", "uv"], default="vertex",
                        help="vertex colours (default), a baked UV texture, or none")
    parser.add_argument("--texture-size", type=int, default=1024)
    parser.add_argument("--keep-largest", action="store_true", help="keep only the largest connected piece")
    parser.add_argument("--level", type=float, default=None,
                        help="iso level: SDF 0 (default); NeRF density, default 10")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--out", type=Path, help="output file (default RUN/mesh.<format>)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    from meshcast.errors import UsageError
    from meshcast.extract.pipeline import ExtractSettings, extract_run

    if args.resolution < 8 or args.block_res < 4:
        raise UsageError("--resolution must be at least 8 and --block-res at least 4")
    settings = ExtractSettings(resolution=args.resolution, block_res=args.block_res, texture=args.texture,
                               texture_size=args.texture_size, keep_largest=args.keep_largest, level=args.level)
    out = args.out or args.run_dir / f"mesh.{args.format}"
    return extract_run(args.run_dir, settings, out, args.device, reporter)


def format_result(data: dict[str, Any]) -> str:
    return f"mesh: {data['mesh']} ({data['vertices']} vertices, {data['faces']} faces)"
