"""Evaluating a run: test-split PSNR/SSIM, and Chamfer/F-score against a ground-truth mesh."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from meshcast.reporting import Reporter


def evaluate_run(run_dir: str | Path, gt_mesh: str | Path | None = None, samples: int = 200_000, tau: float = 0.01,
                 reporter: Reporter | None = None, max_images: int | None = None, resolution: int = 256) -> dict[str, Any]:
    """PSNR/SSIM of the test split (val, or train when there is none) composited on the run's
    background colour; with ``gt_mesh``, extract at ``resolution`` and compare (world units)."""
    from meshcast.metrics.image import psnr, ssim
    from meshcast.scene import load_scene
    from meshcast.train.data import load_frame_rgba
    from meshcast.train.run import load_run, render_frame

    run_dir = Path(run_dir)
    loaded = load_run(run_dir)
    scene = load_scene(loaded.scene_path, reporter)
    split = "test" if scene.split("test") else "val" if scene.split("val") else "train"
    frames = scene.split(split)[: max_images or None]
    size = loaded.config.train.data.max_size
    bg = np.asarray(loaded.config.background_color)
    scores = []
    for i, frame in enumerate(frames):
        gt = load_frame_rgba(frame, size)
        k = frame.intrinsics.scaled(gt.shape[1] / frame.intrinsics.w)
        view = render_frame(loaded, frame.c2w_array(), k)
        gt_rgb = gt[..., :3] * gt[..., 3:] + bg * (1 - gt[..., 3:])
        scores.append((psnr(view["rgb"], gt_rgb), ssim(view["rgb"], gt_rgb)))
        if reporter:
            reporter.progress("render " + split, i + 1, len(frames))
    data: dict[str, Any] = {"split": split, "images": len(frames),
                            "psnr": float(np.mean([s[0] for s in scores])), "ssim": float(np.mean([s[1] for s in scores]))}
    if gt_mesh is not None:
        from meshcast.extract.pipeline import ExtractSettings, extract_field
        from meshcast.mesh.export import build_trimesh, read_mesh
        from meshcast.metrics.geometry import cameras_of, compare_meshes

        mesh = extract_field(loaded.field, loaded.similarity, ExtractSettings(resolution=resolution, texture="none"),
                             loaded.device, scene.region, reporter)
        # the training cameras say which surface was observed (the visible_* metrics)
        data.update(compare_meshes(build_trimesh(mesh["vertices"], mesh["faces"]), read_mesh(gt_mesh), samples, tau,
                                   cameras=cameras_of(scene)))
    return data
