"""The ``transforms.json`` dialect shared by instant-ngp, nerfstudio and Neuralangelo.

Cameras are OpenGL camera-to-world ``transform_matrix`` (camera looks down -Z, +Y up), in the
scene's own world frame. Intrinsics are global or per frame: ``fl_x fl_y cx cy w h`` in pixels,
or ``camera_angle_x`` (+ ``camera_angle_y``) in radians (horizontal field of view, as Blender
and the NeRF-synthetic files write it: ``fl_x = w / (2 tan(camera_angle_x / 2))``).
Distortion ``k1 k2 p1 p2`` is OpenCV's radial-tangential model. The region of interest uses
Neuralangelo's keys ``sphere_center``, ``sphere_radius`` and ``aabb_range``.
Keys meshcast does not interpret are kept in ``extra`` and written back unchanged.
"""
from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from meshcast.errors import BadInputError
from meshcast.reporting import Reporter, report_warning
from meshcast.scene.images import IMAGE_SUFFIXES, image_size
from meshcast.scene.model import Frame, Intrinsics, Region, Scene, Split

INTRINSIC_KEYS = ("fl_x", "fl_y", "cx", "cy", "w", "h", "k1", "k2", "p1", "p2")
ANGLE_KEYS = ("camera_angle_x", "camera_angle_y")
REGION_KEYS = ("sphere_center", "sphere_radius", "aabb_range")
SPLITS: tuple[Split, ...] = ("train", "val", "test")


class RawFrame(BaseModel):
    """One entry of ``frames`` as stored; unknown keys are allowed and kept."""

    model_config = ConfigDict(extra="allow")

    file_path: str
    transform_matrix: list[list[float]]
    mask_path: str | None = None
    fl_x: float | None = None
    fl_y: float | None = None
    cx: float | None = None
    cy: float | None = None
    w: float | None = None
    h: float | None = None
    k1: float | None = None
    k2: float | None = None
    p1: float | None = None
    p2: float | None = None
    camera_angle_x: float | None = None
    camera_angle_y: float | None = None


class RawTransforms(RawFrame):
    """The top level: the same camera keys as a frame, plus the scene keys."""

    file_path: str | None = None  # type: ignore[assignment]
    transform_matrix: list[list[float]] | None = None  # type: ignore[assignment]
    frames: list[RawFrame]
    aabb_scale: float | None = None
    sphere_center: tuple[float, float, float] | None = None
    sphere_radius: float | None = None
    aabb_range: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInputError(f"{path}: file not found", code="input.scene_missing") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: not valid JSON ({exc})", code="input.scene_invalid") from exc


