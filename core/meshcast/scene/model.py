"""The in-memory scene: cameras, images, masks and the region of interest.

Conventions (the contract every reader produces and every writer consumes):

* ``Frame.c2w`` is a 4x4 camera-to-world matrix in the **OpenGL** camera convention
  (camera looks down -Z, +Y up, +X right), in the scene's **own world frame** (whatever the
  file stored: nothing is recentred or rescaled on reading).
* Intrinsics are pixels: ``fl_x fl_y`` focal lengths, ``cx cy`` principal point measured from
  the top-left corner of the image (pixel centres at +0.5), ``w h`` image size; optional
  OpenCV radial-tangential distortion ``k1 k2 p1 p2``.
* ``Region`` is Neuralangelo's region of interest in world units: a bounding sphere
  (``sphere_center``, ``sphere_radius``) and an optional box ``aabb_range`` ([[xmin, xmax],
  [ymin, ymax], [zmin, zmax]]).
* ``extra`` dicts hold keys meshcast does not interpret; writers put them back unchanged.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

Split = Literal["train", "val", "test"]
Matrix4 = tuple[
    tuple[float, float, float, float],
    tuple[float, float, float, float],
    tuple[float, float, float, float],
    tuple[float, float, float, float],
]


class Intrinsics(BaseModel):
    """Pinhole intrinsics in pixels, with optional OpenCV distortion."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fl_x: float = Field(gt=0)
    fl_y: float = Field(gt=0)
    cx: float
    cy: float
    w: int = Field(gt=0)
    h: int = Field(gt=0)
    k1: float = 0.0
    k2: float = 0.0
    p1: float = 0.0
    p2: float = 0.0

    @property
    def has_distortion(self) -> bool:
        return any(abs(v) > 0 for v in (self.k1, self.k2, self.p1, self.p2))

    def matrix(self) -> np.ndarray:
        """3x3 K (float64)."""
        return np.array([[self.fl_x, 0, self.cx], [0, self.fl_y, self.cy], [0, 0, 1]], float)

    def scaled(self, factor: float) -> Intrinsics:
        """Intrinsics of the image resized by ``factor`` (e.g. 0.5 halves the resolution)."""
        return self.model_copy(
            update={
                "fl_x": self.fl_x * factor,
                "fl_y": self.fl_y * factor,
                "cx": self.cx * factor,
                "cy": self.cy * factor,
                "w": max(1, round(self.w * factor)),
                "h": max(1, round(self.h * factor)),
            }
        )


class Frame(BaseModel):
    """One image with its camera."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file_path: str  # as written in the scene file (relative to the scene root, usually)
    image_path: Path  # resolved absolute path
    c2w: Matrix4  # OpenGL camera-to-world, scene world frame
    intrinsics: Intrinsics
    split: Split = "train"
    mask_path: Path | None = None  # separate mask image (white = object), if any
    camera_id: int = 0  # frames sharing a physical camera share an id
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("c2w")
    @classmethod
    def _finite_rigid(cls, value: Matrix4) -> Matrix4:
        m = np.asarray(value, float)
        if not np.all(np.isfinite(m)):
            raise ValueError("transform_matrix has NaN or infinite entries")
        if abs(np.linalg.det(m[:3, :3])) < 1e-8:
            raise ValueError("transform_matrix rotation part is degenerate (determinant 0)")
        return value

    def c2w_array(self) -> np.ndarray:
        """4x4 float64 OpenGL camera-to-world."""
        return np.asarray(self.c2w, dtype=np.float64)

    @property
    def center(self) -> np.ndarray:
        return self.c2w_array()[:3, 3]


class Region(BaseModel):
    """Region of interest in world units (Neuralangelo's keys)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sphere_center: tuple[float, float, float]
    sphere_radius: float = Field(gt=0)
    aabb_range: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None = None


class Scene(BaseModel):
    """A posed capture: frames (with splits), a region of interest, optional sparse points."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    root: Path  # folder the scene was read from (outputs of `prepare` live here too)
    source: str  # transforms | nerf_synthetic | colmap | neus | ...
    frames: tuple[Frame, ...]
    region: Region | None = None
    aabb_scale: float | None = None
    points_path: Path | None = None  # sparse points (PLY), world frame
    skipped: tuple[str, ...] = ()  # file_paths of frames skipped because the image is missing
    extra: dict[str, Any] = Field(default_factory=dict)  # unknown top-level keys, kept verbatim

    def split(self, name: Split) -> tuple[Frame, ...]:
        return tuple(f for f in self.frames if f.split == name)

    @property
    def splits(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for frame in self.frames:
            counts[frame.split] = counts.get(frame.split, 0) + 1
        return counts

    def c2w_stack(self, split: Split | None = None) -> np.ndarray:
        """(N, 4, 4) camera-to-world matrices of the frames of ``split`` (all if None)."""
        frames = self.frames if split is None else self.split(split)
        return np.stack([f.c2w_array() for f in frames]) if frames else np.zeros((0, 4, 4))
