"""Extraction from an analytic field: seamless blocks, world coordinates, colours, UV bake."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from meshcast.extract.marching_cubes import marching_cubes_blocks
from meshcast.extract.pipeline import ExtractSettings, extract_field
from meshcast.scene.model import Region
from meshcast.scene.normalize import Similarity


class SphereField:
    """An analytic SurfaceField: a sphere of radius r, red above z = 0 and blue below."""

    kind = "sdf"

    def __init__(self, r: float = 0.6):
        self.r = r

    def geometry(self, x):
        return x.norm(dim=-1) - self.r

    def normals(self, x):
        return torch.nn.functional.normalize(x, dim=-1)

    def color(self, x, normals, view_dirs):
        up = (x[:, 2:3] > 0).float()
        return torch.cat([up, torch.zeros_like(up), 1 - up], -1)


@pytest.mark.parametrize("block", [5, 16, 63])
def test_blocks_weld_into_the_same_watertight_mesh(block):
    fn = SphereField().geometry
    ref_v, ref_f = marching_cubes_blocks(fn, 64, 64, -np.ones(3), np.ones(3))
    v, f = marching_cubes_blocks(fn, 64, block, -np.ones(3), np.ones(3))
    assert len(v) == len(ref_v) and len(f) == len(ref_f)
    mesh = trimesh.Trimesh(v, f, process=False)
    assert mesh.is_watertight and mesh.euler_number == 2 and mesh.volume > 0
    assert np.allclose(np.sort(v, axis=0), np.sort(ref_v, axis=0), atol=1e-9)


def test_sub_blocks_weld_into_one_marching_cubes_mesh():
    """Marching cubes runs on the sub-blocks that hold a sign change (SUB_BLOCK cells): welded,
    they give the mesh of one scikit-image call over the whole grid."""
    from skimage.measure import marching_cubes

    from meshcast.extract.mc_worker import SUB_BLOCK

    n = 3 * SUB_BLOCK + 7  # sub-blocks of every size, also a last one of a few cells
    axis = np.linspace(-1, 1, n)
    x = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1)
    wavy = np.linalg.norm(x, axis=-1) - 0.6 + 0.05 * np.sin(7 * x[..., 0])
    ref_v, ref_f, _, _ = marching_cubes(wavy.astype(np.float32), 0.0, gradient_direction="descent", allow_degenerate=False)
    v, f = marching_cubes_blocks(lambda p: p.norm(dim=-1) - 0.6 + 0.05 * torch.sin(7 * p[:, 0]), n, n - 1,
                                 -np.ones(3), np.ones(3))
    assert len(v) == len(ref_v) and len(f) == len(ref_f)
    assert np.allclose(np.sort(v, axis=0), np.sort(-1 + ref_v * 2 / (n - 1), axis=0), atol=1e-5)
    mesh = trimesh.Trimesh(v, f, process=False)
    assert mesh.is_watertight and mesh.volume > 0


def test_mesh_comes_back_in_world_coordinates_with_colors():
    sim = Similarity(center=(10.0, -3.0, 2.0), radius=4.0)
    out = extract_field(SphereField(0.5), sim, ExtractSettings(resolution=48, block_res=16), "cpu")
    v = out["vertices"]
    radii = np.linalg.norm(v - np.array(sim.center), axis=1)
    assert radii.mean() == pytest.approx(2.0, rel=0.01)  # 0.5 unit radius * 4 world units
    up = v[:, 2] > 2.0 + 0.1
    assert np.all(out["vertex_colors"][up, 0] > 0.99) and np.all(out["vertex_colors"][~up & (v[:, 2] < 1.9), 2] > 0.99)


def test_region_box_culls_the_mesh():
    sim = Similarity(center=(0.0, 0.0, 0.0), radius=1.0)
    region = Region(sphere_center=(0, 0, 0), sphere_radius=1.0, aabb_range=((-1, 1), (-1, 1), (0.0, 1)))
    out = extract_field(SphereField(0.6), sim, ExtractSettings(resolution=48, block_res=24, texture="none"), "cpu", region)
    assert out["vertices"][:, 2].min() >= -0.05


def test_uv_texture_bake_reproduces_the_colors():
    pytest.importorskip("xatlas")
    sim = Similarity(center=(0.0, 0.0, 0.0), radius=1.0)
    out = extract_field(SphereField(0.6), sim, ExtractSettings(resolution=32, block_res=32, texture="uv", texture_size=128), "cpu")
    tex, uv, faces, v = out["texture"], out["uv"], out["faces"], out["vertices"]
    assert tex.shape == (128, 128, 3) and uv.shape == (len(v), 2)
    centroids = v[faces].mean(1)
    uv_c = uv[faces].mean(1)
    texel = tex[((1 - uv_c[:, 1]) * 128).astype(int).clip(0, 127), (uv_c[:, 0] * 128).astype(int).clip(0, 127)]
    upper = centroids[:, 2] > 0.1
    lower = centroids[:, 2] < -0.1
    assert texel[upper, 0].mean() > 0.95 and texel[lower, 2].mean() > 0.95


def test_skipping_far_blocks_changes_nothing():
    fn = SphereField().geometry
    full = marching_cubes_blocks(fn, 64, 8, -np.ones(3), np.ones(3))
    fast = marching_cubes_blocks(fn, 64, 8, -np.ones(3), np.ones(3), skip_far=True)
    assert np.array_equal(full[0], fast[0]) and np.array_equal(full[1], fast[1])


def test_narrow_band_gives_the_same_mesh_as_full_evaluation():
    """At 513 samples per axis the band kicks in (coarse factor 2); a wavy SDF (not an exact
    distance) must still give exactly the mesh of full evaluation."""
    calls = []

    def wavy(x):
        calls.append(len(x))
        return x.norm(dim=-1) - 0.6 + 0.03 * torch.sin(9 * x[:, 0])

    full = marching_cubes_blocks(wavy, 513, 128, -np.ones(3), np.ones(3))
    evaluated_full = sum(calls)
    calls.clear()
    banded = marching_cubes_blocks(wavy, 513, 128, -np.ones(3), np.ones(3), skip_far=True)
    assert np.array_equal(full[1], banded[1]) and np.allclose(full[0], banded[0], atol=1e-12)
    assert sum(calls) < 0.25 * evaluated_full


def test_worker_processes_give_the_same_mesh(monkeypatch):
    """From PROCESS_MIN_RESOLUTION (on PROCESS_MIN_CPUS cores), marching cubes runs in spawned
    worker processes: the same mesh as in a thread."""
    from concurrent.futures import ProcessPoolExecutor

    from meshcast.extract import marching_cubes as mc

    fn = SphereField(0.55).geometry
    in_thread = marching_cubes_blocks(fn, 48, 16, -np.ones(3), np.ones(3))
    pools = []
    make = mc._meshing_pool
    monkeypatch.setattr(mc, "PROCESS_MIN_RESOLUTION", 0)
    monkeypatch.setattr(mc, "PROCESS_MIN_CPUS", 1)
    monkeypatch.setattr(mc, "_meshing_pool", lambda resolution: pools.append(make(resolution)) or pools[-1])
    in_processes = marching_cubes_blocks(fn, 48, 16, -np.ones(3), np.ones(3))
    assert isinstance(pools[0], ProcessPoolExecutor)
    assert np.array_equal(in_thread[0], in_processes[0]) and np.array_equal(in_thread[1], in_processes[1])


def test_a_dead_worker_process_loses_no_block(monkeypatch):
    """A worker process that dies (killed, out of memory) breaks its pool: its blocks and every later
    one are meshed in this process, and the mesh is complete."""
    from concurrent.futures import Executor, Future
    from concurrent.futures.process import BrokenProcessPool

    from meshcast.extract import marching_cubes as mc

    class DeadPool(Executor):
        submitted = 0

        def submit(self, fn, *args, **kwargs):
            DeadPool.submitted += 1
            if DeadPool.submitted > 3:  # a broken pool refuses new work
                raise BrokenProcessPool("a child process terminated abruptly")
            future = Future()
            future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            return future

    fn = SphereField(0.55).geometry
    expected = marching_cubes_blocks(fn, 48, 8, -np.ones(3), np.ones(3))
    monkeypatch.setattr(mc, "_meshing_pool", lambda resolution: DeadPool())
    v, f = marching_cubes_blocks(fn, 48, 8, -np.ones(3), np.ones(3))
    assert DeadPool.submitted >= 1
    assert np.array_equal(expected[0], v) and np.array_equal(expected[1], f)
    assert trimesh.Trimesh(v, f, process=False).is_watertight
