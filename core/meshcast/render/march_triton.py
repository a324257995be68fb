"""Ray marching and packed compositing in Triton: the same functions as ``march.march`` and
``march.composite_packed``, in a few kernel launches instead of a few dozen PyTorch operations.

In a NeRF training step the work per sample is small (a hash lookup, two tiny MLPs), so the step
is bound by the number of operations launched and by host-device synchronisations, not by
arithmetic (``benchmarks/profile_step.py``: 18 ms per step with the device busy for 12 of them).

* ``march``: one program per block of rays walks every ray's fixed steps through the unit
  sphere and tests each in the occupancy grid; a first launch counts each ray's kept samples, a
  cumulative sum gives every ray its offset in the packed list (the one synchronisation: its
  length), a second launch writes (ray, t). Same sample positions as the PyTorch reference up to
  float rounding (the kernel may fuse a multiply-add), so a sample exactly on a cell border can
  land in the other cell: tests allow for that and nothing else.
* ``composite``: one lane per ray accumulates its samples front to back (transmittance as a
  running product of exp(-tau), no scan); the backward walks the samples again and gets
  d/d tau_i from the final colour minus the colour accumulated so far (Instant-NGP's form):
  d C / d tau_i = T_(i+1) c_i - (C - sum_(k<=i) w_k c_k), likewise for opacity and depth.

Packed tensors as in ``march``: samples ordered by ray and then by distance.
"""
from __future__ import annotations

import importlib.util
import math
import os

import torch

_TRITON = importlib.util.find_spec("triton") is not None
INTERPRETED = _TRITON and os.environ.get("TRITON_INTERPRET", "0") == "1"

if _TRITON:
    import triton
    import triton.language as tl


def available(*tensors: torch.Tensor) -> bool:
    """Triton is installed and the tensors are on CUDA (or Triton runs in its CPU interpreter)."""
    return _TRITON and all(t.is_cuda or INTERPRETED for t in tensors)


BLOCK = 128

