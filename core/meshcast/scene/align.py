"""Similarity alignment between two posings of the same images (e.g. our SfM vs a reference).

``umeyama`` finds ``dst ~ s R src + t`` (least squares, Umeyama 1991). ``compare_poses`` aligns the
camera centres of ``pred`` onto ``ref`` (frames matched by image file name) and reports, per
image, the angle between the aligned and reference camera rotations and the distance between the
aligned and reference centres as a fraction of the reference capture's size (the diagonal of the
bounding box of its camera centres).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from meshcast.errors import BadInputError
from meshcast.scene.model import Scene


@dataclass(frozen=True)
class SimilarityTransform:
    scale: float
    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,)

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(points) @ self.rotation.T + self.translation

    def matrix(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = self.scale * self.rotation
        m[:3, 3] = self.translation
        return m


def umeyama(src: np.ndarray, dst: np.ndarray) -> SimilarityTransform:
    """Least-squares similarity taking (N, 3) ``src`` onto (N, 3) ``dst`` (N >= 3, not collinear)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    var_s = (a * a).sum() / len(src)
    if len(src) < 3 or var_s <= 1e-18:
        raise BadInputError("cannot align: fewer than 3 distinct camera positions", code="input.degenerate_cameras")
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign) / var_s)
    return SimilarityTransform(scale, rotation, mu_d - scale * rotation @ mu_s)


@dataclass(frozen=True)
class PoseComparison:
    names: tuple[str, ...]
    rotation_deg: np.ndarray  # (N,)
    center_rel: np.ndarray  # (N,) fraction of the reference capture size
    transform: SimilarityTransform  # pred world -> ref world
    ref_size: float
    unmatched: tuple[str, ...]  # pred frames with no reference frame of the same name


Poses = Mapping[str, np.ndarray]  # image file stem -> (4, 4) OpenGL camera-to-world


def poses_of(scene: Scene) -> dict[str, np.ndarray]:
    return {PurePosixPath(f.file_path).stem: f.c2w_array() for f in scene.frames}


def poses_from_json(path: str | Path) -> dict[str, np.ndarray]:
    """Poses of a transforms-style json by image stem, without needing its images on disk."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {PurePosixPath(f["file_path"]).stem: np.asarray(f["transform_matrix"], np.float64) for f in data["frames"]}


def compare_poses(pred: Scene | Poses, ref: Scene | Poses) -> PoseComparison:
    """Align ``pred``'s camera centres onto ``ref``'s (frames matched by image stem) and measure."""
    a = poses_of(pred) if isinstance(pred, Scene) else pred
    b = poses_of(ref) if isinstance(ref, Scene) else ref
    names = tuple(sorted(set(a) & set(b)))
    if len(names) < 3:
        raise BadInputError(f"only {len(names)} images in common between the two scenes; need 3",
                            code="input.degenerate_cameras")
    pa = np.stack([a[n] for n in names])
    pb = np.stack([b[n] for n in names])
    transform = umeyama(pa[:, :3, 3], pb[:, :3, 3])
    centers = transform.apply(pa[:, :3, 3])
    size = float(np.linalg.norm(pb[:, :3, 3].max(0) - pb[:, :3, 3].min(0)))
    rotations = transform.rotation[None] @ pa[:, :3, :3]
    relative = np.transpose(pb[:, :3, :3], (0, 2, 1)) @ rotations
    cos = np.clip((np.trace(relative, axis1=1, axis2=2) - 1) / 2, -1, 1)
    return PoseComparison(names=names, rotation_deg=np.degrees(np.arccos(cos)),
                          center_rel=np.linalg.norm(centers - pb[:, :3, 3], axis=1) / size,
                          transform=transform, ref_size=size, unmatched=tuple(sorted(set(a) - set(b))))
