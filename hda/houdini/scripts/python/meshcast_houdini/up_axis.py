"""From a capture's world to Houdini's Y-up world.

meshcast writes meshes in the scene's own world frame (DESIGN.md: world coordinates are
sacred). Capture worlds from Blender, COLMAP-style tools and the meshcast demo are Z-up;
Houdini is Y-up. The change is a rotation of -90 degrees about X: (x, y, z) -> (x, z, -y),
which keeps handedness and scale, so a mesh lands on geometry brought over the same way
(Houdini's own Blender/FBX/USD Z-up conversions use the same rotation).
"""
from __future__ import annotations

from typing import Literal

UpAxis = Literal["z", "y"]


def to_houdini_matrix(up: UpAxis) -> tuple[tuple[float, ...], ...]:
    """4x4 matrix, rows as Houdini's hou.Matrix4 takes them (row vectors: p' = p * M)."""
    if up == "y":
        return ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    if up == "z":
        return ((1.0, 0.0, 0.0, 0.0), (0.0, 0.0, -1.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    raise ValueError(f"up axis must be 'z' or 'y', got {up!r}")


def apply_row_matrix(point: tuple[float, float, float],
                     matrix: tuple[tuple[float, ...], ...]) -> tuple[float, float, float]:
    """``point * matrix`` for a row-vector 4x4 matrix (what hou.Geometry.transform does)."""
    x, y, z = point
    out = [x * matrix[0][j] + y * matrix[1][j] + z * matrix[2][j] + matrix[3][j] for j in range(3)]
    return (out[0], out[1], out[2])


def rotate_x_degrees(up: UpAxis) -> float:
    """The same change as a Transform SOP's Rotate X, in degrees."""
    return -90.0 if up == "z" else 0.0