def _validation_message(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        problems.append(f"{loc}: {err['msg']}")
    return f"{path}: " + "; ".join(problems)


def parse_raw(path: Path) -> RawTransforms:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object at the top level", code="input.scene_invalid")
    try:
        return RawTransforms.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(_validation_message(path, exc), code="input.scene_invalid") from exc


def resolve_image_path(root: Path, file_path: str) -> Path:
    """The image a ``file_path`` names; NeRF-synthetic paths without a suffix get ``.png``."""
    candidate = (root / file_path).resolve()
    if candidate.suffix.lower() in IMAGE_SUFFIXES or candidate.exists():
        return candidate
    return candidate.with_name(candidate.name + ".png")


def _intrinsics(path: Path, index: int, top: RawTransforms, frame: RawFrame, image: Path) -> Intrinsics:
    def get(key: str) -> float | None:
        value = getattr(frame, key)
        return getattr(top, key) if value is None else value

    w, h = get("w"), get("h")
    if w is None or h is None:
        w, h = image_size(image)
    fl_x, fl_y = get("fl_x"), get("fl_y")
    angle_x, angle_y = get("camera_angle_x"), get("camera_angle_y")
    if fl_x is None and angle_x is not None:
        fl_x = 0.5 * w / math.tan(0.5 * angle_x)
    if fl_y is None and angle_y is not None and fl_x is not None and get("fl_x") is None:
        fl_y = 0.5 * h / math.tan(0.5 * angle_y)
    if fl_x is None and fl_y is not None:
        fl_x = fl_y
    if fl_y is None:
        fl_y = fl_x
    if fl_x is None:
        raise BadInputError(
            f"{path}: frames.{index}: no focal length (fl_x or camera_angle_x, global or per frame)",
            code="input.scene_invalid",
        )
    cx, cy = get("cx"), get("cy")
    try:
        return Intrinsics(
            fl_x=fl_x, fl_y=fl_y, cx=w / 2 if cx is None else cx, cy=h / 2 if cy is None else cy,
            w=round(w), h=round(h),
            **{k: get(k) or 0.0 for k in ("k1", "k2", "p1", "p2")},
        )
    except ValidationError as exc:
        raise BadInputError(
            _validation_message(path, exc).replace(f"{path}: ", f"{path}: frames.{index}: intrinsics "),
            code="input.scene_invalid",
        ) from exc


def read_frames(path: Path, split: Split = "train") -> tuple[RawTransforms, list[Frame], list[str]]:
    """Frames of one transforms file; returns (raw, frames, file_paths of missing images)."""
    raw = parse_raw(path)
    root = path.parent
    frames, missing = [], []
    for index, rf in enumerate(raw.frames):
        image = resolve_image_path(root, rf.file_path)
        if not image.is_file():
            missing.append(rf.file_path)
            continue
        c2w = rf.transform_matrix
        if len(c2w) == 3:
            c2w = [*c2w, [0.0, 0.0, 0.0, 1.0]]
        if len(c2w) != 4 or any(len(row) != 4 for row in c2w):
            raise BadInputError(f"{path}: frames.{index}.transform_matrix: expected 4x4", code="input.scene_invalid")
        known = set(RawFrame.model_fields)
        extra = {k: v for k, v in rf.model_dump(exclude_none=True).items() if k not in known}
        mask = (root / rf.mask_path).resolve() if rf.mask_path else None
        intrinsics = _intrinsics(path, index, raw, rf, image)
        try:
            frame = Frame(
                file_path=rf.file_path, image_path=image, c2w=c2w, intrinsics=intrinsics,
                split=split, mask_path=mask, camera_id=_camera_key(rf), extra=extra,
            )
        except ValidationError as exc:
            raise BadInputError(
                f"{path}: frames.{index}.transform_matrix: {exc.errors()[0]['msg']}",
                code="input.scene_invalid",
            ) from exc
        frames.append(frame)
    return raw, frames, missing


def _camera_key(frame: RawFrame) -> int:
    """Frames with their own intrinsics get their own camera id; global ones share 0."""
    own = tuple(getattr(frame, k) for k in INTRINSIC_KEYS + ANGLE_KEYS)
    return 0 if all(v is None for v in own) else (hash(own) & 0x7FFFFFFF) or 1


def _region(raw: RawTransforms) -> Region | None:
    if raw.sphere_center is None or raw.sphere_radius is None:
        return None
    return Region(sphere_center=raw.sphere_center, sphere_radius=raw.sphere_radius, aabb_range=raw.aabb_range)


def _top_extra(raw: RawTransforms) -> dict[str, Any]:
    known = set(RawTransforms.model_fields)
    return {k: v for k, v in raw.model_dump(exclude_none=True).items() if k not in known}


def warn_missing(reporter: Reporter | None, missing: list[str], total: int) -> None:
    if not missing:
        return
    shown = ", ".join(missing[:10]) + (f", ... ({len(missing) - 10} more)" if len(missing) > 10 else "")
    report_warning(
        reporter,
        f"{len(missing)} of {total} frames skipped: image file missing: {shown}",
        code="scene.missing_images",
    )


def read_transforms(path: Path, reporter: Reporter | None = None) -> Scene:
    """A scene from one ``transforms.json`` (all frames in the train split)."""
    raw, frames, missing = read_frames(path, "train")
    warn_missing(reporter, missing, len(raw.frames))
    _require_frames(path, frames)
    points = path.parent / "points.ply"
    return Scene(
        root=path.parent.resolve(), source="transforms", frames=tuple(frames), region=_region(raw),
        aabb_scale=raw.aabb_scale, points_path=points.resolve() if points.is_file() else None,
        skipped=tuple(missing), extra=_top_extra(raw),
    )


def read_nerf_synthetic(folder: Path, reporter: Reporter | None = None) -> Scene:
    """A scene from ``transforms_{train,val,test}.json`` (NeRF-synthetic / Blender splits)."""
    frames: list[Frame] = []
    missing: list[str] = []
    total = 0
    region, aabb_scale, extra = None, None, {}
    for split in SPLITS:
        path = folder / f"transforms_{split}.json"
        if not path.is_file():
            continue
        raw, split_frames, split_missing = read_frames(path, split)
        total += len(raw.frames)
        frames += split_frames
        missing += split_missing
        region = region or _region(raw)
        aabb_scale = aabb_scale or raw.aabb_scale
        extra = extra or _top_extra(raw)
    warn_missing(reporter, missing, total)
    _require_frames(folder, frames)
    return Scene(
        root=folder.resolve(), source="nerf_synthetic", frames=tuple(frames), region=region,
        aabb_scale=aabb_scale, skipped=tuple(missing), extra=extra,
    )


def _require_frames(path: Path, frames: list[Frame]) -> None:
    if not frames:
        raise BadInputError(
            f"{path}: no usable frames (every listed image is missing)",
            hint="check that file_path entries are relative to the json file's folder",
            code="input.no_frames",
        )


def _intrinsics_dict(intrinsics: Intrinsics) -> dict[str, Any]:
    out: dict[str, Any] = intrinsics.model_dump()
    out["camera_angle_x"] = 2 * math.atan(0.5 * intrinsics.w / intrinsics.fl_x)
    out["camera_angle_y"] = 2 * math.atan(0.5 * intrinsics.h / intrinsics.fl_y)
    return out


def transforms_dict(scene: Scene, out_dir: Path, frames: tuple[Frame, ...] | None = None) -> dict[str, Any]:
    """The JSON object for ``frames`` (default: all), paths relative to ``out_dir``."""
    frames = scene.frames if frames is None else frames
    common = Counter(f.intrinsics for f in frames).most_common(1)[0][0] if frames else None
    data: dict[str, Any] = {}
    if common is not None:
        data.update(_intrinsics_dict(common))
    if scene.aabb_scale is not None:
        data["aabb_scale"] = scene.aabb_scale
    if scene.region is not None:
        data["sphere_center"] = list(scene.region.sphere_center)
        data["sphere_radius"] = scene.region.sphere_radius
        if scene.region.aabb_range is not None:
            data["aabb_range"] = [list(r) for r in scene.region.aabb_range]
    data.update(scene.extra)
    data["frames"] = []
    for frame in frames:
        entry: dict[str, Any] = {
            "file_path": Path(os.path.relpath(frame.image_path, out_dir)).as_posix(),
            "transform_matrix": [list(row) for row in frame.c2w],
        }
        if frame.intrinsics != common:
            entry.update(_intrinsics_dict(frame.intrinsics))
        if frame.mask_path is not None:
            entry["mask_path"] = Path(os.path.relpath(frame.mask_path, out_dir)).as_posix()
        entry.update(frame.extra)
        data["frames"].append(entry)
    return data


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file beside ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_transforms(scene: Scene, path: str | Path, split: Split | None = None) -> Path:
    """Write ``transforms.json`` (frames of ``split``, or all) readable by instant-ngp,
    nerfstudio and Neuralangelo. Atomic."""
    path = Path(path)
    if path.suffix != ".json":
        path = path / "transforms.json"
    frames = scene.frames if split is None else scene.split(split)
    write_json_atomic(path, transforms_dict(scene, path.parent.resolve(), frames))
    return path
