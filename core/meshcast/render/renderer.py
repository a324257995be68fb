"""Rendering rays through a field: NeuS (SDF) and NeRF (density), with an occupancy grid and
an optional background field beyond the unit sphere. Coordinates are in the unit frame."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from meshcast.render.march import composite_packed, march, transmittance, use_kernels
from meshcast.render.occupancy import OccupancyGrid
from meshcast.render.rays import sphere_near_far
from meshcast.render.volrend import composite, density_alpha, neus_alpha, sample_pdf


@dataclass(frozen=True)
class RenderSettings:
    samples: int = 64  # uniform samples per ray inside the unit sphere
    importance: int = 32  # extra samples drawn from the coarse weights (SDF only)
    background_samples: int = 16  # samples beyond the sphere when a background field exists
    cos_anneal: float = 1.0
    stratified: bool = True
    march_step: float = 0.0  # > 0: density fields march with this step through the occupancy grid
    early_stop: float = 1e-4  # marching: drop samples once the light reaching them is below this
    kernels: str = "auto"  # marching and compositing: "auto" (Triton on CUDA), "torch" or "triton"


def _uniform(near: torch.Tensor, far: torch.Tensor, n: int, stratified: bool) -> torch.Tensor:
    steps = torch.linspace(0.0, 1.0, n + 1, device=near.device)[None]
    if stratified:
        offsets = torch.rand(near.shape[0], n + 1, device=near.device) / n
        steps = (steps + offsets).clamp(max=1.0)
        steps, _ = torch.sort(steps, dim=-1)
    return near[:, None] + (far - near)[:, None] * steps  # (R, n + 1) interval bounds


@torch.no_grad()
def _upsample_sdf(field, origins, dirs, bounds: torch.Tensor, n: int) -> torch.Tensor:
    """NeuS importance sampling: weights from the coarse SDF with a fixed sharpness."""
    mids = 0.5 * (bounds[:, 1:] + bounds[:, :-1])
    pts = origins[:, None] + dirs[:, None] * mids[..., None]
    sdf = field.geometry(pts.reshape(-1, 3)).reshape(mids.shape)
    # section alpha from the SDF at the bounds, without gradients (as in NeuS' up-sampling)
    sdf_b = torch.cat([sdf[:, :1], 0.5 * (sdf[:, 1:] + sdf[:, :-1]), sdf[:, -1:]], 1)
    cdf = torch.sigmoid(sdf_b * 64.0)
    alpha = ((cdf[:, :-1] - cdf[:, 1:] + 1e-5) / (cdf[:, :-1] + 1e-5)).clamp(0, 1)
    weights = composite(alpha, torch.zeros(*alpha.shape, 3, device=alpha.device))["weights"]
    new = sample_pdf(bounds, weights, n, deterministic=not torch.is_grad_enabled())
    return torch.sort(torch.cat([bounds, new], -1), -1)[0]


def render_rays(field, origins: torch.Tensor, dirs: torch.Tensor, background: torch.Tensor,
                settings: RenderSettings, occupancy: OccupancyGrid | None = None,
                background_field=None, train: bool = False) -> dict[str, torch.Tensor]:
    """Render (R,) rays in the unit frame. background: (R, 3) colour behind everything (used
    when there is no background field). Returns rgb (R, 3), opacity (R,), depth (R,) along the
    ray, and for SDF fields ``gradients``/``laplacian`` of the shaded samples (for the
    eikonal and curvature losses)."""
    if field.kind == "density" and settings.march_step > 0:
        return render_marched(field, origins, dirs, background, settings, occupancy, background_field, train)
    near, far, hit = sphere_near_far(origins, dirs)
    near = torch.where(hit, near, torch.zeros_like(near))
    far = torch.where(hit, far, torch.full_like(far, 1e-3))
    bounds = _uniform(near, far, settings.samples, settings.stratified and train)
    if field.kind == "sdf" and settings.importance > 0:
        bounds = _upsample_sdf(field, origins, dirs, bounds, settings.importance)
    mids = 0.5 * (bounds[:, 1:] + bounds[:, :-1])
    dists = bounds[:, 1:] - bounds[:, :-1]
    R, S = mids.shape
    pts = (origins[:, None] + dirs[:, None] * mids[..., None]).reshape(-1, 3)
    ray_dirs = dirs[:, None].expand(R, S, 3).reshape(-1, 3)
    keep = hit[:, None].expand(R, S).reshape(-1)
    if occupancy is not None:
        keep = keep & occupancy.query(pts)
    idx = keep.nonzero()[:, 0]
    alpha = torch.zeros(R * S, device=pts.device)
    rgb = torch.zeros(R * S, 3, device=pts.device)
    out: dict[str, torch.Tensor] = {}
    if idx.numel() > 0:
        x, d = pts[idx], ray_dirs[idx]
        if field.kind == "sdf":
            sdf, feature, grad, laplacian = field.gradient(x, create_graph=train)
            normals = F.normalize(grad, dim=-1)
            a = neus_alpha(sdf, grad, d, dists.reshape(-1)[idx], field.inv_s, settings.cos_anneal)
            out["gradients"] = grad
            if laplacian is not None:
                out["laplacian"] = laplacian
        else:
            density, feature = field.forward_geometry(x)
            normals = torch.zeros_like(x)
            a = density_alpha(density, dists.reshape(-1)[idx])
        alpha = alpha.index_put((idx,), a.float())  # autocast may have produced bf16
        rgb = rgb.index_put((idx,), field.radiance(x, normals, d, feature).float())
    bg = background
    if background_field is not None:
        bg = render_background(background_field, origins, dirs, far, settings.background_samples)
    result = composite(alpha.reshape(R, S), rgb.reshape(R, S, 3), bg, mids)
    out.update(rgb=result["rgb"], opacity=result["opacity"], depth=result["depth"], samples=torch.tensor(idx.numel()))
    return out


def render_marched(field, origins: torch.Tensor, dirs: torch.Tensor, background: torch.Tensor,
                   settings: RenderSettings, occupancy: OccupancyGrid | None = None, background_field=None,
                   train: bool = False) -> dict[str, torch.Tensor]:
    """NeRF rendering with a fixed step through the occupied cells (``march``), Instant-NGP style.

    With ``early_stop`` > 0 a first pass without gradients evaluates the density of every marched
    sample and drops those behind an opaque surface (transmittance below ``early_stop``); the
    second pass, with gradients, shades only the samples that remain."""
    step = settings.march_step
    kernels = use_kernels(settings.kernels, origins)
    ray, t = march(origins, dirs, step, occupancy, jitter=settings.stratified and train, kernels=kernels)
    if settings.early_stop > 0 and ray.numel() > 0:
        with torch.no_grad():
            density = field.geometry(origins[ray] + dirs[ray] * t[:, None]).float()
            light = transmittance(ray, density * step, origins.shape[0], kernels)
            alive = (light > settings.early_stop).nonzero()[:, 0]
            ray, t = ray[alive], t[alive]  # one synchronisation for both
    x, d = origins[ray] + dirs[ray] * t[:, None], dirs[ray]
    if ray.numel() > 0:
        density, feature = field.forward_geometry(x)
        rgb = field.radiance(x, torch.zeros_like(x), d, feature)
    else:  # keep the graph connected so that backward() works on an empty batch
        density = sum(p.sum() for p in field.parameters()) * 0.0 + torch.zeros(0, device=x.device)
        rgb = torch.zeros(0, 3, device=x.device)
    bg = background
    if background_field is not None:
        _, far, _ = sphere_near_far(origins, dirs)
        bg = render_background(background_field, origins, dirs, far, settings.background_samples)
    result = composite_packed(ray, density.float() * step, rgb, t, origins.shape[0], bg, kernels=kernels)
    return {"rgb": result["rgb"], "opacity": result["opacity"], "depth": result["depth"],
            "samples": torch.tensor(ray.numel())}


def render_background(bg_field, origins, dirs, far, n: int) -> torch.Tensor:
    """Colour of everything beyond the unit sphere (inverted-sphere parametrisation): samples
    uniform in inverse distance 1/r from 1 (the sphere) to 0 (infinity)."""
    R = origins.shape[0]
    inv_r = torch.linspace(1.0, 1.0 / 64.0, n, device=origins.device)[None].expand(R, n)
    # distance along the ray to reach radius r from the exit point (approximate with r - 1)
    t = far[:, None] + (1.0 / inv_r - 1.0)
    pts = origins[:, None] + dirs[:, None] * t[..., None]
    r = pts.norm(dim=-1, keepdim=True).clamp(min=1.0)
    x_inv = torch.cat([pts / r, 1.0 / r], -1).reshape(-1, 4)
    density, rgb = bg_field(x_inv, dirs[:, None].expand(R, n, 3).reshape(-1, 3))
    dists = torch.cat([t[:, 1:] - t[:, :-1], torch.full_like(t[:, :1], 1e3)], -1)
    alpha = density_alpha(density.reshape(R, n), dists)
    alpha = torch.cat([alpha[:, :-1], torch.ones_like(alpha[:, -1:])], -1)  # opaque at infinity
    return composite(alpha, rgb.reshape(R, n, 3))["rgb"]
