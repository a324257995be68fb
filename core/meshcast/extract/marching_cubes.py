"""Block-wise marching cubes with exact welding across blocks.

The grid has ``resolution`` samples per axis over the box ``[lo, hi]`` (unit frame). It is
processed in blocks of ``block_res`` cells; neighbouring blocks share their boundary samples,
so only one block of values is ever in memory (plus the growing mesh). Every marching-cubes
vertex lies on one grid edge; it is identified by an integer key (the edge's lower grid point
and its axis), so the copies two blocks make of a border vertex are merged exactly, whatever
floating-point noise their positions carry: no duplicated vertices and no cracks.

The grid's points, the narrow band's coarse grid and its interpolation are computed with torch
on the field's device (the GPU when there is one); only the values of blocks that hold the
surface go to the CPU, where marching cubes (scikit-image) runs on the sub-blocks of
``SUB_BLOCK`` cells that hold a sign change, in a thread beside the device's next block.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable

import numpy as np
import torch

from meshcast.reporting import Reporter, report_progress

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


def _chunk(device: torch.device) -> int:
    return 2**20 if device.type == "cuda" else 2**18


def evaluate_points(fn: Callable[[torch.Tensor], torch.Tensor], pts: torch.Tensor) -> torch.Tensor:
    """``fn`` at points (P, 3) on its device, in chunks; float32 values (P,) on the same device."""
    if len(pts) == 0:
        return torch.zeros(0, dtype=torch.float32, device=pts.device)
    with torch.no_grad():
        return torch.cat([fn(part.float()).float().reshape(-1) for part in pts.split(_chunk(pts.device))])


def evaluate_block(fn: Callable[[torch.Tensor], torch.Tensor], pts: np.ndarray, device) -> np.ndarray:
    """``fn`` at points (P, 3) given as a NumPy array; float32 values (P,) as a NumPy array."""
    return evaluate_points(fn, torch.from_numpy(np.asarray(pts, np.float64)).float().to(device)).cpu().numpy()


class Grid:
    """The sample points of the n^3 grid over [lo, lo + (n - 1) step], on ``device``: point
    ``i`` is ``i * step + lo``, computed in float64 where the device has it (the same float32
    points on every device and in every block)."""

    def __init__(self, lo: np.ndarray, step: np.ndarray, device) -> None:
        self.device = torch.device(device)
        dtype = torch.float32 if self.device.type == "mps" else torch.float64
        self.lo = torch.as_tensor(np.asarray(lo, np.float64), dtype=dtype, device=self.device)
        self.step = torch.as_tensor(np.asarray(step, np.float64), dtype=dtype, device=self.device)

    def axis(self, start: int, stop: int, every: int = 1) -> torch.Tensor:
        return torch.arange(start, stop, every, device=self.device)

    def points(self, index: torch.Tensor) -> torch.Tensor:
        """Points of integer grid coordinates (P, 3)."""
        return index.to(self.lo.dtype) * self.step + self.lo

    def block(self, axes: list[torch.Tensor]) -> torch.Tensor:
        """Points of the product of three integer axes, x slowest: (len0 * len1 * len2, 3)."""
        return self.points(torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3))


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


def _lerp_axis(values: torch.Tensor, dim: int, c0: torch.Tensor, c1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    shape = [1, 1, 1]
    shape[dim] = -1
    t = t.reshape(shape)
    return values.index_select(dim, c0) * (1 - t) + values.index_select(dim, c1) * t


class NarrowBand:
    """A coarse sampling of a signed distance field that says where the surface can be.

    The coarse grid takes every ``factor``-th sample of the fine grid (so coarse samples are fine
    samples). Fine samples farther than ``band`` coarse cells from the level set (by the
    trilinearly interpolated coarse values) keep the interpolated value, which has the right
    sign; only samples inside the band are evaluated exactly. Marching cubes only reads exact
    values on edges that change sign, and those lie inside the band, so the mesh is unchanged
    while the evaluated samples drop from the volume to a shell around the surface. The coarse
    values stay on the field's device.
    """

    def __init__(self, fn, n: int, grid: Grid, level: float, factor: int, band: float = 3.0):
        self.factor, self.level = factor, level
        m = (n - 1) // factor + 1
        axis = grid.axis(0, n, factor)
        slab = max(1, _chunk(grid.device) // (m * m))  # x slices evaluated together
        self.values = torch.cat([evaluate_points(fn, grid.block([axis[i:i + slab], axis, axis])).reshape(-1, m, m)
                                 for i in range(0, m, slab)])
        self.threshold = band * factor * float(torch.linalg.vector_norm(grid.step))

    def _coarse_slices(self, bounds: list[tuple[int, int]]) -> tuple[slice, ...]:
        f = self.factor
        return tuple(slice(max(first // f - 1, 0), last // f + 2) for first, last in bounds)

    def block_is_far(self, bounds: list[tuple[int, int]]) -> bool:
        """Whether no sample of the block (first and last fine index per axis) is near the level."""
        return bool((self.values[self._coarse_slices(bounds)] - self.level).abs().min() > self.threshold)

    def block_values(self, fn, axes: list[torch.Tensor], grid: Grid) -> torch.Tensor:
        """The block's values on the device: interpolated from the coarse grid, exact in the band."""
        m = self.values.shape[0]
        window = self._coarse_slices([(int(axis[0]), int(axis[-1])) for axis in axes])
        values = self.values[window]  # the coarse samples around the block
        for dim, axis in enumerate(axes):  # separable trilinear interpolation, clamped at the far end
            c = (axis.to(grid.lo.dtype) / self.factor).clamp(max=m - 1)
            c0 = c.floor().long()
            c1 = (c0 + 1).clamp(max=m - 1)
            start = window[dim].start
            values = _lerp_axis(values, dim, c0 - start, c1 - start, (c - c0).float())
        near = (values - self.level).abs() <= self.threshold
        where = near.nonzero()
        if len(where):
            index = torch.stack([axes[d][where[:, d]] for d in range(3)], -1)
            values[near] = evaluate_points(fn, grid.points(index))
        return values


