"""Marching cubes of one block of values on the CPU (scikit-image), with the edge keys that weld
blocks. Imports NumPy and scikit-image only, so that extraction's worker processes start fast
(``marching_cubes.marching_cubes_blocks`` runs this in them for large grids)."""
from __future__ import annotations

import numpy as np

SUB_BLOCK = 32  # cells per axis of the pieces marching cubes meshes (those without a sign change are skipped)


def edge_keys(coords: np.ndarray, n: int) -> np.ndarray:
    """Integer keys of vertices at global grid coordinates (V, 3) of an n^3 grid."""
    rounded = np.rint(coords)
    deviation = np.abs(coords - rounded)
    axis = np.argmax(deviation, axis=1)
    on_point = deviation.max(axis=1) < 1e-6
    base = rounded.astype(np.int64)
    rows = np.arange(len(coords))
    base[rows, axis] = np.floor(coords[rows, axis]).astype(np.int64)
    axis = np.where(on_point, 3, axis)
    base[on_point] = rounded[on_point].astype(np.int64)
    return ((base[:, 0] * n + base[:, 1]) * n + base[:, 2]) * 4 + axis


def mesh_block(values: np.ndarray, origin: tuple[int, int, int], level: float, direction: str, n: int):
    """Marching cubes on the sub-blocks of ``values`` that hold a sign change; vertices in global
    grid coordinates with their edge keys."""
    from skimage.measure import marching_cubes

    keys, coords, faces, count = [], [], [], 0
    s = SUB_BLOCK
    for i in range(0, max(values.shape[0] - 1, 1), s):
        for j in range(0, max(values.shape[1] - 1, 1), s):
            for k in range(0, max(values.shape[2] - 1, 1), s):
                sub = values[i:i + s + 1, j:j + s + 1, k:k + s + 1]
                if min(sub.shape) < 2 or not (sub.min() < level < sub.max()):
                    continue
                verts, tris, _, _ = marching_cubes(sub, level, gradient_direction=direction, allow_degenerate=False)
                verts = verts + np.array((origin[0] + i, origin[1] + j, origin[2] + k), float)
                keys.append(edge_keys(verts, n + 1))
                coords.append(verts)
                faces.append(tris + count)
                count += len(verts)
    if not coords:
        return np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    return np.concatenate(keys), np.concatenate(coords), np.concatenate(faces)