if _TRITON:

    @triton.jit
    def _march_kernel(o_ptr, d_ptr, off_ptr, occ_ptr, start_ptr, count_ptr, ray_out, t_out,
                      R, step, res, n_steps, WRITE: tl.constexpr, OCC: tl.constexpr, BLOCK: tl.constexpr):
        rays = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        rmask = rays < R
        ox, oy, oz = _load3(o_ptr, rays, rmask)
        dx, dy, dz = _load3(d_ptr, rays, rmask)
        # the unit sphere along the ray, as rays.sphere_near_far; a miss gets far < near: no steps
        b = ox * dx + oy * dy + oz * dz
        disc = b * b - (ox * ox + oy * oy + oz * oz - 1.0)
        root = tl.sqrt(tl.maximum(disc, 0.0))
        near = tl.maximum(-b - root, 0.0)
        far = tl.maximum(-b + root, 1e-4)
        far = tl.where((disc > 0) & (far > near), far, -1.0)
        off = tl.load(off_ptr + rays, mask=rmask, other=0.0)
        if WRITE:
            slot = tl.load(start_ptr + rays, mask=rmask, other=0)
        else:
            slot = tl.zeros([BLOCK], dtype=tl.int64)
        for k in range(n_steps):
            t = near + (k + off) * step
            alive = rmask & (t < far)
            if OCC:
                px = tl.minimum(tl.maximum(ox + dx * t, -1.0), 1.0 - 1e-6)
                py = tl.minimum(tl.maximum(oy + dy * t, -1.0), 1.0 - 1e-6)
                pz = tl.minimum(tl.maximum(oz + dz * t, -1.0), 1.0 - 1e-6)
                ix = ((px + 1.0) * 0.5 * res).to(tl.int32)
                iy = ((py + 1.0) * 0.5 * res).to(tl.int32)
                iz = ((pz + 1.0) * 0.5 * res).to(tl.int32)
                cell = (ix * res + iy) * res + iz
                alive = alive & (tl.load(occ_ptr + cell, mask=alive, other=0) != 0)
            if WRITE:
                tl.store(ray_out + slot, rays.to(tl.int64), mask=alive)
                tl.store(t_out + slot, t, mask=alive)
            slot += alive.to(tl.int64)
        if not WRITE:
            tl.store(count_ptr + rays, slot, mask=rmask)

    @triton.jit
    def _segment(start_ptr, count_ptr, R, BLOCK: tl.constexpr):
        """This program's rays, which exist, and where their samples start and how many there are."""
        rays = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        rmask = rays < R
        start = tl.load(start_ptr + rays, mask=rmask, other=0)
        count = tl.load(count_ptr + rays, mask=rmask, other=0)
        return rays, rmask, start, count

    @triton.jit
    def _load3(ptr, idx, mask):
        return (tl.load(ptr + idx * 3, mask=mask, other=0.0), tl.load(ptr + idx * 3 + 1, mask=mask, other=0.0),
                tl.load(ptr + idx * 3 + 2, mask=mask, other=0.0))

    @triton.jit
    def _store3(ptr, idx, a, b, c, mask):
        tl.store(ptr + idx * 3, a, mask=mask)
        tl.store(ptr + idx * 3 + 1, b, mask=mask)
        tl.store(ptr + idx * 3 + 2, c, mask=mask)

    @triton.jit
    def _sample(tau_ptr, rgb_ptr, t_ptr, start, count, k):
        """The k-th sample of each ray: index, whether it exists, tau, colour, distance."""
        m = k < count
        i = start + k
        r, g, b = _load3(rgb_ptr, i, m)
        return i, m, tl.load(tau_ptr + i, mask=m, other=0.0), r, g, b, tl.load(t_ptr + i, mask=m, other=0.0)

    @triton.jit
    def _front_to_back(trans, cr, cg, cb, op, dp, tau, r, g, b, ts):
        """One compositing step (the forward and the backward share it, so that the backward
        recomputes exactly the forward's sums): the sample's weight and the updated light and sums."""
        after = tl.exp(-tau)
        w = trans * (1.0 - after)
        return w, trans * after, cr + w * r, cg + w * g, cb + w * b, op + w, dp + w * ts

    @triton.jit
    def _no_light_yet(BLOCK: tl.constexpr):
        """The state ``_front_to_back`` starts a ray from: all light passes, the sums are zero."""
        zero = tl.zeros([BLOCK], tl.float32)
        return zero + 1.0, zero, zero, zero, zero, zero

    @triton.jit
    def _composite_fwd(start_ptr, count_ptr, tau_ptr, rgb_ptr, t_ptr, color_ptr, opacity_ptr, depth_ptr, R,
                       BLOCK: tl.constexpr):
        rays, rmask, start, count = _segment(start_ptr, count_ptr, R, BLOCK)
        trans, cr, cg, cb, op, dp = _no_light_yet(BLOCK)
        for k in range(tl.max(count, 0)):
            _, _, tau, r, g, b, ts = _sample(tau_ptr, rgb_ptr, t_ptr, start, count, k)
            _, trans, cr, cg, cb, op, dp = _front_to_back(trans, cr, cg, cb, op, dp, tau, r, g, b, ts)
        _store3(color_ptr, rays, cr, cg, cb, rmask)
        tl.store(opacity_ptr + rays, op, mask=rmask)
        tl.store(depth_ptr + rays, dp, mask=rmask)

    @triton.jit
    def _composite_bwd(start_ptr, count_ptr, tau_ptr, rgb_ptr, t_ptr, color_ptr, opacity_ptr, depth_ptr,
                       gcolor_ptr, gopacity_ptr, gdepth_ptr, gtau_ptr, grgb_ptr, R, BLOCK: tl.constexpr):
        rays, rmask, start, count = _segment(start_ptr, count_ptr, R, BLOCK)
        fr, fg, fb = _load3(color_ptr, rays, rmask)
        fo = tl.load(opacity_ptr + rays, mask=rmask, other=0.0)
        fd = tl.load(depth_ptr + rays, mask=rmask, other=0.0)
        gr, gg, gb = _load3(gcolor_ptr, rays, rmask)
        go = tl.load(gopacity_ptr + rays, mask=rmask, other=0.0)
        gd = tl.load(gdepth_ptr + rays, mask=rmask, other=0.0)
        trans, cr, cg, cb, op, dp = _no_light_yet(BLOCK)
        for k in range(tl.max(count, 0)):
            i, m, tau, r, g, b, ts = _sample(tau_ptr, rgb_ptr, t_ptr, start, count, k)
            # after this, trans is the light that passes the sample and the sums include it
            w, trans, cr, cg, cb, op, dp = _front_to_back(trans, cr, cg, cb, op, dp, tau, r, g, b, ts)
            gtau = gr * (trans * r - (fr - cr)) + gg * (trans * g - (fg - cg)) + gb * (trans * b - (fb - cb))
            gtau += go * (trans - (fo - op)) + gd * (trans * ts - (fd - dp))
            tl.store(gtau_ptr + i, gtau, mask=m)
            _store3(grgb_ptr, i, w * gr, w * gg, w * gb, m)