def _mesh_block(values: np.ndarray, origin: tuple[int, int, int], level: float, direction: str, n: int):
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


def marching_cubes_blocks(fn: Callable[[torch.Tensor], torch.Tensor], resolution: int, block_res: int,
                          lo: np.ndarray, hi: np.ndarray, level: float = 0.0, inside: str = "negative",
                          device: torch.device | str = "cpu", reporter: Reporter | None = None,
                          skip_far: bool = False):
    """Mesh of the level set ``fn(x) = level`` over the box. ``inside`` says which side is the
    object ("negative" for SDFs, "positive" for densities); faces wind counter-clockwise seen
    from outside. ``skip_far`` (signed distance fields only) skips blocks that cannot hold the
    surface and, from 513 samples per axis, evaluates only a narrow band around it
    (``NarrowBand``). Returns vertices (V, 3) in the box's frame and faces (F, 3)."""
    n = resolution
    step = (hi - lo) / (n - 1)
    grid = Grid(lo, step, device)
    starts = list(range(0, n - 1, block_res))
    pending = []
    total, done = len(starts) ** 3, 0
    direction = "descent" if inside == "negative" else "ascent"

    pool = ThreadPoolExecutor(max_workers=max(1, min(8, (os.cpu_count() or 2) - 1)))
    factor = max(1, (n - 1) // 256)
    band = NarrowBand(fn, n, grid, level, factor) if skip_far and factor >= 2 else None
    for i in starts:
        for j in starts:
            for k in starts:
                bounds = [(s, min(s + block_res, n - 1)) for s in (i, j, k)]
                done += 1
                report_progress(reporter, "marching cubes", done, total)
                if band is not None:
                    if band.block_is_far(bounds):
                        continue
                elif skip_far and block_is_far(fn, [np.arange(a, b + 1) for a, b in bounds], lo, step, level, device):
                    continue
                axes = [grid.axis(a, b + 1) for a, b in bounds]
                if band is not None:
                    values = band.block_values(fn, axes, grid)
                else:
                    values = evaluate_points(fn, grid.block(axes)).reshape(*(len(a) for a in axes))
                values = values.cpu().numpy()
                if not (values.min() < level < values.max()) or min(values.shape) < 2:
                    continue
                while sum(not f.done() for f in pending) >= 2 * pool._max_workers:  # bound memory
                    next(f for f in pending if not f.done()).result()
                pending.append(pool.submit(_mesh_block, values, (i, j, k), level, direction, n))  # on a CPU
                # thread while the device evaluates the next block
    all_keys, all_verts, all_faces, offset = [], [], [], 0
    for future in pending:
        keys, coords, faces = future.result()
        all_keys.append(keys)
        all_verts.append(coords)
        all_faces.append(faces + offset)
        offset += len(coords)
    pool.shutdown()
    if offset == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    keys = np.concatenate(all_keys)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    verts = np.concatenate(all_verts)[first]
    faces = inverse.reshape(-1)[np.concatenate(all_faces)]
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
