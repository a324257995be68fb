"""Ray marching through the occupancy grid with a fixed step, and compositing of the packed samples.

Instead of a fixed number of samples per ray (``renderer._uniform``), every ray takes the same
step length and keeps only the samples that fall into occupied cells; the kept samples of all
rays are one flat ("packed") list, ordered by ray and then by distance. Rays through empty space
then cost nothing and rays through the object get a fine step, which is what Instant-NGP's
NeRF does; the marching here is vectorised PyTorch (no custom kernel), so it runs on a CPU too.

Packed tensors: ``ray`` (N,) int64, non-decreasing; per-sample values (N,) or (N, C).
"""
from __future__ import annotations

import importlib.util
import math
from typing import Literal

import torch

from meshcast.errors import MissingDependencyError, UsageError
from meshcast.render.occupancy import OccupancyGrid
from meshcast.render.rays import sphere_near_far


def use_kernels(backend: Literal["auto", "torch", "triton"], x: torch.Tensor) -> bool:
    """Whether marching and compositing of rays on ``x``'s device run the Triton kernels
    (``march_triton``): "auto" takes them on CUDA when Triton is installed."""
    from meshcast.render import march_triton

    if backend == "torch":
        return False
    if backend == "auto":
        return x.is_cuda and march_triton.available(x)
    if not march_triton.available(x):
        if importlib.util.find_spec("triton") is None:
            raise MissingDependencyError("triton", "triton", "the Triton ray-marching kernels (render backend 'triton')")
        raise UsageError(f"the Triton ray-marching kernels cannot run on {x.device}",
                         hint="they need CUDA (or TRITON_INTERPRET=1 for tests); use --model.render-backend auto or torch")
    return True


def march(origins: torch.Tensor, dirs: torch.Tensor, step: float, occupancy: OccupancyGrid | None,
          jitter: bool, chunk: int = 1 << 24, kernels: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample positions of (R,) rays inside the unit sphere every ``step`` (unit frame), kept where
    the occupancy grid is occupied. ``jitter`` shifts each ray's samples by a random fraction of
    the step (training); otherwise samples sit at the middle of their step. ``kernels``: the
    Triton kernels (``march_triton.march``) instead of this PyTorch reference.

    Returns the packed ``ray`` (N,) and distances ``t`` (N,) of the sample midpoints.
    """
    R = origins.shape[0]
    offset = torch.rand(R, device=origins.device) if jitter else torch.full((R,), 0.5, device=origins.device)
    if kernels:
        from meshcast.render import march_triton

        return march_triton.march(origins, dirs, offset, step, occupancy.occupied if occupancy is not None else None,
                                  occupancy.resolution if occupancy is not None else 1)
    near, far, hit = sphere_near_far(origins, dirs)
    n_steps = math.ceil(2.0 / step)  # the longest chord of the unit sphere
    rays_per_chunk = max(1, chunk // n_steps)
    out_ray, out_t = [], []
    k = torch.arange(n_steps, device=origins.device, dtype=torch.float32)
    for lo in range(0, R, rays_per_chunk):
        hi = min(R, lo + rays_per_chunk)
        t = near[lo:hi, None] + (k[None] + offset[lo:hi, None]) * step
        keep = (t < far[lo:hi, None]) & hit[lo:hi, None]
        ray, idx = keep.nonzero(as_tuple=True)
        tk = t[ray, idx]
        if occupancy is not None:
            inside = occupancy.query(origins[lo:hi][ray] + dirs[lo:hi][ray] * tk[:, None])
            ray, tk = ray[inside], tk[inside]
        out_ray.append(ray + lo)
        out_t.append(tk)
    return torch.cat(out_ray), torch.cat(out_t)


def exclusive_segment_sum(ray: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """For packed (N,) values ``x``: the sum of the earlier values of the same ray (0 for each
    ray's first sample). One float64 cumulative sum over all samples (so that subtracting a ray's
    start does not cancel digits), differentiable."""
    if ray.numel() == 0:
        return x
    total = torch.cumsum(x.double(), 0)
    before = total - x.double()
    first = torch.ones_like(ray, dtype=torch.bool)
    first[1:] = ray[1:] != ray[:-1]
    segment = torch.cumsum(first.long(), 0) - 1
    return (before - before[first][segment]).to(x.dtype)


def transmittance(ray: torch.Tensor, tau: torch.Tensor, n_rays: int = 0, kernels: bool = False) -> torch.Tensor:
    """Light reaching each packed sample: exp(- optical thickness of the samples before it).
    ``kernels``: the Triton kernel (``march_triton.transmittance``, for ``n_rays`` rays, without
    gradient) instead of this differentiable PyTorch reference."""
    if kernels:
        from meshcast.render import march_triton

        return march_triton.transmittance(ray, tau, n_rays)
    return torch.exp(-exclusive_segment_sum(ray, tau))


def packed_weights(ray: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """Compositing weight of each packed sample: the light reaching it times its opacity."""
    tau = tau.float()
    return transmittance(ray, tau) * -torch.expm1(-tau)


def composite_packed(ray: torch.Tensor, tau: torch.Tensor, rgb: torch.Tensor, t: torch.Tensor, n_rays: int,
                     background: torch.Tensor | None = None, kernels: bool = False) -> dict[str, torch.Tensor]:
    """Front-to-back compositing of packed samples with optical thickness ``tau`` = density x
    length (N,), colours (N, 3), distances t (N,). Same outputs as ``volrend.composite`` for
    (n_rays,) rays: rgb (R, 3), opacity (R,), depth (R,). ``kernels``: the Triton kernels
    (``march_triton.composite``) instead of this PyTorch reference."""
    if kernels:
        from meshcast.render import march_triton

        color, opacity, depth = march_triton.composite(ray, tau, rgb, t, n_rays)
    else:
        weights = packed_weights(ray, tau)
        zeros = torch.zeros(n_rays, device=tau.device, dtype=torch.float32)
        opacity = zeros.index_add(0, ray, weights)
        color = torch.zeros(n_rays, 3, device=tau.device).index_add(0, ray, weights[:, None] * rgb.float())
        depth = zeros.index_add(0, ray, weights * t)
    if background is not None:
        color = color + (1.0 - opacity)[:, None] * background
    return {"rgb": color, "opacity": opacity, "depth": depth}
