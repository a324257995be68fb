"""Automatic region of interest: a bounding sphere (and box) in world units.

* From sparse points when the scene has them: the points that stay near the middle of most
  pictures (the object, not the room behind it); centre = per-axis median, radius = the 95th
  percentile of the distances to it, times a margin.
* Otherwise from the cameras: the centre is the point nearest all optical axes (least squares
  on the OpenGL -Z axes); the radius is what the narrowest camera sees at the median camera
  distance (``object`` mode), or a sphere holding every camera (``scene`` mode).
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from meshcast.errors import BadInputError
from meshcast.scene.model import Region, Scene

Mode = Literal["object", "scene"]


def nearest_point_to_rays(origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Least-squares point closest to the lines ``origins + t directions`` ((N, 3) each)."""
    d = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    projectors = np.eye(3)[None] - d[:, :, None] * d[:, None, :]  # (N, 3, 3)
    A = projectors.sum(axis=0)
    b = (projectors @ origins[:, :, None]).sum(axis=0)[:, 0]
    if np.linalg.cond(A) > 1e10:
        raise BadInputError(
            "cannot find where the cameras look: all optical axes are parallel",
            hint="set the region by hand: meshcast scene bounds SCENE --sphere-center X Y Z --sphere-radius R --write",
            code="input.degenerate_cameras",
        )
    return np.linalg.solve(A, b)


def sphere_from_points(points: np.ndarray, margin: float = 1.1) -> tuple[np.ndarray, float]:
    """Robust bounding sphere of (N, 3) points: median centre, 95th-percentile radius."""
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) < 4:
        raise BadInputError("too few sparse points for automatic bounds", code="input.degenerate_points")
    center = np.median(points, axis=0)
    radius = float(np.percentile(np.linalg.norm(points - center, axis=1), 95)) * margin
    return center, radius


def sphere_from_cameras(scene: Scene, mode: Mode = "object") -> tuple[np.ndarray, float]:
    c2w = scene.c2w_stack()
    origins, axes = c2w[:, :3, 3], -c2w[:, :3, 2]
    if len(origins) == 1:
        distance = 1.0
        center = origins[0] + axes[0] * distance
    else:
        center = nearest_point_to_rays(origins, axes)
    distances = np.linalg.norm(origins - center, axis=1)
    if mode == "scene":
        return center, float(distances.max()) * 1.1
    half_fov = min(
        min(np.arctan(0.5 * f.intrinsics.w / f.intrinsics.fl_x), np.arctan(0.5 * f.intrinsics.h / f.intrinsics.fl_y))
        for f in scene.frames
    )
    return center, float(np.median(distances) * np.tan(half_fov))


def load_points(scene: Scene) -> np.ndarray | None:
    if scene.points_path is None:
        return None
    import trimesh

    cloud = trimesh.load(scene.points_path, process=False)
    return np.asarray(cloud.vertices, dtype=np.float64)


def auto_region(scene: Scene, mode: Mode = "object") -> Region:
    """A region for ``scene``: from its sparse points (object mode) or from its cameras."""
    points = load_points(scene) if mode == "object" else None
    if points is not None and len(points) >= 4:
        center, radius = sphere_around_object(points, scene)
    else:
        center, radius = sphere_from_cameras(scene, mode)
    box = tuple((float(c - radius), float(c + radius)) for c in center)
    return Region(sphere_center=tuple(float(c) for c in center), sphere_radius=radius, aabb_range=box)


def central_fraction(points: np.ndarray, scene: Scene, window: float = 0.6) -> np.ndarray:
    """(N,) fraction of the scene's cameras that see each point in front of them and inside the
    central ``window`` of the image (|x|, |y| < window in units of the half width/height)."""
    c2w = scene.c2w_stack()
    w2c = np.linalg.inv(c2w)
    counts = np.zeros(len(points))
    for frame, m in zip(scene.frames, w2c):
        cam = points @ m[:3, :3].T + m[:3, 3]  # OpenGL camera: looks down -Z
        depth = -cam[:, 2]
        k = frame.intrinsics
        with np.errstate(divide="ignore", invalid="ignore"):
            x = cam[:, 0] / depth * k.fl_x / (0.5 * k.w)
            y = cam[:, 1] / depth * k.fl_y / (0.5 * k.h)
        counts += (depth > 0) & (np.abs(x) < window) & (np.abs(y) < window)
    return counts / max(len(scene.frames), 1)


def sphere_around_object(points: np.ndarray, scene: Scene) -> tuple[np.ndarray, float]:
    """Bounding sphere of the object a capture circles, from SfM points that include background.

    The object is what stays near the middle of the pictures: only points inside the central 60%
    of the image in at least 70% of the cameras count (walls and floor behind the object drop out,
    since each camera sees a different part of them). Centre: the middle of their box (per axis,
    between the 0.5th and 99.5th percentiles); radius: 1.25 x the farthest of them, since thin parts
    (ears, horns, handles) hold few points and a sphere that cuts the object loses them for good.
    Falls back to :func:`sphere_from_points` over every point when fewer than 20 remain.
    """
    points = points[np.all(np.isfinite(points), axis=1)]
    central = points[central_fraction(points, scene) >= 0.7]
    if len(central) < 20:
        return sphere_from_points(points)
    center = (np.percentile(central, 0.5, axis=0) + np.percentile(central, 99.5, axis=0)) / 2
    return center, float(1.25 * np.linalg.norm(central - center, axis=1).max())
