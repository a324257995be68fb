"""Scenes: posed captures read from and written to the formats other tools use.

``load_scene(path)`` accepts a scene folder or file: ``transforms.json`` (instant-ngp,
nerfstudio, Neuralangelo), NeRF-synthetic split files, a COLMAP model or workspace, or a
NeuS/IDR folder with ``cameras_sphere.npz``.
"""
from __future__ import annotations

from pathlib import Path

from meshcast.errors import BadInputError
from meshcast.reporting import Reporter
from meshcast.scene.model import Frame, Intrinsics, Region, Scene
from meshcast.scene.transforms import write_transforms

__all__ = ["Frame", "Intrinsics", "Region", "Scene", "detect_format", "load_scene", "write_transforms"]


def detect_format(path: Path) -> str:
    """transforms | nerf_synthetic | colmap | neus, or a BadInputError naming the path."""
    if path.is_file():
        if path.suffix == ".json":
            return "nerf_synthetic" if path.name.startswith("transforms_") else "transforms"
        if path.name == "cameras_sphere.npz":
            return "neus"
        raise BadInputError(f"{path}: not a scene file", hint="give a scene folder or a transforms.json", code="input.scene_unknown")
    if not path.exists():
        raise BadInputError(f"{path}: no such file or folder", code="input.scene_missing")
    if (path / "transforms.json").is_file():
        return "transforms"
    if any((path / f"transforms_{s}.json").is_file() for s in ("train", "val", "test")):
        return "nerf_synthetic"
    if (path / "cameras_sphere.npz").is_file():
        return "neus"
    for model in (path, path / "sparse" / "0", path / "sparse"):
        if (model / "cameras.bin").is_file() or (model / "cameras.txt").is_file():
            return "colmap"
    raise BadInputError(
        f"{path}: no scene found (looked for transforms.json, transforms_train.json, "
        "cameras_sphere.npz and a COLMAP model)",
        hint="run `meshcast prepare` on photos or a video first",
        code="input.scene_unknown",
    )


def load_scene(path: str | Path, reporter: Reporter | None = None) -> Scene:
    """Read any supported scene; cameras come back in OpenGL convention, scene world frame."""
    path = Path(path).expanduser()
    kind = detect_format(path)
    if kind == "transforms":
        from meshcast.scene.transforms import read_transforms

        return read_transforms(path if path.is_file() else path / "transforms.json", reporter)
    if kind == "nerf_synthetic":
        from meshcast.scene.transforms import read_nerf_synthetic

        return read_nerf_synthetic(path.parent if path.is_file() else path, reporter)
    if kind == "neus":
        from meshcast.scene.neus import read_neus

        return read_neus(path.parent if path.is_file() else path, reporter)
    from meshcast.scene.colmap import read_colmap

    return read_colmap(path, reporter)