if _TRITON:

    @triton.jit
    def _transmittance_kernel(start_ptr, count_ptr, tau_ptr, out_ptr, R, BLOCK: tl.constexpr):
        _, _, start, count = _segment(start_ptr, count_ptr, R, BLOCK)
        trans = tl.full([BLOCK], 1.0, tl.float32)
        for k in range(tl.max(count, 0)):
            m = k < count
            tl.store(out_ptr + start + k, trans, mask=m)
            trans = trans * tl.exp(-tl.load(tau_ptr + start + k, mask=m, other=0.0))


def _blocks(n: int) -> tuple[int]:
    return (max(1, triton.cdiv(n, BLOCK)),)


def march(origins: torch.Tensor, dirs: torch.Tensor, offset: torch.Tensor, step: float,
          occupied: torch.Tensor | None, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Packed (ray, t) of the samples ``near + (k + offset) * step < far`` (per ray, near and far
    where it enters and leaves the unit sphere) that lie in occupied cells of the flat (res^3,)
    ``occupied`` grid (None: every cell)."""
    R, device = origins.shape[0], origins.device
    n_steps = math.ceil(2.0 / step)  # the longest chord of the unit sphere, as in march.march
    o, d = origins.float().contiguous(), dirs.float().contiguous()
    offset = offset.float().contiguous()
    occ = occupied.to(torch.uint8).contiguous() if occupied is not None else torch.ones(1, dtype=torch.uint8, device=device)
    count = torch.empty(R, dtype=torch.int64, device=device)
    empty_i, empty_f = torch.empty(0, dtype=torch.int64, device=device), torch.empty(0, device=device)
    args = (o, d, offset, occ)
    _march_kernel[_blocks(R)](*args, count, count, empty_i, empty_f, R, step, resolution, n_steps,
                              WRITE=False, OCC=occupied is not None, BLOCK=BLOCK)
    ends = torch.cumsum(count, 0)
    total = int(ends[-1]) if R else 0
    ray, t = torch.empty(total, dtype=torch.int64, device=device), torch.empty(total, device=device)
    if total:
        _march_kernel[_blocks(R)](*args, ends - count, count, ray, t, R, step, resolution, n_steps,
                                  WRITE=True, OCC=occupied is not None, BLOCK=BLOCK)
    return ray, t


def segments(ray: torch.Tensor, n_rays: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First index and length of each ray's samples in a packed list (no synchronisation)."""
    count = torch.bincount(ray, minlength=n_rays)
    return torch.cumsum(count, 0) - count, count


class CompositePacked(torch.autograd.Function):
    @staticmethod
    def forward(ctx, start, count, tau, rgb, t):
        R = start.shape[0]
        tau, rgb, t = tau.float().contiguous(), rgb.float().contiguous(), t.float().contiguous()
        color = torch.empty(R, 3, device=tau.device)
        opacity, depth = torch.empty(R, device=tau.device), torch.empty(R, device=tau.device)
        if R:
            _composite_fwd[_blocks(R)](start, count, tau, rgb, t, color, opacity, depth, R, BLOCK=BLOCK)
        ctx.save_for_backward(start, count, tau, rgb, t, color, opacity, depth)
        return color, opacity, depth

    @staticmethod
    def backward(ctx, gcolor, gopacity, gdepth):
        start, count, tau, rgb, t, color, opacity, depth = ctx.saved_tensors
        R = start.shape[0]
        gtau, grgb = torch.zeros_like(tau), torch.zeros_like(rgb)
        zeros = torch.zeros(R, device=tau.device)
        gcolor = gcolor.float().contiguous() if gcolor is not None else torch.zeros(R, 3, device=tau.device)
        gopacity = gopacity.float().contiguous() if gopacity is not None else zeros
        gdepth = gdepth.float().contiguous() if gdepth is not None else zeros
        if R:
            _composite_bwd[_blocks(R)](start, count, tau, rgb, t, color, opacity, depth, gcolor, gopacity, gdepth,
                                       gtau, grgb, R, BLOCK=BLOCK)
        return None, None, gtau, grgb, None


def composite(ray: torch.Tensor, tau: torch.Tensor, rgb: torch.Tensor, t: torch.Tensor,
              n_rays: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Colour (R, 3), opacity (R,) and depth (R,) of packed samples (no background)."""
    start, count = segments(ray, n_rays)
    return CompositePacked.apply(start, count, tau, rgb, t)


def transmittance(ray: torch.Tensor, tau: torch.Tensor, n_rays: int) -> torch.Tensor:
    """Light reaching each packed sample (no gradient): as ``march.transmittance``."""
    start, count = segments(ray, n_rays)
    out = torch.empty(tau.shape[0], device=tau.device)
    if n_rays:
        _transmittance_kernel[_blocks(n_rays)](start, count, tau.detach().float().contiguous(), out, n_rays, BLOCK=BLOCK)
    return out
