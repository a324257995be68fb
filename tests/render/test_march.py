"""Occupancy-grid marching: sample spacing and culling, packed compositing against the dense
compositor, and a marched render of an analytic density ball against its exact opacity."""
from __future__ import annotations

import math

import pytest
import torch

from meshcast.render.march import composite_packed, exclusive_segment_sum, march, packed_weights
from meshcast.render.occupancy import OccupancyGrid
from meshcast.render.renderer import RenderSettings, render_rays
from meshcast.render.volrend import composite


def _ray_down_z(n: int = 1):
    return torch.tensor([[0.0, 0.0, -3.0]]).repeat(n, 1), torch.tensor([[0.0, 0.0, 1.0]]).repeat(n, 1)


def test_march_takes_fixed_steps_inside_the_unit_sphere():
    o, d = _ray_down_z()
    ray, t = march(o, d, 0.1, None, jitter=False)
    # the chord is z in [-1, 1], t in [2, 4]: 20 steps with midpoints 2.05, 2.15, ...
    assert ray.tolist() == [0] * 20
    torch.testing.assert_close(t, 2.05 + 0.1 * torch.arange(20.0), atol=1e-5, rtol=0)
    _, tj = march(o.repeat(64, 1), d.repeat(64, 1), 0.1, None, jitter=True)
    assert tj.min() >= 2.0 and tj.max() < 4.0  # jittered samples stay inside the sphere


def test_march_skips_empty_cells_and_misses():
    grid = OccupancyGrid(8, torch.device("cpu"))
    grid.occupied = grid.centers[:, 2] > 0  # only the upper half-space holds anything
    o = torch.tensor([[0.0, 0.0, -3.0], [0.0, 5.0, -3.0]])  # the second ray misses the sphere
    d = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    ray, t = march(o, d, 0.1, grid, jitter=False)
    assert ray.tolist() == [0] * 10
    assert torch.all(o[0, 2] + t > 0)


def test_packed_compositing_matches_the_dense_compositor():
    g = torch.Generator().manual_seed(0)
    R, S = 5, 7
    tau = torch.rand(R, S, generator=g) * 0.8
    rgb = torch.rand(R, S, 3, generator=g)
    t = torch.sort(torch.rand(R, S, generator=g), dim=1).values
    bg = torch.rand(R, 3, generator=g)
    # ray 2 has no samples: drop its entries from the packed list and zero its opacity in the dense one
    keep = torch.ones(R, S, dtype=torch.bool)
    keep[2] = False
    dense_tau = tau * keep
    dense = composite(1 - torch.exp(-dense_tau), rgb, bg, t)
    ray = torch.arange(R)[:, None].expand(R, S)[keep]
    tau_p = tau[keep].clone().requires_grad_(True)
    packed = composite_packed(ray, tau_p, rgb[keep], t[keep], R, bg)
    for key in ("rgb", "opacity", "depth"):
        torch.testing.assert_close(packed[key], dense[key], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(packed_weights(ray, tau[keep]), dense["weights"][keep], atol=1e-5, rtol=1e-5)
    # gradients too: the same loss through the dense path
    packed["rgb"].sum().backward()
    tau_d = tau.clone().requires_grad_(True)
    composite(1 - torch.exp(-(tau_d * keep)), rgb, bg, t)["rgb"].sum().backward()
    torch.testing.assert_close(tau_p.grad, tau_d.grad[keep], atol=1e-5, rtol=1e-4)


def test_exclusive_segment_sum_restarts_at_each_ray():
    ray = torch.tensor([0, 0, 0, 3, 3, 7])
    x = torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0, 5.0])
    assert exclusive_segment_sum(ray, x).tolist() == [0.0, 1.0, 3.0, 0.0, 10.0, 0.0]


class Ball(torch.nn.Module):
    """Constant density ``sigma`` inside a ball of radius ``r`` and constant colour."""

    kind = "density"

    def __init__(self, sigma: float, r: float):
        super().__init__()
        self.sigma, self.r = sigma, r
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def geometry(self, x):
        return torch.where(x.norm(dim=-1) < self.r, self.sigma, 0.0) + self.dummy

    def forward_geometry(self, x):
        return self.geometry(x), torch.zeros(x.shape[0], 4)

    def radiance(self, x, normals, view_dirs, feature):
        return torch.tensor([1.0, 0.5, 0.0]).expand(x.shape[0], 3)


@pytest.mark.parametrize("early_stop", [0.0, 1e-4])
def test_marched_render_of_a_ball_matches_its_exact_opacity(early_stop):
    ball = Ball(sigma=2.0, r=0.5)
    offsets = torch.tensor([0.0, 0.2, 0.4, 0.6])  # the last ray passes beside the ball
    o = torch.stack([offsets, torch.zeros(4), torch.full((4,), -3.0)], -1)
    d = torch.tensor([[0.0, 0.0, 1.0]]).repeat(4, 1)
    grid = OccupancyGrid(16, torch.device("cpu"))
    grid.occupied = grid.centers.norm(dim=-1) < 0.5 + 2 / 16 * 0.9  # every cell that touches the ball
    settings = RenderSettings(march_step=1e-3, early_stop=early_stop)
    out = render_rays(ball, o, d, torch.zeros(4, 3), settings, occupancy=grid)
    chord = 2 * torch.sqrt((0.25 - offsets**2).clamp(min=0))
    exact = 1 - torch.exp(-2.0 * chord)
    torch.testing.assert_close(out["opacity"], exact, atol=5e-3, rtol=0)
    torch.testing.assert_close(out["rgb"], exact[:, None] * torch.tensor([1.0, 0.5, 0.0]), atol=5e-3, rtol=0)
    # 2 x 0.5 / 1e-3 samples through the centre, none beside the ball, and the far half of no ray is culled early
    assert int(out["samples"]) < 4 * math.ceil(1.0 / 1e-3)


def test_early_stop_drops_samples_behind_an_opaque_surface():
    ball = Ball(sigma=200.0, r=0.5)
    o, d = _ray_down_z()
    full = render_rays(ball, o, d, torch.zeros(1, 3), RenderSettings(march_step=1e-3, early_stop=0.0))
    cut = render_rays(ball, o, d, torch.zeros(1, 3), RenderSettings(march_step=1e-3, early_stop=1e-4))
    # 500 samples of empty space before the ball, then ln(1e4) / (200 x 1e-3) = 46 inside it
    assert int(full["samples"]) == 2000 and 540 <= int(cut["samples"]) <= 550
    torch.testing.assert_close(cut["rgb"], full["rgb"], atol=2e-4, rtol=0)
