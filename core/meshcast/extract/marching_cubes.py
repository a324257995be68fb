"""Block-wise marching cubes with exact welding across blocks.

The grid has ``resolution`` samples per axis over the box ``[lo, hi]`` (unit frame). It is
processed in blocks of ``block_res`` cells; neighbouring blocks share their boundary samples,
so only one block of values is ever in memory (plus the growing mesh). Every marching-cubes
vertex lies on one grid edge; it is identified by an integer key (the edge's lower grid point
and its axis), so the copies two blocks make of a border vertex are merged exactly, whatever
floating-point noise their positions carry: no duplicated vertices and no cracks.

The grid's points, the narrow band's coarse grid and its interpolation are computed with torch
on the field's device (the GPU when there is one); only the values of blocks that hold the
surface go to the CPU, where marching cubes (scikit-image, ``mc_worker``) runs on the sub-blocks
of ``mc_worker.SUB_BLOCK`` cells that hold a sign change, beside the device's next block: in a
thread, or for large grids on machines with many cores in worker processes (scikit-image holds
the GIL, so threads mesh one block at a time).
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)

import numpy as np
import torch

from meshcast.extract.mc_worker import mesh_block
from meshcast.reporting import Reporter, report_progress

# Marching cubes runs in worker processes (scikit-image holds the GIL in threads) from this many
# samples per axis on machines with at least PROCESS_MIN_CPUS cores. On 2 cores processes measured
# no faster (2048^3) or slower (1024^3: 13.5 against 9.5 s): the field's evaluation uses the same
# cores there. On 16 cores beside an H200: 2048^3 9.7 against 13.8 s, but 1024^3 6.0 against 3.8 s
# (the workers' start) (benchmarks/RESULTS.md)
PROCESS_MIN_RESOLUTION = 2048
PROCESS_MIN_CPUS = 8


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


def block_is_far(fn, bounds: list[tuple[int, int]], lo: np.ndarray, step: np.ndarray, level: float, device) -> bool:
    """For a signed distance field: the block (first and last fine index per axis) cannot hold the
    surface when the distance at its centre exceeds twice its half-diagonal (a factor 2 of safety
    because a learned SDF is only approximately a distance)."""
    first = np.array([a for a, _ in bounds], float)
    last = np.array([b for _, b in bounds], float)
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


def _workers() -> int:
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def _meshing_pool(resolution: int) -> Executor:
    """Where marching cubes runs: worker processes (spawned: the parent may hold a CUDA context)
    for grids of ``PROCESS_MIN_RESOLUTION`` and more on ``PROCESS_MIN_CPUS`` cores, else a thread."""
    if resolution >= PROCESS_MIN_RESOLUTION and (os.cpu_count() or 1) >= PROCESS_MIN_CPUS:
        try:
            return ProcessPoolExecutor(max_workers=_workers(), mp_context=multiprocessing.get_context("spawn"))
        except (OSError, ValueError, NotImplementedError):  # no processes here: threads still work
            pass
    return ThreadPoolExecutor(max_workers=_workers())


class _Meshing:
    """Blocks' values in, their meshes out, in submission order, at most 2 x workers in flight;
    a worker process that dies (killed, out of memory) does not lose the extraction: its blocks,
    and every later one, are meshed in this process instead."""

    def __init__(self, n: int, level: float, direction: str) -> None:
        self.pool: Executor | None = _meshing_pool(n)
        self.args = (level, direction, n)
        self.pending: list[tuple[Future | None, np.ndarray, tuple[int, int, int]]] = []
        self.done: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def submit(self, values: np.ndarray, origin: tuple[int, int, int]) -> None:
        while len(self.pending) >= 2 * _workers():
            self._collect_first()
        future = None
        if self.pool is not None:
            try:
                future = self.pool.submit(mesh_block, values, origin, *self.args)
            except (BrokenExecutor, RuntimeError):
                self.stop()
        self.pending.append((future, values, origin))

    def stop(self) -> None:
        """No more work for the pool (what is left is meshed here); its workers go without waiting."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None

    def _collect_first(self) -> None:
        future, values, origin = self.pending.pop(0)
        result = None
        if future is not None:
            try:
                result = future.result()
            except BrokenExecutor:
                self.stop()
        self.done.append(result if result is not None else mesh_block(values, origin, *self.args))

    def results(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        while self.pending:
            self._collect_first()
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        return self.done


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
    total, done = len(starts) ** 3, 0
    factor = max(1, (n - 1) // 256)
    band = NarrowBand(fn, n, grid, level, factor) if skip_far and factor >= 2 else None
    meshing = _Meshing(n, level, "descent" if inside == "negative" else "ascent")
    try:
        for i in starts:
            for j in starts:
                for k in starts:
                    bounds = [(s, min(s + block_res, n - 1)) for s in (i, j, k)]
                    done += 1
                    report_progress(reporter, "marching cubes", done, total)
                    if band is not None:
                        if band.block_is_far(bounds):
                            continue
                    elif skip_far and block_is_far(fn, bounds, lo, step, level, device):
                        continue
                    axes = [grid.axis(a, b + 1) for a, b in bounds]
                    if band is not None:
                        values = band.block_values(fn, axes, grid)
                    else:
                        values = evaluate_points(fn, grid.block(axes)).reshape(*(len(a) for a in axes))
                    values = values.cpu().numpy()
                    if not (values.min() < level < values.max()) or min(values.shape) < 2:
                        continue
                    meshing.submit(values, (i, j, k))  # meshed beside the device's next block
        blocks = meshing.results()
    finally:
        meshing.stop()  # on an error above: no worker outlives the extraction
    all_keys, all_verts, all_faces, offset = [], [], [], 0
    for keys, coords, faces in blocks:
        all_keys.append(keys)
        all_verts.append(coords)
        all_faces.append(faces + offset)
        offset += len(coords)
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
