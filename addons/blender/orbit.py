"""Camera poses for rendering a dataset: positions on a sphere or an upper hemisphere around a
target, evenly spaced (a Fibonacci lattice) or random, each looking at the target (no bpy).

Poses are OpenGL camera-to-world 4x4 lists (camera looks down -Z, +Y up), world Z up, in the
Blender scene's world units.
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence

GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


def orbit_directions(count: int, hemisphere: bool, spacing: str = "EVEN", seed: int = 0,
                     phase: float = 0.0) -> list[tuple[float, float, float]]:
    """Unit vectors from the target to the cameras; ``hemisphere`` keeps z > 0."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if spacing == "RANDOM":
            z = rng.uniform(0.05, 1.0) if hemisphere else rng.uniform(-1.0, 1.0)
            phi = rng.uniform(0.0, 2.0 * math.pi)
        else:
            z = 1.0 - (i + 0.5) / count if hemisphere else 1.0 - 2.0 * (i + 0.5) / count
            phi = i * GOLDEN_ANGLE + phase
        r = math.sqrt(max(0.0, 1.0 - z * z))
        out.append((r * math.cos(phi), r * math.sin(phi), z))
    return out


def _normalize(v: Sequence[float]) -> tuple[float, float, float]:
    n = math.sqrt(sum(x * x for x in v))
    return v[0] / n, v[1] / n, v[2] / n


def _cross(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    return a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]


def look_at(eye: Sequence[float], target: Sequence[float], up: Sequence[float] = (0.0, 0.0, 1.0)) -> list[list[float]]:
    """OpenGL camera-to-world matrix at ``eye`` looking at ``target`` with world ``up``."""
    forward = _normalize([t - e for t, e in zip(target, eye)])
    if abs(sum(f * u for f, u in zip(forward, up))) > 0.999:
        up = (0.0, 1.0, 0.0)  # looking straight up or down
    right = _normalize(_cross(forward, up))
    true_up = _cross(right, forward)
    back = (-forward[0], -forward[1], -forward[2])
    return [
        [right[0], true_up[0], back[0], float(eye[0])],
        [right[1], true_up[1], back[1], float(eye[1])],
        [right[2], true_up[2], back[2], float(eye[2])],
        [0.0, 0.0, 0.0, 1.0],
    ]


def split_poses(counts: dict[str, int], target: Sequence[float], radius: float, hemisphere: bool,
                spacing: str = "EVEN", seed: int = 0) -> dict[str, list[list[list[float]]]]:
    """Poses per split; each split is its own lattice, turned by a different phase (or seed) so
    that test views are not copies of training views."""
    out = {}
    for index, (split, count) in enumerate(counts.items()):
        directions = orbit_directions(count, hemisphere, spacing, seed + 7919 * index, phase=1.3 * index)
        out[split] = [look_at([t + radius * d for t, d in zip(target, direction)], target) for direction in directions]
    return out
