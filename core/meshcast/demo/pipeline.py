"""The demo pipeline: render a capture, train, extract, evaluate, preview."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from meshcast.reporting import Reporter


def run_demo(out: Path, max_seconds: float, views: int, image_size: int, resolution: int, device: str,
             reporter: Reporter | None = None) -> dict[str, Any]:
    from PIL import Image

    from meshcast.demo.scene import DemoObject, make_demo_scene
    from meshcast.extract.pipeline import ExtractSettings, extract_run
    from meshcast.mesh.export import read_mesh
    from meshcast.metrics.geometry import compare_meshes
    from meshcast.scene import load_scene
    from meshcast.train.config import preset_config
    from meshcast.train.loop import train
    from meshcast.train.run import load_run, pick_device, render_frame

    start = time.monotonic()
    obj = DemoObject()
    if reporter:
        reporter.progress("render capture", 0, 1)
    scene_dir = make_demo_scene(out / "scene", n_views=views, resolution=image_size, obj=obj)
    scene = load_scene(scene_dir, reporter)
    dev = pick_device(device).type
    config = preset_config("neus", "preview", dev).model_copy(update={"max_seconds": max_seconds, "device": device})
    result = train(config, scene, scene_dir, out / "run", reporter)
    mesh_info = extract_run(out / "run", ExtractSettings(resolution=resolution, block_res=64, keep_largest=True),
                            out / "mesh.ply", device, reporter)
    metrics = compare_meshes(read_mesh(mesh_info["mesh"]), obj.mesh(), samples=50_000)
    if reporter:
        for name in ("chamfer", "chamfer_relative", "fscore"):
            reporter.metric(name, metrics[name])
    loaded = load_run(out / "run", device)
    frame = scene.split("test")[0]
    view = render_frame(loaded, frame.c2w_array(), frame.intrinsics)
    gt = np.asarray(Image.open(frame.image_path).convert("RGBA"), np.float32) / 255
    gt_rgb = gt[..., :3] * gt[..., 3:] + (1 - gt[..., 3:])
    preview = out / "preview.png"
    Image.fromarray((np.concatenate([gt_rgb, view["rgb"]], 1) * 255 + 0.5).astype(np.uint8)).save(preview)
    if reporter:
        reporter.artifact(preview, "image")
    return {"mesh": mesh_info["mesh"], "preview": str(preview.resolve()), "scene": str(scene_dir.resolve()),
            "run": result["run"], "steps": result["steps"], "train_seconds": result["seconds"],
            "seconds": round(time.monotonic() - start, 1), "chamfer": metrics["chamfer"],
            "chamfer_relative": metrics["chamfer_relative"], "fscore": metrics["fscore"],
            "vertices": mesh_info["vertices"]}
