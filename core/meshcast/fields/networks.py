"""The SDF field (NeuS/Neuralangelo), the density field (NeRF) and the background model.

All take points in the unit frame (the region's bounding sphere is the unit sphere).
"""
from __future__ import annotations

import itertools
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from meshcast.fields.config import HashGridConfig, MLPConfig
from meshcast.fields.hashgrid import HashGrid


def mlp(n_in: int, n_out: int, config: MLPConfig, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    dims = [n_in] + [config.hidden] * config.layers
    mods: list[nn.Module] = []
    for a, b in itertools.pairwise(dims):
        mods += [nn.Linear(a, b), activation()]
    mods.append(nn.Linear(dims[-1], n_out))
    return nn.Sequential(*mods)


def to_grid(x: torch.Tensor) -> torch.Tensor:
    """Unit-frame points ([-1, 1]^3) -> hash-grid coordinates ([0, 1]^3)."""
    return (x + 1.0) * 0.5


class SDFField(nn.Module):
    """Hash features + MLP -> signed distance and a geometry feature; a colour MLP on top.

    Geometric initialisation (Atzmon & Lipman) makes the initial SDF ~ |x| - init_radius, with
    the hash-feature inputs of the first layer set to zero so the grid starts neutral.
    """

    kind: Literal["sdf"] = "sdf"

    def __init__(self, grid: HashGridConfig, geometry: MLPConfig, color: MLPConfig,
                 feature_dim: int = 15, init_radius: float = 0.5):
        super().__init__()
        self.encoding = HashGrid(grid)
        n_in = 3 + self.encoding.output_dim
        self.sdf_net = mlp(n_in, 1 + feature_dim, geometry, activation=lambda: nn.Softplus(beta=100))
        self.color_net = mlp(3 + 3 + 3 + feature_dim, 3, color)
        self.variance = nn.Parameter(torch.tensor(0.3))  # inv_s = exp(10 * variance)
        self._geometric_init(init_radius)
        self.numerical_eps: float | None = None  # finite-difference step (None: analytic gradient)

    def _geometric_init(self, radius: float) -> None:
        linears = [m for m in self.sdf_net if isinstance(m, nn.Linear)]
        for i, layer in enumerate(linears):
            out_dim, in_dim = layer.weight.shape
            if i == len(linears) - 1:
                nn.init.normal_(layer.weight, mean=math.sqrt(math.pi) / math.sqrt(in_dim), std=1e-4)
                nn.init.constant_(layer.bias, -radius)
            else:
                nn.init.normal_(layer.weight, 0.0, math.sqrt(2) / math.sqrt(out_dim))
                nn.init.constant_(layer.bias, 0.0)
                if i == 0:
                    nn.init.constant_(layer.weight[:, 3:], 0.0)

    def forward_geometry(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3) -> sdf (N,), feature (N, feature_dim)."""
        h = self.sdf_net(torch.cat([x, self.encoding(to_grid(x))], dim=-1))
        return h[:, 0], h[:, 1:]

    def geometry(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_geometry(x)[0]

    def gradient(self, x: torch.Tensor, create_graph: bool):
        """sdf (N,), feature, gradient (N, 3), laplacian (N,) or None.

        Analytic (autograd) by default; central differences with step ``numerical_eps`` when it
        is set (Neuralangelo's numerical gradients), which also give the laplacian used by the
        curvature loss."""
        if self.numerical_eps is not None:
            sdf, feature = self.forward_geometry(x)
            eps = self.numerical_eps
            offsets = torch.eye(3, device=x.device, dtype=x.dtype) * eps
            pts = torch.cat([x[:, None] + offsets[None], x[:, None] - offsets[None]], 1).reshape(-1, 3)
            vals = self.geometry(pts).reshape(-1, 2, 3)
            grad = (vals[:, 0] - vals[:, 1]) / (2 * eps)
            laplacian = (vals.sum(1) - 2 * sdf[:, None]).sum(-1) / (eps * eps)
            return sdf, feature, grad, laplacian
        with torch.enable_grad():
            x = x if x.requires_grad else x.detach().requires_grad_(True)
            sdf, feature = self.forward_geometry(x)
            grad = torch.autograd.grad(sdf.sum(), x, create_graph=create_graph)[0]
        return sdf, feature, grad, None

    def normals(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.gradient(x, create_graph=False)[2], dim=-1)

    def radiance(self, x, normals, view_dirs, feature) -> torch.Tensor:
        return torch.sigmoid(self.color_net(torch.cat([x, normals, view_dirs, feature], dim=-1)))

    def color(self, x: torch.Tensor, normals: torch.Tensor, view_dirs: torch.Tensor) -> torch.Tensor:
        _, feature = self.forward_geometry(x)
        return self.radiance(x, normals, view_dirs, feature)

    @property
    def inv_s(self) -> torch.Tensor:
        return torch.exp(self.variance * 10.0).clamp(1e-6, 1e6)


# Real spherical harmonics of bands 0-3 as polynomials of a unit direction (x, y, z): for each of
# the 16 outputs, (coefficient, monomial) terms; "" is the constant, "xxy" is x * x * y.
_C0, _C1, _C2, _C3, _C4 = 0.28209479177387814, 0.4886025119029199, 1.0925484305920792, 0.31539156525252005, 0.5462742152960396
_C5, _C6, _C7, _C8, _C9 = 0.5900435899266435, 2.890611442640554, 0.4570457994644658, 0.3731763325901154, 1.445305721320277
SH_TERMS = (
    ((_C0, ""),), ((-_C1, "y"),), ((_C1, "z"),), ((-_C1, "x"),),
    ((_C2, "xy"),), ((-_C2, "yz"),), ((2 * _C3, "zz"), (-_C3, "xx"), (-_C3, "yy")), ((-_C2, "xz"),),
    ((_C4, "xx"), (-_C4, "yy")),
    ((-3 * _C5, "xxy"), (_C5, "yyy")), ((_C6, "xyz"),), ((-4 * _C7, "yzz"), (_C7, "xxy"), (_C7, "yyy")),
    ((2 * _C8, "zzz"), (-3 * _C8, "xxz"), (-3 * _C8, "yyz")), ((-4 * _C7, "xzz"), (_C7, "xxx"), (_C7, "xyy")),
    ((_C9, "xxz"), (-_C9, "yyz")), ((-_C5, "xxx"), (3 * _C5, "xyy")),
)


def _sh_matrix() -> torch.Tensor:
    """(64, 16): the harmonics as a linear map of the 64 products v_i v_j v_k, v = (1, x, y, z)."""
    matrix = torch.zeros(64, 16, dtype=torch.float64)
    for out, terms in enumerate(SH_TERMS):
        for coefficient, monomial in terms:
            i, j, k = ("1xyz".index(c) for c in monomial.ljust(3, "1"))
            matrix[i * 16 + j * 4 + k, out] += coefficient
    return matrix.float()


SH_MATRIX = _sh_matrix()


def spherical_harmonics(d: torch.Tensor) -> torch.Tensor:
    """Real spherical harmonics of bands 0-3 (16 values) of unit directions (N, 3), the view
    encoding of Instant-NGP's NeRF: smooth in the direction, so specular colour generalises
    to views between the training cameras. Computed as the degree-3 monomials times a constant
    matrix: five kernels instead of the ~45 element-wise ones of the formulas term by term."""
    v = torch.cat([torch.ones_like(d[:, :1]), d], dim=1)
    m = (v[:, :, None, None] * v[:, None, :, None] * v[:, None, None, :]).reshape(-1, 64)
    return m @ SH_MATRIX.to(device=d.device, dtype=m.dtype)


VIEW_ENCODINGS = {"direction": (3, lambda d: d), "sh4": (16, spherical_harmonics)}


class DensityField(nn.Module):
    """Hash features -> density (exp activation) and a feature; colour from feature + view
    (the direction itself, or its spherical harmonics: ``view_encoding``)."""

    kind: Literal["density"] = "density"

    def __init__(self, grid: HashGridConfig, geometry: MLPConfig, color: MLPConfig, feature_dim: int = 15,
                 view_encoding: Literal["direction", "sh4"] = "direction"):
        super().__init__()
        self.encoding = HashGrid(grid)
        self.density_net = mlp(self.encoding.output_dim, 1 + feature_dim, geometry)
        view_dim, self.encode_view = VIEW_ENCODINGS[view_encoding]
        self.color_net = mlp(feature_dim + view_dim, 3, color)

    def forward_geometry(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.density_net(self.encoding(to_grid(x)))
        density = torch.exp(h[:, 0].clamp(max=15.0) - 1.0)
        return density, h[:, 1:]

    def geometry(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_geometry(x)[0]

    def normals(self, x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            grad = torch.autograd.grad(self.geometry(x).sum(), x)[0]
        return F.normalize(-grad, dim=-1)

    def radiance(self, x, normals, view_dirs, feature) -> torch.Tensor:
        view = self.encode_view(view_dirs).to(feature.dtype)
        return torch.sigmoid(self.color_net(torch.cat([feature, view], dim=-1)))

    def color(self, x: torch.Tensor, normals: torch.Tensor, view_dirs: torch.Tensor) -> torch.Tensor:
        _, feature = self.forward_geometry(x)
        return self.radiance(x, normals, view_dirs, feature)


def frequency_encode(x: torch.Tensor, bands: int) -> torch.Tensor:
    freqs = 2.0 ** torch.arange(bands, device=x.device, dtype=x.dtype) * math.pi
    angles = x[..., None] * freqs
    return torch.cat([x, torch.sin(angles).flatten(-2), torch.cos(angles).flatten(-2)], dim=-1)


class BackgroundField(nn.Module):
    """Everything outside the unit sphere, for real captures: an inverted-sphere (NeRF++) field.

    A point outside at distance r is represented by (x / r, 1 / r) in the unit ball; a small MLP
    with frequency encoding gives density and colour, rendered along the ray beyond the sphere.
    """

    def __init__(self, hidden: int = 64, bands: int = 6):
        super().__init__()
        self.bands = bands
        n_in = 4 + 8 * bands
        self.net = mlp(n_in, 1 + 16, MLPConfig(hidden=hidden, layers=2))
        self.rgb = mlp(16 + 3 + 6 * 2, 3, MLPConfig(hidden=hidden // 2, layers=1))

    def forward(self, x_inv: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_inv (N, 4) = (x/r, 1/r); dirs (N, 3) -> density (N,), rgb (N, 3)."""
        h = self.net(frequency_encode(x_inv, self.bands))
        density = F.softplus(h[:, 0] - 1.0)
        rgb = torch.sigmoid(self.rgb(torch.cat([h[:, 1:], frequency_encode(dirs, 2)], -1)))
        return density, rgb
