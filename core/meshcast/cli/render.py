"""``meshcast render RUN``: images of a trained run (the test split or an orbit) and a video."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from meshcast.reporting import Reporter


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "render", help="render the test split or an orbit of a trained run",
        description="Render PNG frames of a run: the scene's test split (default) or an orbit of N "
        "views around the region of interest, plus an MP4 or GIF.",
        epilog="example: meshcast render runs/lego --orbit 60 --video mp4",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN")
    parser.add_argument("--orbit", type=int, metavar="N", help="render N views on a circle instead of the test split")
    parser.add_argument("--out", type=Path, help="output folder (default RUN/renders)")
    parser.add_argument("--video", choices=["none", "mp4", "gif"], default="gif")
    parser.add_argument("--max-size", type=int, default=400, help="longest image side (default 400)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.set_defaults(run=run)
    return parser


def orbit_poses(scene, n: int):
    """n OpenGL camera-to-world poses on a circle around the region, at the cameras' mean
    height and distance, looking at the sphere centre (up = the cameras' mean up)."""
    import numpy as np

    from meshcast.scene.bounds import auto_region

    region = scene.region or auto_region(scene)
    center = np.asarray(region.sphere_center)
    c2w = scene.c2w_stack()
    up = c2w[:, :3, 1].mean(0)
    up /= np.linalg.norm(up)
    offsets = c2w[:, :3, 3] - center
    height = float((offsets @ up).mean())
    radius = float(np.linalg.norm(offsets - np.outer(offsets @ up, up), axis=1).mean())
    a = np.cross(up, [1.0, 0, 0] if abs(up[0]) < 0.9 else [0, 1.0, 0])
    a /= np.linalg.norm(a)
    b = np.cross(up, a)
    poses = []
    for t in np.linspace(0, 2 * np.pi, n, endpoint=False):
        eye = center + up * height + radius * (np.cos(t) * a + np.sin(t) * b)
        forward = (center - eye) / np.linalg.norm(center - eye)
        right = np.cross(forward, up); right /= np.linalg.norm(right)
        m = np.eye(4)
        m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, np.cross(right, forward), -forward, eye
        poses.append(m)
    return poses


def run(args: argparse.Namespace, reporter: Reporter) -> dict[str, Any]:
    import imageio.v3 as iio
    import numpy as np

    from meshcast.scene import load_scene
    from meshcast.train.data import scale_for
    from meshcast.train.run import load_run, render_frame

    loaded = load_run(args.run_dir, args.device)
    scene = load_scene(loaded.scene_path, reporter)
    frames = scene.split("test") or scene.frames
    k = frames[0].intrinsics.scaled(scale_for(frames[0], args.max_size))
    views = [(f"orbit_{i:04d}", pose, k) for i, pose in enumerate(orbit_poses(scene, args.orbit))] if args.orbit else \
        [(Path(f.file_path).stem, f.c2w_array(), f.intrinsics.scaled(scale_for(f, args.max_size))) for f in frames]
    out = args.out or args.run_dir / "renders"
    out.mkdir(parents=True, exist_ok=True)
    images = []
    for i, (name, pose, intr) in enumerate(views):
        rgb = (render_frame(loaded, pose, intr)["rgb"] * 255 + 0.5).astype(np.uint8)
        iio.imwrite(out / f"{name}.png", rgb)
        images.append(rgb)
        reporter.progress("render", i + 1, len(views))
    result: dict[str, Any] = {"folder": str(out.resolve()), "frames": len(images)}
    if args.video != "none" and len(images) > 1 and len({im.shape for im in images}) == 1:
        video = out / f"video.{args.video}"
        if args.video == "mp4":
            import imageio.v2 as imageio_v2  # the imageio-ffmpeg writer

            imageio_v2.mimwrite(video, images, fps=24, macro_block_size=1)
        else:
            iio.imwrite(video, np.stack(images), duration=1000 / 24, loop=0)
        reporter.artifact(video, "video")
        result["video"] = str(video.resolve())
    return result
