"""Block-wise marching cubes with exact welding across blocks.

The grid has ``resolution`` samples per axis over the box ``[lo, hi]`` (unit frame). It is
processed in blocks of ``block_res`` cells; neighbouring blocks share their boundary samples,
so only one block of values is ever in memory (plus the growing mesh). Every marching-cubes
vertex lies on one grid edge; it is identified by an integer key (the edge's lower grid point
and its axis), so the copies two blocks make of a border vertex are merged exactly, whatever
floating-point noise their positions carry: no duplicated vertices and no cracks.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from meshcast.reporting import Reporter, report_progress


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


def evaluate_block(fn: Callable[[torch.Tensor], torch.Tensor], pts: np.ndarray, device, chunk: int = 262144) -> np.ndarray:
    out = []
    with torch.no_grad():
        for part in np.array_split(pts, max(1, int(np.ceil(len(pts) / chunk)))):
            out.append(fn(torch.from_numpy(part).float().to(device)).float().cpu().numpy())
    return np.concatenate(out)


def block_is_far(fn, idx: list[np.ndarray], lo: np.ndarray, step: np.ndarray, level: float, device) -> bool:
    """For a signed distance field: the block cannot hold the surface when the distance at its
    centre exceeds twice its half-diagonal (a factor 2 of safety because a learned SDF is only
    approximately a distance)."""
    first = np.array([ix[0] for ix in idx], float)
    last = np.array([ix[-1] for ix in idx], float)
    center = lo + 0.5 * (first + last) * step
    half_diagonal = 0.5 * np.linalg.norm((last - first) * step)
    value = evaluate_block(fn, center[None], device)[0]
    return abs(value - level) > 2.0 * half_diagonal


class NarrowBand:
    """A coarse sampling of a signed distance field that says where the surface can be.

    The coarse grid takes every ``factor``-th sample of the fine grid (so coarse samples are fine
    samples). Fine samples farther than ``band`` coarse cells from the level set (by the
    trilinearly interpolated coarse values) keep the interpolated value, which has the right
    sign; only samples inside the band are evaluated exactly. Marching cubes only reads exact
    values on edges that change sign, and those lie inside the band, so the mesh is unchanged
    while the evaluated samples drop from the volume to a shell around the surface.
    """

    def __init__(self, fn, n: int, lo: np.ndarray, step: np.ndarray, level: float, device, factor: int, band: float = 3.0):
        self.factor, self.level = factor, level
        m = (n - 1) // factor + 1
        idx = np.arange(m) * factor
        grid = np.stack(np.meshgrid(idx, idx, idx, indexing="ij"), -1).reshape(-1, 3)
        self.values = evaluate_block(fn, lo + grid * step, device).reshape(m, m, m)
        self.threshold = band * factor * float(np.linalg.norm(step))

    def block_is_far(self, idx: list[np.ndarray]) -> bool:
        f = self.factor
        sl = tuple(slice(max(ix[0] // f - 1, 0), ix[-1] // f + 2) for ix in idx)
        return bool(np.abs(self.values[sl] - self.level).min() > self.threshold)

    def block_values(self, fn, idx: list[np.ndarray], lo: np.ndarray, step: np.ndarray, device) -> np.ndarray:
        from scipy.ndimage import map_coordinates

        grid = np.stack(np.meshgrid(*idx, indexing="ij"), -1).reshape(-1, 3)
        coarse = map_coordinates(self.values, (grid / self.factor).T, order=1, mode="nearest")
        near = np.abs(coarse - self.level) <= self.threshold
        if near.any():
            coarse[near] = evaluate_block(fn, lo + grid[near] * step, device)
        return coarse.reshape(len(idx[0]), len(idx[1]), len(idx[2]))


def marching_cubes_blocks(fn: Callable[[torch.Tensor], torch.Tensor], resolution: int, block_res: int,
                          lo: np.ndarray, hi: np.ndarray, level: float = 0.0, inside: str = "negative",
                          device: torch.device | str = "cpu", reporter: Reporter | None = None,
                          skip_far: bool = False):
    """Mesh of the level set ``fn(x) = level`` over the box. ``inside`` says which side is the
    object ("negative" for SDFs, "positive" for densities); faces wind counter-clockwise seen
    from outside. ``skip_far`` (signed distance fields only) skips blocks that cannot hold the
    surface and, from 513 samples per axis, evaluates only a narrow band around it
    (``NarrowBand``). Returns vertices (V, 3) in the box's frame and faces (F, 3)."""
    from skimage.measure import marching_cubes

    import os
    from concurrent.futures import ThreadPoolExecutor

    n = resolution
    step = (hi - lo) / (n - 1)
    starts = list(range(0, n - 1, block_res))
    pending = []
    total, done = len(starts) ** 3, 0
    direction = "descent" if inside == "negative" else "ascent"

    def mesh_block(values: np.ndarray, origin: tuple[int, int, int]):
        verts, faces, _, _ = marching_cubes(values, level, gradient_direction=direction, allow_degenerate=False)
        coords = verts + np.array(origin, float)
        return edge_keys(coords, n + 1), coords, faces

    pool = ThreadPoolExecutor(max_workers=max(1, min(8, (os.cpu_count() or 2) - 1)))
    factor = max(1, (n - 1) // 256)
    band = NarrowBand(fn, n, lo, step, level, device, factor) if skip_far and factor >= 2 else None
    for i in starts:
        for j in starts:
            for k in starts:
                idx = [np.arange(s, min(s + block_res, n - 1) + 1) for s in (i, j, k)]
                far = band.block_is_far(idx) if band else skip_far and block_is_far(fn, idx, lo, step, level, device)
                if far:
                    done += 1
                    continue
                if band is not None:
                    values = band.block_values(fn, idx, lo, step, device)
                else:
                    grid = np.stack(np.meshgrid(*idx, indexing="ij"), -1).reshape(-1, 3)
                    values = evaluate_block(fn, lo + grid * step, device).reshape(len(idx[0]), len(idx[1]), len(idx[2]))
                done += 1
                report_progress(reporter, "marching cubes", done, total)
                if not (values.min() < level < values.max()) or min(values.shape) < 2:
                    continue
                while sum(not f.done() for f in pending) >= 2 * pool._max_workers:  # bound memory
                    next(f for f in pending if not f.done()).result()
                pending.append(pool.submit(mesh_block, values, (i, j, k)))  # MC on CPU threads while the
                # device evaluates the next block
    all_keys, all_verts, all_faces, offset = [], [], [], 0
    for future in pending:
        keys, coords, faces = future.result()
        all_keys.append(keys)
        all_verts.append(coords)
        all_faces.append(faces + offset)
        offset += len(coords)
    pool.shutdown()
    if not all_verts:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    keys = np.concatenate(all_keys)
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    verts = np.concatenate(all_verts)[first]
    faces = inverse[np.concatenate(all_faces)]
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    return lo + verts * step, faces.astype(np.int64)


def cull_outside(vertices: np.ndarray, faces: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop faces with any vertex outside (``keep`` False) and unused vertices."""
    faces = faces[keep[faces].all(axis=1)]
    used = np.zeros(len(vertices), bool)
    used[faces.reshape(-1)] = True
    remap = np.cumsum(used) - 1
    return vertices[used], remap[faces]


def keep_largest_component(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    labels = trimesh.graph.connected_component_labels(trimesh.graph.face_adjacency(faces), node_count=len(faces))
    if len(labels) == 0:
        return vertices, faces
    largest = np.bincount(labels).argmax()
    keep_vertices = np.zeros(len(vertices), bool)
    keep_vertices[faces[labels == largest].reshape(-1)] = True
    return cull_outside(vertices, faces[labels == largest], keep_vertices)
