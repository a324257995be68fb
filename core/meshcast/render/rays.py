"""Camera rays from pinhole intrinsics and OpenGL camera-to-world poses."""
from __future__ import annotations

import torch


def undistort(x: torch.Tensor, y: torch.Tensor, dist: torch.Tensor, iterations: int = 8):
    """Invert OpenCV radial-tangential distortion (k1 k2 p1 p2 rows of ``dist``, (N, 4)) on
    normalised image coordinates by fixed-point iteration."""
    k1, k2, p1, p2 = dist.unbind(-1)
    xu, yu = x, y
    for _ in range(iterations):
        r2 = xu * xu + yu * yu
        radial = 1 + k1 * r2 + k2 * r2 * r2
        dx = 2 * p1 * xu * yu + p2 * (r2 + 2 * xu * xu)
        dy = p1 * (r2 + 2 * yu * yu) + 2 * p2 * xu * yu
        xu = (x - dx) / radial
        yu = (y - dy) / radial
    return xu, yu


def pixel_rays(u: torch.Tensor, v: torch.Tensor, K: torch.Tensor, c2w: torch.Tensor,
               dist: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays through pixel positions.

    u, v: (N,) pixel coordinates (pixel centres at +0.5, origin top-left); K: (N, 4) rows of
    (fl_x, fl_y, cx, cy); c2w: (N, 4, 4) OpenGL camera-to-world (camera looks down -Z, +Y up).
    dist: optional (N, 4) OpenCV distortion (k1, k2, p1, p2) of the images, removed here.
    Returns origins (N, 3) and unit directions (N, 3) in the frame of ``c2w``.
    """
    x = (u - K[:, 2]) / K[:, 0]
    y = (v - K[:, 3]) / K[:, 1]  # OpenCV: +y down
    if dist is not None:
        x, y = undistort(x, y, dist)
    d_cam = torch.stack([x, -y, -torch.ones_like(x)], dim=-1)
    dirs = (c2w[:, :3, :3] @ d_cam[..., None])[..., 0]
    return c2w[:, :3, 3], torch.nn.functional.normalize(dirs, dim=-1)


def image_rays(K: tuple[float, float, float, float], c2w: torch.Tensor, w: int, h: int,
               dist: tuple[float, float, float, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All rays of a w x h image, row-major: origins, dirs (h * w, 3)."""
    v, u = torch.meshgrid(torch.arange(h, device=c2w.device), torch.arange(w, device=c2w.device), indexing="ij")
    u = u.reshape(-1).float() + 0.5
    v = v.reshape(-1).float() + 0.5
    n = u.shape[0]
    Ks = torch.tensor(K, device=c2w.device, dtype=torch.float32).expand(n, 4)
    d = None if dist is None or not any(dist) else torch.tensor(dist, device=c2w.device).expand(n, 4)
    return pixel_rays(u, v, Ks, c2w.float().expand(n, 4, 4), d)


def sphere_near_far(origins: torch.Tensor, dirs: torch.Tensor, radius: float = 1.0, min_near: float = 0.0):
    """Entry/exit distances of rays through the sphere |x| = radius; ``hit`` False on misses."""
    b = (origins * dirs).sum(-1)
    c = (origins * origins).sum(-1) - radius**2
    disc = b * b - c
    hit = disc > 0
    root = torch.sqrt(disc.clamp(min=0))
    near = (-b - root).clamp(min=min_near)
    far = (-b + root).clamp(min=min_near + 1e-4)
    hit = hit & (far > near)
    return near, far, hit
