"""Volume rendering math as plain functions (shapes in docstrings)."""
from __future__ import annotations

import torch


def cumsum_last(x: torch.Tensor, exclusive: bool = False) -> torch.Tensor:
    """Cumulative sum over the last dimension of (R, S), optionally exclusive.

    On CUDA this is a float32 matmul with a triangular matrix of ones: the scan kernels
    (cumsum/cumprod over the innermost dimension) measured ~100 ms per call on an H100 for a
    (4096, 97) tensor inside the NeuS step (benchmarks/RESULTS.md), the matmul well under 1 ms.
    """
    if not x.is_cuda:
        out = torch.cumsum(x, dim=-1)
        return out - x if exclusive else out
    return cumsum_matmul(x, exclusive)


def cumsum_matmul(x: torch.Tensor, exclusive: bool = False) -> torch.Tensor:
    """The matmul form of ``cumsum_last`` (any device; float32)."""
    n = x.shape[-1]
    tri = torch.triu(torch.ones(n, n, device=x.device, dtype=torch.float32), diagonal=1 if exclusive else 0)
    with torch.autocast(x.device.type, enabled=False):
        return x.float() @ tri


def composite(alpha: torch.Tensor, rgb: torch.Tensor, background: torch.Tensor | None = None,
              t: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Front-to-back compositing.

    alpha (R, S) opacities in [0, 1]; rgb (R, S, 3); background (R, 3) or None; t (R, S) sample
    distances for the depth. weights_i = alpha_i * prod_{j<i} (1 - alpha_j).
    Returns rgb (R, 3), opacity (R,), depth (R,) (0 where empty), weights (R, S).
    """
    trans = torch.exp(cumsum_last(torch.log(1.0 - alpha + 1e-7), exclusive=True))
    weights = alpha * trans
    opacity = weights.sum(1)
    color = (weights[..., None] * rgb).sum(1)
    if background is not None:
        color = color + (1.0 - opacity)[:, None] * background
    depth = (weights * t).sum(1) if t is not None else torch.zeros_like(opacity)
    return {"rgb": color, "opacity": opacity, "depth": depth, "weights": weights}


def neus_alpha(sdf: torch.Tensor, gradients: torch.Tensor, dirs: torch.Tensor, dists: torch.Tensor,
               inv_s: torch.Tensor, cos_anneal: float = 1.0) -> torch.Tensor:
    """NeuS opacity of each section.

    sdf (N,) at section midpoints, gradients (N, 3), dirs (N, 3) unit ray directions, dists (N,)
    section lengths, inv_s scalar sharpness. The SDF at the section ends is extrapolated with the
    directional derivative; alpha = clamp((Phi(prev) - Phi(next)) / Phi(prev), 0, 1) with
    Phi = sigmoid(sdf * inv_s). ``cos_anneal`` < 1 early in training keeps gradients alive on
    surfaces seen from behind.
    """
    true_cos = (dirs * gradients).sum(-1)
    iter_cos = -(torch.relu(-true_cos * 0.5 + 0.5) * (1.0 - cos_anneal) + torch.relu(-true_cos) * cos_anneal)
    prev_sdf = sdf - iter_cos * dists * 0.5
    next_sdf = sdf + iter_cos * dists * 0.5
    prev_cdf = torch.sigmoid(prev_sdf * inv_s)
    next_cdf = torch.sigmoid(next_sdf * inv_s)
    return ((prev_cdf - next_cdf + 1e-5) / (prev_cdf + 1e-5)).clamp(0.0, 1.0)


def density_alpha(density: torch.Tensor, dists: torch.Tensor) -> torch.Tensor:
    """NeRF opacity 1 - exp(-sigma * delta) of (N,) samples."""
    return 1.0 - torch.exp(-density * dists)


def sample_pdf(bins: torch.Tensor, weights: torch.Tensor, n: int, deterministic: bool = False) -> torch.Tensor:
    """Draw ``n`` distances per ray from the piecewise-constant pdf ``weights`` (R, B) on
    ``bins`` (R, B + 1) by inverse transform sampling -> (R, n)."""
    weights = weights + 1e-5
    pdf = weights / weights.sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), cumsum_last(pdf)], -1).clamp(max=1.0)
    if deterministic:
        u = torch.linspace(0.0, 1.0, n, device=bins.device).expand(cdf.shape[0], n).contiguous()
    else:
        u = torch.rand(cdf.shape[0], n, device=bins.device)
    idx = torch.searchsorted(cdf, u, right=True)
    below = (idx - 1).clamp(min=0)
    above = idx.clamp(max=cdf.shape[-1] - 1)
    cdf_lo, cdf_hi = cdf.gather(1, below), cdf.gather(1, above)
    bin_lo, bin_hi = bins.gather(1, below), bins.gather(1, above)
    denom = torch.where(cdf_hi - cdf_lo < 1e-5, torch.ones_like(cdf_lo), cdf_hi - cdf_lo)
    return bin_lo + (u - cdf_lo) / denom * (bin_hi - bin_lo)
