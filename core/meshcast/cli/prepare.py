"""``meshcast prepare INPUT --out SCENE``: photos, a video or a COLMAP workspace -> a posed scene."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from meshcast.reporting import Reporter


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "prepare", help="pose photos or a video with structure from motion (pycolmap)",
        description="Make a scene folder (transforms.json, undistorted images/, points.ply, colmap/) from a "
        "video (the sharpest frame of each of --frames windows), a folder of photos (EXIF orientation "
        "applied) or an existing COLMAP workspace (imported and undistorted, not recomputed). The scene "
        "is written beside --out and renamed into place only when complete.",
        epilog="examples:\n  meshcast prepare capture.mp4 --out scenes/statue --frames 120\n"
        "  meshcast prepare photos/ --out scenes/fox --mode object\n"
        "  meshcast prepare colmap_workspace/ --out scenes/room --mode scene",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="video file, folder of photos, or COLMAP workspace")
    parser.add_argument("--out", type=Path, required=True, help="scene folder to create")
    parser.add_argument("--mode", choices=["object", "scene"], default="object",
                        help="object: a sphere around the central object (default); scene: a sphere holding the cameras")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--frames", type=int, default=150,
                      help="video: frames to keep, the sharpest of as many equal windows (default 150)")
    rate.add_argument("--fps", type=float, default=None,
                      help="video: keep the sharpest frame of every 1/FPS seconds instead (e.g. 2)")
    parser.add_argument("--max-size", type=int, default=1600,
                        help="longest image side in pixels (default 1600; 0 keeps the original size)")
    parser.add_argument("--matcher", choices=["auto", "exhaustive", "sequential"], default="auto",
                        help="auto: sequential for video and more than 150 images, else exhaustive")
    parser.add_argument("--camera", choices=["auto", "single", "per-image"], default="auto",
                        help="auto: one shared camera for video and same-size photos, else one per image")
    parser.add_argument("--camera-model", default="SIMPLE_RADIAL",
                        help="COLMAP camera model estimated before undistortion (default SIMPLE_RADIAL; e.g. OPENCV)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out once the new scene is complete")
    parser.add_argument("--keep-inputs", action="store_true", help="keep the distorted input copies in colmap/input")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    from meshcast.errors import UsageError
    from meshcast.prepare.pipeline import PrepareSettings, prepare
    from meshcast.prepare.sfm import SfmSettings

    if args.frames < 3:
        raise UsageError("--frames must be at least 3")
    if args.fps is not None and args.fps <= 0:
        raise UsageError("--fps must be above 0", hint="e.g. --fps 2 keeps two frames per second of video")
    settings = PrepareSettings(
        mode=args.mode, frames=args.frames, fps=args.fps, max_size=args.max_size or None, overwrite=args.overwrite,
        keep_inputs=args.keep_inputs,
        sfm=SfmSettings(matcher=args.matcher, camera=args.camera, camera_model=args.camera_model),
    )
    return prepare(args.input, args.out, settings, reporter)


def format_result(data: dict[str, Any]) -> str:
    c = ", ".join(f"{v:.3f}" for v in data["sphere_center"])
    return (f"scene: {data['scene']}\n"
            f"registered {data['registered']} of {data['images']} images, mean reprojection error "
            f"{data['mean_reprojection_error_px']:.2f} px, {data['points']} sparse points\n"
            f"region ({data['mode']}): sphere centre ({c}), radius {data['sphere_radius']:.3f}\n"
            f"next: meshcast train {data['scene']} --out runs/NAME")
