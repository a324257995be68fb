"""Reading a scene's cameras and region from its json, and writing the region back (no bpy).

Formats: ``transforms.json`` (instant-ngp / nerfstudio / Neuralangelo: ``fl_x fl_y cx cy w h``
global or per frame, or ``camera_angle_x``) and NeRF-synthetic splits
(``transforms_{train,val,test}.json``). COLMAP folders are recognised but opened through
``meshcast scene convert`` (see ``commands.py``). Camera matrices are OpenGL camera-to-world
(camera looks down -Z, +Y up) in the scene's own world frame, which is also Blender's camera
convention, so they are used unchanged.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .camera_model import Intrinsics, focal_from_angle
from .image_size import image_size

SPLITS = ("train", "val", "test")
REGION_KEYS = ("sphere_center", "sphere_radius", "aabb_range")


@dataclass(frozen=True)
class Region:
    """Region of interest in the scene's own world units."""

    center: tuple[float, float, float]
    radius: float
    aabb: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None = None


@dataclass
class Frame:
    name: str  # e.g. "r_0" or "train/r_0"
    split: str  # "train", "val", "test" or "" (transforms.json without splits)
    c2w: list[list[float]]  # 4x4 OpenGL camera-to-world, scene world frame
    intrinsics: Intrinsics
    image_path: Path | None  # absolute; None when the file does not exist


@dataclass
class SceneFile:
    root: Path
    source: str  # "transforms" or "nerf_synthetic"
    files: list[Path]  # the json files that hold the scene (and get the region)
    frames: list[Frame] = field(default_factory=list)
    region: Region | None = None
    points_path: Path | None = None
    missing_images: int = 0


def detect_scene(path: str | Path) -> tuple[str, list[Path]]:
    """("transforms" | "nerf_synthetic" | "colmap", json files) for a folder or a json file."""
    path = Path(path).expanduser().resolve()
    if path.is_file() and path.suffix == ".json":
        if path.stem.startswith("transforms_") and path.stem[len("transforms_"):] in SPLITS:
            return detect_scene(path.parent)
        return "transforms", [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such scene folder or json file")
    if (path / "transforms.json").is_file():
        return "transforms", [path / "transforms.json"]
    splits = [path / f"transforms_{s}.json" for s in SPLITS if (path / f"transforms_{s}.json").is_file()]
    if splits:
        return "nerf_synthetic", splits
    colmap_markers = ("cameras.bin", "cameras.txt", "sparse", "colmap")
    if any((path / m).exists() for m in colmap_markers):
        return "colmap", []
    raise FileNotFoundError(f"{path}: no transforms.json, transforms_*.json or COLMAP model")


def _number(data: dict, frame: dict, key: str) -> float | None:
    value = frame.get(key, data.get(key))
    return None if value is None else float(value)


def _resolve_image(root: Path, file_path: str | None) -> Path | None:
    if not file_path:
        return None
    path = (root / file_path).resolve()
    if path.is_file():
        return path
    if not path.suffix and path.with_suffix(".png").is_file():  # NeRF-synthetic paths omit ".png"
        return path.with_suffix(".png")
    return None


def frame_intrinsics(data: dict[str, Any], frame: dict[str, Any], image: Path | None) -> Intrinsics:
    """Intrinsics of one frame: per-frame keys override global ones; ``camera_angle_x``/``_y``
    give focal lengths; missing ``w``/``h`` come from the image header."""
    w, h = _number(data, frame, "w"), _number(data, frame, "h")
    if (w is None or h is None) and image is not None:
        w, h = image_size(image)
    if w is None or h is None:
        raise ValueError(f"frame {frame.get('file_path')!r}: no w/h and no readable image")
    fl_x, fl_y = _number(data, frame, "fl_x"), _number(data, frame, "fl_y")
    angle_x, angle_y = _number(data, frame, "camera_angle_x"), _number(data, frame, "camera_angle_y")
    if fl_x is None and angle_x is not None:
        fl_x = focal_from_angle(angle_x, int(w))
    if fl_y is None and angle_y is not None:
        fl_y = focal_from_angle(angle_y, int(h))
    fl_x = fl_x if fl_x is not None else fl_y
    fl_y = fl_y if fl_y is not None else fl_x
    if fl_x is None or fl_y is None:
        raise ValueError(f"frame {frame.get('file_path')!r}: no fl_x/fl_y or camera_angle_x")
    cx, cy = _number(data, frame, "cx"), _number(data, frame, "cy")
    return Intrinsics(fl_x=fl_x, fl_y=fl_y, cx=0.5 * w if cx is None else cx, cy=0.5 * h if cy is None else cy,
                      w=int(w), h=int(h))


def region_from_json(data: dict[str, Any]) -> Region | None:
    if "sphere_center" not in data or "sphere_radius" not in data:
        return None
    center = tuple(float(v) for v in data["sphere_center"])
    aabb = data.get("aabb_range")
    box = tuple((float(lo), float(hi)) for lo, hi in aabb) if aabb else None
    return Region(center=center, radius=float(data["sphere_radius"]), aabb=box)  # type: ignore[arg-type]


def read_scene(path: str | Path) -> SceneFile:
    """Cameras, intrinsics and region of a transforms.json or NeRF-synthetic scene."""
    source, files = detect_scene(path)
    if source == "colmap":
        raise ValueError(f"{path}: a COLMAP model; convert it with 'meshcast scene convert' first")
    scene = SceneFile(root=files[0].parent, source=source, files=files)
    for json_path in files:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        split = json_path.stem[len("transforms_"):] if source == "nerf_synthetic" else ""
        for index, frame in enumerate(data.get("frames", [])):
            image = _resolve_image(json_path.parent, frame.get("file_path"))
            scene.missing_images += image is None
            stem = Path(frame.get("file_path") or f"frame_{index:04d}").stem
            scene.frames.append(Frame(
                name=f"{split}/{stem}" if split else stem, split=split,
                c2w=[[float(v) for v in row] for row in frame["transform_matrix"]],
                intrinsics=frame_intrinsics(data, frame, image), image_path=image,
            ))
        if scene.region is None:
            scene.region = region_from_json(data)
    points = scene.root / "points.ply"
    scene.points_path = points if points.is_file() else None
    return scene


def region_to_json(region: Region) -> dict[str, Any]:
    out: dict[str, Any] = {"sphere_center": [float(v) for v in region.center], "sphere_radius": float(region.radius)}
    if region.aabb is not None:
        out["aabb_range"] = [[float(lo), float(hi)] for lo, hi in region.aabb]
    return out


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as json into a temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_region(files: list[Path], region: Region) -> list[Path]:
    """Put the region into every json file of the scene; every other key is kept as it was (an
    old ``aabb_range`` is dropped when the new region has no box)."""
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("aabb_range", None)
        data.update(region_to_json(region))
        write_json_atomic(path, data)
    return list(files)
