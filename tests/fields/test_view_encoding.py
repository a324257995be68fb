"""The spherical-harmonics view encoding against the real harmonics written term by term."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from meshcast.fields.networks import spherical_harmonics


def harmonics_by_formula(d: torch.Tensor) -> torch.Tensor:
    """Real spherical harmonics of bands 0-3 in the sign convention of Instant-NGP's SH encoding,
    written out term by term in float64 (the reference the matrix form is checked against)."""
    x, y, z = d.double().unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    return torch.stack([
        torch.full_like(x, 0.5 / (torch.pi ** 0.5)),
        -(3 / (4 * torch.pi)) ** 0.5 * y, (3 / (4 * torch.pi)) ** 0.5 * z, -(3 / (4 * torch.pi)) ** 0.5 * x,
        0.5 * (15 / torch.pi) ** 0.5 * x * y, -0.5 * (15 / torch.pi) ** 0.5 * y * z,
        0.25 * (5 / torch.pi) ** 0.5 * (2 * zz - xx - yy), -0.5 * (15 / torch.pi) ** 0.5 * x * z,
        0.25 * (15 / torch.pi) ** 0.5 * (xx - yy),
        -0.25 * (35 / (2 * torch.pi)) ** 0.5 * y * (3 * xx - yy), 0.5 * (105 / torch.pi) ** 0.5 * x * y * z,
        -0.25 * (21 / (2 * torch.pi)) ** 0.5 * y * (4 * zz - xx - yy),
        0.25 * (7 / torch.pi) ** 0.5 * z * (2 * zz - 3 * xx - 3 * yy),
        -0.25 * (21 / (2 * torch.pi)) ** 0.5 * x * (4 * zz - xx - yy), 0.25 * (105 / torch.pi) ** 0.5 * z * (xx - yy),
        -0.25 * (35 / (2 * torch.pi)) ** 0.5 * x * (xx - 3 * yy),
    ], -1)


def test_matrix_form_matches_the_formulas():
    d = F.normalize(torch.randn(1000, 3, generator=torch.Generator().manual_seed(0)), dim=-1)
    torch.testing.assert_close(spherical_harmonics(d).double(), harmonics_by_formula(d), atol=2e-6, rtol=0)


def test_harmonics_are_orthonormal_on_the_sphere():
    # Monte Carlo over uniform directions: the integral of Y_i Y_j over the sphere is delta_ij
    d = F.normalize(torch.randn(400_000, 3, generator=torch.Generator().manual_seed(1)), dim=-1)
    sh = spherical_harmonics(d).double()
    gram = sh.T @ sh / len(d) * 4 * torch.pi
    torch.testing.assert_close(gram, torch.eye(16, dtype=torch.float64), atol=0.02, rtol=0)
