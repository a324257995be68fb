"""Bounding spheres and boxes in the scene's world units (no bpy, no numpy).

The same rules as ``meshcast scene bounds`` (core/meshcast/scene/bounds.py): from points, a
per-axis median centre and the 95th-percentile distance times a margin; from cameras, the point
nearest every optical axis (OpenGL -Z) and the radius that the narrowest camera sees at the
median camera distance (``object``) or a sphere holding every camera (``scene``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from .camera_model import Intrinsics

Vec3 = tuple[float, float, float]


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])


def _percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def sphere_from_points(points: Sequence[Sequence[float]], margin: float = 1.1) -> tuple[Vec3, float]:
    """Robust bounding sphere of 3D points: median centre, 95th-percentile radius x margin."""
    finite = [p for p in points if all(math.isfinite(v) for v in p)]
    if len(finite) < 4:
        raise ValueError("too few points for a bounding sphere (need 4)")
    center = tuple(_median([p[i] for p in finite]) for i in range(3))
    radius = _percentile([_distance(p, center) for p in finite], 95.0) * margin
    return center, radius  # type: ignore[return-value]


def _solve3(a: list[list[float]], b: list[float]) -> Vec3:
    """Solve a 3x3 system by Cramer's rule; raises ValueError when (nearly) singular."""
    def det(m):
        return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))

    d = det(a)
    scale = max(abs(v) for row in a for v in row) or 1.0
    if abs(d) < 1e-9 * scale ** 3:
        raise ValueError("the cameras' optical axes are parallel: set the region by hand")
    out = []
    for col in range(3):
        m = [[b[r] if c == col else a[r][c] for c in range(3)] for r in range(3)]
        out.append(det(m) / d)
    return out[0], out[1], out[2]


def nearest_point_to_rays(origins: Sequence[Vec3], directions: Sequence[Vec3]) -> Vec3:
    """Least-squares point closest to the lines ``origin + t * direction``."""
    a = [[0.0] * 3 for _ in range(3)]
    b = [0.0] * 3
    for o, d in zip(origins, directions):
        n = math.sqrt(sum(v * v for v in d))
        u = [v / n for v in d]
        for r in range(3):
            for c in range(3):
                p = (1.0 if r == c else 0.0) - u[r] * u[c]
                a[r][c] += p
                b[r] += p * o[c]
    return _solve3(a, b)


def sphere_from_cameras(c2ws: Sequence[Sequence[Sequence[float]]], intrinsics: Sequence[Intrinsics],
                        mode: str = "object") -> tuple[Vec3, float]:
    """Sphere where OpenGL cameras (4x4 camera-to-world) look: see the module docstring."""
    origins = [(m[0][3], m[1][3], m[2][3]) for m in c2ws]
    axes = [(-m[0][2], -m[1][2], -m[2][2]) for m in c2ws]
    if not origins:
        raise ValueError("no cameras")
    if len(origins) == 1:
        center = tuple(o + a for o, a in zip(origins[0], axes[0]))
    else:
        center = nearest_point_to_rays(origins, axes)
    distances = [_distance(o, center) for o in origins]
    if mode == "scene":
        return center, max(distances) * 1.1  # type: ignore[return-value]
    half_fov = min(min(math.atan(0.5 * k.w / k.fl_x), math.atan(0.5 * k.h / k.fl_y)) for k in intrinsics)
    return center, _median(distances) * math.tan(half_fov)  # type: ignore[return-value]


def box_around_sphere(center: Sequence[float], radius: float) -> tuple[tuple[float, float], ...]:
    """The axis-aligned cube that holds the sphere, as ``aabb_range`` ((min, max) per axis)."""
    return tuple((float(c - radius), float(c + radius)) for c in center)
