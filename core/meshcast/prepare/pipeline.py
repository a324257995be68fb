"""``prepare``: photos, a video or a COLMAP workspace in; a scene folder out.

The scene is built in a hidden folder beside ``out`` and renamed into place only when complete,
so a failed or killed run never leaves a half-written scene (and never touches an existing one
unless ``overwrite``). Layout of the result::

    SCENE/transforms.json   pinhole cameras (OpenGL c2w), region of interest, what undistortion removed
    SCENE/images/           undistorted images
    SCENE/points.ply        sparse points with colours (world frame)
    SCENE/colmap/           database.db, mapper/<k>/ (every model, distorted), sparse/0 (pinhole model)
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from meshcast.errors import BadInputError, UsageError
from meshcast.prepare.frames import Ingested, ingest_photos, ingest_video, is_video
from meshcast.prepare.sfm import SfmResult, SfmSettings, model_points, run_sfm
from meshcast.reporting import Reporter
from meshcast.scene.bounds import sphere_around_object, sphere_from_cameras
from meshcast.scene.model import Region, Scene

Mode = Literal["object", "scene"]


@dataclass(frozen=True)
class PrepareSettings:
    mode: Mode = "object"
    frames: int = 150  # video: frames kept (the sharpest of equal windows)
    fps: float | None = None  # video: instead of frames, one frame per 1/fps seconds
    max_size: int | None = 1600  # longest image side in pixels; None keeps the original size
    sfm: SfmSettings = field(default_factory=SfmSettings)
    overwrite: bool = False
    keep_inputs: bool = False  # keep the downscaled, distorted input copies in colmap/input


def find_colmap_workspace(path: Path) -> Path | None:
    """The workspace root when ``path`` holds a COLMAP model (sparse/0, sparse/ or the model itself)."""
    for model in (path / "sparse" / "0", path / "sparse", path):
        if (model / "cameras.bin").is_file() or (model / "cameras.txt").is_file():
            return model
    return None


def _region(scene: Scene, xyz: np.ndarray, mode: Mode) -> Region:
    if mode == "object" and len(xyz) >= 20:
        center, radius = sphere_around_object(xyz, scene)
    else:
        center, radius = sphere_from_cameras(scene, mode)
    box = tuple((float(c - radius), float(c + radius)) for c in center)
    return Region(sphere_center=tuple(float(c) for c in center), sphere_radius=float(radius), aabb_range=box)


def _write_points(path: Path, xyz: np.ndarray, rgb: np.ndarray) -> None:
    import trimesh

    colors = np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], axis=1) if len(rgb) else None
    data = trimesh.PointCloud(xyz, colors=colors).export(file_type="ply")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _finish_scene(tmp: Path, undistorted: Path, mode: Mode, info: dict[str, Any], reporter: Reporter) -> Scene:
    """Move the pinhole model and images into place, add the region, write json and points."""
    from meshcast.scene.colmap import read_colmap
    from meshcast.scene.transforms import write_transforms

    reporter.progress("write", 0, None, "writing the scene")
    (tmp / "colmap").mkdir(parents=True, exist_ok=True)
    shutil.move(str(undistorted / "images"), str(tmp / "images"))
    (tmp / "colmap" / "sparse").mkdir(exist_ok=True)
    shutil.move(str(undistorted / "sparse"), str(tmp / "colmap" / "sparse" / "0"))
    shutil.rmtree(undistorted, ignore_errors=True)
    scene = read_colmap(tmp, reporter)
    xyz, rgb, _ = model_points(tmp / "colmap" / "sparse" / "0")
    _write_points(tmp / "points.ply", xyz, rgb)
    region = _region(scene, xyz, mode)
    scene = scene.model_copy(update={"region": region, "extra": {"meshcast_prepare": info}})
    write_transforms(scene, tmp / "transforms.json")
    return scene


def _ingest(source: Path, work: Path, settings: PrepareSettings, reporter: Reporter) -> Ingested:
    if is_video(source):
        return ingest_video(source, work / "input", settings.frames, settings.max_size, reporter, fps=settings.fps)
    if source.is_dir():
        return ingest_photos(source, work / "input", settings.max_size, reporter)
    raise BadInputError(f"{source}: not a video file (.mp4, .mov, ...) or a folder of photos",
                        code="input.not_found" if not source.exists() else "input.invalid")


def _reconstruct(source: Path, tmp: Path, settings: PrepareSettings, reporter: Reporter) -> tuple[Path, dict]:
    work = tmp / "colmap"
    ingested = _ingest(source, work, settings, reporter)
    result: SfmResult = run_sfm(work / "input", ingested.names, ingested.kind, work, settings.sfm, reporter)
    if not settings.keep_inputs:
        shutil.rmtree(work / "input", ignore_errors=True)
    info = {
        "source": str(source), "kind": ingested.kind, "images": len(ingested.names),
        "registered": len(result.registered), "unregistered": list(result.unregistered),
        "unreadable": list(ingested.skipped), "mean_reprojection_error_px": result.mean_reprojection_error,
        "points": result.points, "matcher": result.matcher, "undistorted_from": result.distortion,
        "model": f"colmap/{result.model}", "models": result.models,
    }
    return result.model_dir.parent, info


def _import_workspace(model: Path, source: Path, tmp: Path, reporter: Reporter) -> tuple[Path, dict]:
    """Undistort an existing COLMAP model (any camera model COLMAP knows) into ``tmp``."""
    from meshcast.scene.colmap import _pycolmap, find_model

    pycolmap = _pycolmap()
    _, images = find_model(source)
    if not images.is_dir():
        raise BadInputError(f"{source}: COLMAP model found in {model} but no images folder beside it",
                            hint="put the images in SOURCE/images", code="input.images_missing")
    rec = pycolmap.Reconstruction(str(model))
    reporter.progress("undistort", 0, None, "undistorting images")
    undistorted = tmp / "colmap" / "undistorted"
    undistorted.parent.mkdir(parents=True, exist_ok=True)
    pycolmap.undistort_images(undistorted, model, images)
    info = {"source": str(source), "kind": "colmap", "images": int(rec.num_images()),
            "registered": int(rec.num_reg_images()), "unregistered": [], "unreadable": [],
            "mean_reprojection_error_px": float(rec.compute_mean_reprojection_error()),
            "points": int(rec.num_points3D()), "matcher": None,
            "undistorted_from": {str(k): {"model": c.model_name, "params": [float(p) for p in c.params]}
                                 for k, c in rec.cameras.items()}}
    return undistorted, info


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise UsageError(f"{out} already exists and is not empty",
                         hint="choose another --out, or pass --overwrite to replace it when the new scene is ready")


def _swap_into_place(tmp: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def warnings_for(info: dict[str, Any]) -> list[str]:
    """Plain-words warnings about a reconstruction."""
    out = []
    missing, total = info["unregistered"], info["images"]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        out.append(f"{len(missing)} of {total} images did not register ({shown}): too little overlap with their "
                   "neighbours or too little texture; try more frames or photos taken closer together")
    if info.get("models", 1) > 1:
        out.append(f"the images fell into {info['models']} separate reconstructions; the largest "
                   f"({info['registered']} images, {info['model']}) was kept and the others are beside it in "
                   "colmap/mapper: add frames or photos that connect them")
    if info["unreadable"]:
        out.append(f"{len(info['unreadable'])} files could not be read and were skipped: {', '.join(info['unreadable'])}")
    if info["mean_reprojection_error_px"] > 2.0:
        out.append(f"mean reprojection error {info['mean_reprojection_error_px']:.2f} px is high: motion blur, "
                   "rolling shutter or a zoom change; check the cameras in Blender before training")
    if info["points"] < 500:
        out.append(f"only {info['points']} sparse points: the bounding sphere may be poor; check it with "
                   "meshcast scene bounds or the Blender Region panel")
    return out


def prepare(source: Path, out: Path, settings: PrepareSettings, reporter: Reporter) -> dict[str, Any]:
    """Make the scene folder ``out`` from ``source`` (video, photo folder or COLMAP workspace)."""
    source, out = Path(source), Path(out)
    if not source.exists():
        raise BadInputError(f"{source}: no such file or folder", code="input.not_found")
    _check_out(out, settings.overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        model = find_colmap_workspace(source) if source.is_dir() else None
        if model is not None:
            undistorted, info = _import_workspace(model, source, tmp, reporter)
        else:
            undistorted, info = _reconstruct(source, tmp, settings, reporter)
        scene = _finish_scene(tmp, undistorted, settings.mode, info, reporter)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for message in warnings_for(info):
        reporter.warning(message, code="prepare.quality")
    region = scene.region
    assert region is not None
    reporter.artifact(out / "transforms.json", "scene")
    reporter.artifact(out / "points.ply", "points")
    return {"scene": str(out), "images": info["images"], "registered": info["registered"],
            "unregistered": info["unregistered"], "mean_reprojection_error_px": info["mean_reprojection_error_px"],
            "points": info["points"], "matcher": info["matcher"], "mode": settings.mode,
            "sphere_center": list(region.sphere_center), "sphere_radius": region.sphere_radius}
