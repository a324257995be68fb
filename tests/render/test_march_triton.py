"""Triton ray marching and packed compositing against the PyTorch reference (``march.py``), on
the CPU through Triton's interpreter (``tests/triton_interpreter.py``: a private copy of the
kernels module decorated for the interpreter, or this file again in a fresh process when Triton
was imported first), and compiled on CUDA where there is one.

Tolerances: sample distances to float32 rounding (1e-5); the kernel may fuse a multiply-add
where PyTorch rounds twice, so a sample within rounding of a cell border can fall in the other
cell: at most 0.1% of the samples may differ. Compositing sums in another order: 1e-5.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from triton_interpreter import (
    INTERPRETER_READY,
    load_interpreted,
    rerun_in_fresh_process,
    run_cuda_check,
)

from meshcast.render import march as reference
from meshcast.render.occupancy import OccupancyGrid

SOURCE = Path(reference.__file__).with_name("march_triton.py")
NAME = "meshcast_tests_march_triton_interpreted"


@pytest.fixture(scope="module")
def kernels():
    module = load_interpreted(SOURCE, NAME)
    assert module.available(torch.zeros(1))
    yield module
    sys.modules.pop(NAME, None)


@pytest.mark.skipif(INTERPRETER_READY, reason="the tests below ran in this process")
def test_in_a_fresh_process():
    rerun_in_fresh_process(__file__)


def camera_rays(n: int, seed: int):
    """Rays from points on a sphere of radius 3 towards random points near the centre; some miss."""
    g = torch.Generator().manual_seed(seed)
    origins = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1) * 3
    targets = (torch.rand(n, 3, generator=g) * 2 - 1) * 1.2
    return origins, torch.nn.functional.normalize(targets - origins, dim=-1)


def ball_grid(resolution: int = 16) -> OccupancyGrid:
    grid = OccupancyGrid(resolution, torch.device("cpu"))
    grid.occupied = (grid.centers - torch.tensor([0.2, -0.1, 0.0])).norm(dim=-1) < 0.6
    return grid


@pytest.mark.parametrize("with_grid", [False, True])
def test_march_matches_the_reference(kernels, with_grid):
    origins, dirs = camera_rays(300, seed=0)
    grid = ball_grid() if with_grid else None
    step = 0.02
    ray, t = kernels.march(origins, dirs, torch.full((300,), 0.5), step, grid.occupied if grid else None,
                           grid.resolution if grid else 1)
    ref_ray, ref_t = reference.march(origins, dirs, step, grid, jitter=False)
    assert abs(len(ray) - len(ref_ray)) <= max(1, len(ref_ray) // 1000)
    assert len(ref_ray) > 1000 and bool(torch.all(ray[1:] >= ray[:-1]))  # packed by ray
    if len(ray) == len(ref_ray):
        assert torch.equal(ray, ref_ray)
        torch.testing.assert_close(t, ref_t, atol=1e-5, rtol=0)
    if with_grid:  # every kept sample is in an occupied cell (up to border rounding)
        inside = grid.query(origins[ray] + dirs[ray] * t[:, None])
        assert inside.float().mean() >= 0.999


def test_march_with_random_offsets_stays_on_the_step_lattice(kernels):
    origins, dirs = camera_rays(200, seed=1)
    near, far, hit = reference.sphere_near_far(origins, dirs)
    offset = torch.rand(200, generator=torch.Generator().manual_seed(2))
    ray, t = kernels.march(origins, dirs, offset, 0.05, None, 1)
    k = (t - near[ray]) / 0.05 - offset[ray]
    torch.testing.assert_close(k, k.round(), atol=1e-3, rtol=0)
    assert bool(torch.all(t < far[ray])) and bool(torch.all(hit[ray]))
    # every step of every hitting ray inside the sphere: floor((far - near) / step - offset) + 1 samples
    expected = torch.where(hit, torch.floor((far - near) / 0.05 - offset) + 1, torch.zeros(200)).clamp(min=0)
    counts = torch.bincount(ray, minlength=200)
    assert (counts - expected).abs().max() <= 1 and (counts != expected).float().mean() < 0.02


def test_transmittance_matches_the_reference(kernels):
    lengths = torch.tensor([3, 0, 50, 1])
    ray = torch.repeat_interleave(torch.arange(4), lengths)
    tau = torch.rand(len(ray), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(kernels.transmittance(ray, tau, 4), reference.transmittance(ray, tau), atol=1e-6, rtol=1e-5)


def test_composite_matches_the_reference_and_its_gradients(kernels):
    g = torch.Generator().manual_seed(3)
    lengths = torch.tensor([0, 5, 1, 17, 0, 40, 3])  # rays without samples too
    ray = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
    n = len(ray)
    tau = (torch.rand(n, generator=g) * 0.7).requires_grad_(True)
    rgb = torch.rand(n, 3, generator=g).requires_grad_(True)
    t = torch.rand(n, generator=g).sort().values
    weights = (torch.rand(len(lengths), 3, generator=g), torch.rand(len(lengths), generator=g),
               torch.rand(len(lengths), generator=g))

    def loss_of(color, opacity, depth):
        return (color * weights[0]).sum() + (opacity * weights[1]).sum() + (depth * weights[2]).sum()

    got = kernels.composite(ray, tau, rgb, t, len(lengths))
    loss_of(*got).backward()
    g_tau, g_rgb = tau.grad.clone(), rgb.grad.clone()
    tau.grad = rgb.grad = None
    ref = reference.composite_packed(ray, tau, rgb, t, len(lengths))
    loss_of(ref["rgb"], ref["opacity"], ref["depth"]).backward()
    for a, b in zip(got, (ref["rgb"], ref["opacity"], ref["depth"])):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g_tau, tau.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(g_rgb, rgb.grad, atol=1e-6, rtol=1e-5)


class Blob(torch.nn.Module):
    """A smooth density blob with a learnable scale and colour (to compare parameter gradients)."""

    kind = "density"

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(8.0))
        self.tint = torch.nn.Parameter(torch.tensor([0.9, 0.4, 0.1]))

    def geometry(self, x):
        return self.scale * torch.exp(-8 * (x - torch.tensor([0.2, -0.1, 0.0])).square().sum(-1))

    def forward_geometry(self, x):
        return self.geometry(x), x

    def radiance(self, x, normals, view_dirs, feature):
        return torch.sigmoid(self.tint + feature)


@pytest.mark.parametrize("early_stop", [0.0, 1e-3])
def test_marched_render_with_kernels_matches_the_reference(kernels, early_stop):
    """The whole marched NeRF render (``render_rays`` with ``kernels`` "triton" against "torch"):
    colours, opacity, depth and the field's parameter gradients."""
    from meshcast.render.renderer import RenderSettings, render_rays

    origins, dirs = camera_rays(64, seed=4)
    grid = ball_grid()
    results = []
    for backend in ("triton", "torch"):
        blob = Blob()
        settings = RenderSettings(march_step=0.01, early_stop=early_stop, kernels=backend)
        out = render_rays(blob, origins, dirs, torch.ones(64, 3), settings, occupancy=grid)
        (out["rgb"].sum() + out["depth"].sum()).backward()
        results.append((out, blob.scale.grad, blob.tint.grad))
    (got, g_scale, g_tint), (ref, r_scale, r_tint) = results
    assert int(got["samples"]) == int(ref["samples"]) > 500
    for key in ("rgb", "opacity", "depth"):
        torch.testing.assert_close(got[key], ref[key], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g_scale, r_scale, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(g_tint, r_tint, atol=1e-4, rtol=1e-4)


CUDA_CHECK = r"""
import torch
from meshcast.render import march as reference, march_triton
from meshcast.render.occupancy import OccupancyGrid
assert march_triton.available(torch.zeros(1, device="cuda")) and not march_triton.INTERPRETED
g = torch.Generator().manual_seed(0)
n = 20000
origins = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1).cuda() * 3
dirs = torch.nn.functional.normalize((torch.rand(n, 3, generator=g).cuda() * 2 - 1) * 1.2 - origins, dim=-1)
grid = OccupancyGrid(64, torch.device("cuda"))
grid.occupied = (grid.centers - torch.tensor([0.2, -0.1, 0.0], device="cuda")).norm(dim=-1) < 0.6
step = 3 ** 0.5 / 512
ray, t = reference.march(origins, dirs, step, grid, jitter=False, kernels=True)
ref_ray, ref_t = reference.march(origins, dirs, step, grid, jitter=False)
assert abs(len(ray) - len(ref_ray)) <= len(ref_ray) // 1000, (len(ray), len(ref_ray))
assert bool((grid.query(origins[ray] + dirs[ray] * t[:, None])).float().mean() >= 0.999)
tau = torch.rand(len(ref_ray), device="cuda", generator=None) * 0.05
torch.testing.assert_close(march_triton.transmittance(ref_ray, tau, n), reference.transmittance(ref_ray, tau),
                           atol=1e-5, rtol=1e-4)
rgb = torch.rand(len(ref_ray), 3, device="cuda")
tau.requires_grad_(True); rgb.requires_grad_(True)
w = torch.rand(n, 3, device="cuda")
outs = []
for kernels in (True, False):
    out = reference.composite_packed(ref_ray, tau, rgb, ref_t, n, torch.ones(n, 3, device="cuda"), kernels=kernels)
    ((out["rgb"] * w).sum() + out["depth"].sum()).backward()
    outs.append((out["rgb"], out["opacity"], out["depth"], tau.grad.clone(), rgb.grad.clone()))
    tau.grad = rgb.grad = None
for a, b in zip(*outs):
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
print("cuda kernels match", len(ray), "samples")
"""


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the compiled kernels need CUDA")
def test_cuda_kernels_match_reference():
    run_cuda_check(CUDA_CHECK, "cuda kernels match")
