"""Volume rendering: hand-computed transmittance, NeuS alpha limits, pdf sampling, rays."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from meshcast.render.rays import pixel_rays, sphere_near_far, undistort
from meshcast.render.volrend import composite, density_alpha, neus_alpha, sample_pdf


def test_composite_hand_computed():
    alpha = torch.tensor([[0.5, 0.5, 1.0]])
    rgb = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]])
    out = composite(alpha, rgb, torch.tensor([[1.0, 1.0, 1.0]]), t=torch.tensor([[1.0, 2.0, 3.0]]))
    # weights 0.5, 0.25, 0.25; transmittance after all samples 0
    torch.testing.assert_close(out["weights"], torch.tensor([[0.5, 0.25, 0.25]]), atol=1e-5, rtol=0)
    torch.testing.assert_close(out["rgb"], torch.tensor([[0.5, 0.25, 0.25]]), atol=1e-5, rtol=0)
    assert out["depth"].item() == pytest.approx(0.5 * 1 + 0.25 * 2 + 0.25 * 3, abs=1e-5)


def test_background_shows_through_empty_space():
    out = composite(torch.zeros(2, 4), torch.rand(2, 4, 3), torch.tensor([[0.2, 0.4, 0.6]] * 2))
    torch.testing.assert_close(out["rgb"], torch.tensor([[0.2, 0.4, 0.6]] * 2))
    assert torch.all(out["opacity"] == 0)


def test_neus_alpha_opaque_at_a_sharp_surface_crossing():
    # a ray crossing a plane head-on: sdf goes from +d/2 to -d/2 across the section
    sdf = torch.tensor([0.0, 0.5])
    grad = torch.tensor([[0.0, 0, 1], [0, 0, 1]])
    dirs = torch.tensor([[0.0, 0, -1], [0, 0, -1]])
    a = neus_alpha(sdf, grad, dirs, torch.tensor([0.1, 0.1]), torch.tensor(1e4))
    assert a[0] == pytest.approx(1.0, abs=1e-3)  # the section that holds the surface
    assert a[1] == pytest.approx(0.0, abs=1e-3)  # far in front of it


def test_density_alpha():
    assert density_alpha(torch.tensor([np.log(2.0)]), torch.tensor([1.0])).item() == pytest.approx(0.5)


def test_sample_pdf_concentrates_on_the_heavy_bin():
    bins = torch.linspace(0, 1, 5)[None]
    weights = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    samples = sample_pdf(bins, weights, 64)
    assert ((samples >= 0.5) & (samples <= 0.75)).float().mean() > 0.95


def test_center_pixel_ray_looks_down_minus_z():
    K = torch.tensor([[100.0, 100.0, 50.0, 40.0]])
    c2w = torch.eye(4)[None]
    _, d = pixel_rays(torch.tensor([50.0]), torch.tensor([40.0]), K, c2w)
    torch.testing.assert_close(d, torch.tensor([[0.0, 0.0, -1.0]]))
    _, d = pixel_rays(torch.tensor([150.0]), torch.tensor([140.0]), K, c2w)  # right and below the centre
    assert d[0, 0] > 0 and d[0, 1] < 0


def test_undistort_inverts_the_distortion_model():
    k1, k2, p1, p2 = 0.05, -0.08, -0.001, 0.0002
    xu, yu = torch.tensor([0.3, -0.2]), torch.tensor([-0.1, 0.25])
    r2 = xu**2 + yu**2
    radial = 1 + k1 * r2 + k2 * r2**2
    xd = xu * radial + 2 * p1 * xu * yu + p2 * (r2 + 2 * xu**2)
    yd = yu * radial + p1 * (r2 + 2 * yu**2) + 2 * p2 * xu * yu
    x, y = undistort(xd, yd, torch.tensor([[k1, k2, p1, p2]] * 2))
    torch.testing.assert_close(x, xu, atol=1e-6, rtol=0)
    torch.testing.assert_close(y, yu, atol=1e-6, rtol=0)


def test_sphere_near_far():
    near, far, hit = sphere_near_far(torch.tensor([[0.0, 0, 3], [0, 2, 3]]), torch.tensor([[0.0, 0, -1], [0, 0, -1]]))
    assert hit.tolist() == [True, False]
    assert near[0].item() == pytest.approx(2.0) and far[0].item() == pytest.approx(4.0)


def test_cumsum_matmul_matches_cumsum_with_gradients():
    from meshcast.render.volrend import cumsum_matmul

    x = torch.rand(6, 9, dtype=torch.float32, requires_grad=True)
    ref = torch.cumsum(x, -1) - x
    out = cumsum_matmul(x, exclusive=True)
    torch.testing.assert_close(out, ref)
    g1 = torch.autograd.grad(out.square().sum(), x)[0]
    g2 = torch.autograd.grad(ref.square().sum(), x)[0]
    torch.testing.assert_close(g1, g2)
