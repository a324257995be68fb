"""``meshcast scene info|convert|bounds``: inspect, convert and bound posed captures."""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from meshcast.reporting import Reporter


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "scene", help="inspect, convert and bound a scene",
        description="Inspect, convert and bound a posed capture (transforms.json, NeRF-synthetic "
        "splits, COLMAP model or NeuS/IDR folder).",
        epilog="example: meshcast scene info data/fox",
    )
    sub = parser.add_subparsers(dest="scene_command", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="frames, intrinsics and region of a scene",
                          description="Print frame counts, intrinsics and the region of interest.",
                          epilog="example: meshcast scene info data/lego_400 --frames --events -")
    info.add_argument("scene", type=Path)
    info.add_argument("--frames", action="store_true", help="list every frame's camera in the result")
    info.add_argument("--mode", choices=["object", "scene"], default="object", help="automatic region mode")
    info.set_defaults(run=run_info)

    convert = sub.add_parser("convert", help="write a scene in another format",
                             description="Convert a scene to transforms.json or a COLMAP model.",
                             epilog="example: meshcast scene convert data/lego_400 --to colmap --out /tmp/lego_colmap")
    convert.add_argument("scene", type=Path)
    convert.add_argument("--to", choices=["transforms", "colmap"], required=True)
    convert.add_argument("--out", type=Path, required=True, help="output folder")
    convert.add_argument("--text", action="store_true", help="COLMAP text format instead of binary")
    convert.set_defaults(run=run_convert)

    bounds = sub.add_parser("bounds", help="compute or set the region of interest",
                            description="Compute the automatic bounding sphere, or set one; --write "
                            "stores it in the scene's json (sphere_center, sphere_radius, aabb_range).",
                            epilog="example: meshcast scene bounds data/fox --sphere-center 0 0 0 --sphere-radius 1.5 --write")
    bounds.add_argument("scene", type=Path)
    bounds.add_argument("--mode", choices=["object", "scene"], default="object",
                        help="object: a sphere around what the cameras look at; scene: one holding the cameras")
    bounds.add_argument("--sphere-center", type=float, nargs=3, metavar=("X", "Y", "Z"))
    bounds.add_argument("--sphere-radius", type=float, metavar="R")
    bounds.add_argument("--aabb-range", type=float, nargs=6, metavar=("XMIN", "XMAX", "YMIN", "YMAX", "ZMIN", "ZMAX"))
    bounds.add_argument("--write", action="store_true", help="write the region into the scene's json")
    bounds.set_defaults(run=run_bounds)
    return parser


def frame_dict(frame) -> dict[str, Any]:
    return {
        "file_path": frame.file_path, "image_path": str(frame.image_path), "split": frame.split,
        "c2w": [list(r) for r in frame.c2w], **frame.intrinsics.model_dump(),
        "mask_path": str(frame.mask_path) if frame.mask_path else None, "camera_id": frame.camera_id,
    }


def run_info(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    from meshcast.scene import load_scene
    from meshcast.scene.bounds import auto_region

    scene = load_scene(args.scene, reporter)
    region, region_source = scene.region, "scene file"
    if region is None:
        region, region_source = auto_region(scene, args.mode), f"automatic ({args.mode} mode)"
    cameras = Counter(f.intrinsics for f in scene.frames)
    data: dict[str, Any] = {
        "path": str(scene.root), "source": scene.source, "frames": len(scene.frames),
        "splits": scene.splits, "listed": len(scene.frames) + len(scene.skipped),
        "skipped": list(scene.skipped),
        "cameras": [{**k.model_dump(), "frames": n} for k, n in cameras.most_common()],
        "region": region.model_dump(), "region_source": region_source,
        "aabb_scale": scene.aabb_scale, "points": str(scene.points_path) if scene.points_path else None,
    }
    if args.frames:
        data["frame_list"] = [frame_dict(f) for f in scene.frames]
    return data


def run_convert(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    from meshcast.scene import load_scene
    from meshcast.scene.transforms import write_transforms

    scene = load_scene(args.scene, reporter)
    written: list[str] = []
    if args.to == "colmap":
        from meshcast.scene.colmap import write_colmap

        written.append(str(write_colmap(scene, args.out, binary=not args.text)))
    elif len(scene.splits) > 1:
        for split in scene.splits:
            written.append(str(write_transforms(scene, Path(args.out) / f"transforms_{split}.json", split)))
    else:
        written.append(str(write_transforms(scene, Path(args.out) / "transforms.json")))
    for path in written:
        reporter.artifact(path, "scene")
    return {"written": written, "frames": len(scene.frames)}


def run_bounds(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    from meshcast.errors import UsageError
    from meshcast.scene import Region, load_scene
    from meshcast.scene.bounds import auto_region
    from meshcast.scene.region_io import write_region

    scene = load_scene(args.scene, reporter)
    if (args.sphere_center is None) != (args.sphere_radius is None):
        raise UsageError("--sphere-center and --sphere-radius go together")
    if args.sphere_center is not None:
        box = None
        if args.aabb_range is not None:
            a = args.aabb_range
            box = ((a[0], a[1]), (a[2], a[3]), (a[4], a[5]))
        region = Region(sphere_center=tuple(args.sphere_center), sphere_radius=args.sphere_radius, aabb_range=box)
    else:
        region = auto_region(scene, args.mode)
    written = [str(p) for p in write_region(scene, region)] if args.write else []
    for path in written:
        reporter.artifact(path, "scene")
    return {"region": region.model_dump(), "written": written}


def format_result(data: dict[str, Any]) -> str:
    if "region" not in data or "source" not in data:
        return "\n".join(f"{k}: {v}" for k, v in data.items())
    r = data["region"]
    lines = [f"{data['path']} ({data['source']})",
             f"frames: {data['frames']} usable of {data['listed']} listed  splits: {data['splits']}"]
    if data["skipped"]:
        lines.append(f"skipped (image missing): {len(data['skipped'])}")
    for cam in data["cameras"]:
        lines.append(f"camera: {cam['w']}x{cam['h']} fl=({cam['fl_x']:.2f}, {cam['fl_y']:.2f}) "
                     f"c=({cam['cx']:.2f}, {cam['cy']:.2f}) k1={cam['k1']:.4g} k2={cam['k2']:.4g} "
                     f"p1={cam['p1']:.4g} p2={cam['p2']:.4g}  ({cam['frames']} frames)")
    c = r["sphere_center"]
    lines.append(f"region: centre ({c[0]:.4f}, {c[1]:.4f}, {c[2]:.4f}) radius {r['sphere_radius']:.4f} "
                 f"[{data['region_source']}]")
    return "\n".join(lines)
