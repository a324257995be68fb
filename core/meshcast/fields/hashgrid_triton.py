"""Multiresolution hash encoding in Triton: the same function as ``hashgrid.hash_encode``.

``hash_encode(x, table, resolution, dense)`` takes (N, 3) points in [0, 1]^3, tables (L, T, F)
and the per-level integer resolution and dense flag, and returns (N, L * F) features in the
table's dtype, exactly as the pure-PyTorch reference does (same corner order, same hash, same
trilinear weights computed in float32). The kernels:

* forward: one program encodes ``block`` samples at every level (a [block, L, F] tile), so each
  sample's output row is written by one program in one coalesced store;
* backward: the same corners again; the table gradient ``g * w`` is scattered either with
  atomic adds (``scatter="atomic"``, the default: one ``red.global.add.v2.f32`` per corner for
  two features on Hopper and newer, else Triton's per-element ``atomic_add``, which
  ``"atomic_scalar"`` forces) or by writing (row, value) pairs, sorting them by row and summing
  each run (``scatter="sort"``: one atomic per distinct row and block); the gradient to ``x``
  (NeuS' analytic normals) is accumulated in registers, no atomics.

Accumulation is in float32 for every table dtype; a float16 table gets its gradient from a
float32 buffer cast once at the end. The ``x`` gradient is float32, cast to ``x``'s dtype.

Second order (a backward called with ``create_graph=True``, e.g. NeuS' eikonal loss with
analytic gradients): the backward then differentiates the PyTorch reference instead of running
the kernels, so the gradient of the gradient is exact and autograd builds the graph it needs;
first-order calls (NeRF, NeuS with numerical gradients) take the kernels.

Integer arithmetic: for a power-of-two ``T`` (the only size ``HashGrid`` makes) indices are
computed in wrapping uint32 arithmetic, whose low bits equal the reference's int64 hash modulo
``T``; any other ``T`` uses int64 and ``%`` like the reference.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Literal

import torch

from meshcast.fields import hashgrid as reference

Scatter = Literal["atomic", "atomic_scalar", "sort"]
_TRITON = importlib.util.find_spec("triton") is not None

if _TRITON:
    import triton
    import triton.language as tl


def interpreting() -> bool:
    """Whether Triton runs its CPU interpreter (``TRITON_INTERPRET=1``, set before import)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def available(x: torch.Tensor | None = None, table: torch.Tensor | None = None) -> bool:
    """Whether these kernels can encode ``x`` with ``table``.

    Needs Triton, and tensors on a CUDA device (or any device under ``TRITON_INTERPRET=1``);
    ``x`` float32/float16/bfloat16 (the reference promotes float64 points to float64, the
    kernels would not) and a float32, float16 or bfloat16 table.
    """
    if not _TRITON:
        return False
    for t in (x, table):
        if t is not None and not (t.is_cuda or interpreting()):
            return False
    floats = (torch.float32, torch.float16, torch.bfloat16)
    return all(t is None or t.dtype in floats for t in (x, table))


if _TRITON:

    @triton.jit
    def _level_rows(ix, iy, iz, stride, dense, T, POW2: tl.constexpr):
        """Table rows (within a level) of integer corners; int32 [B, LP] for a power-of-two T."""
        if POW2:
            ux = ix.to(tl.uint32)
            uy = iy.to(tl.uint32)
            uz = iz.to(tl.uint32)
            us = stride.to(tl.uint32)
            hashed = ux ^ (uy * 2654435761) ^ (uz * 805459861)
            direct = ux + uy * us + uz * (us * us)
            rows = tl.where(dense, direct, hashed) & (T - 1).to(tl.uint32)
            return rows.to(tl.int32)
        else:
            lx = ix.to(tl.int64)
            ly = iy.to(tl.int64)
            lz = iz.to(tl.int64)
            ls = stride.to(tl.int64)
            hashed = lx ^ (ly * 2654435761) ^ (lz * 805459861)
            direct = lx + ly * ls + lz * (ls * ls)
            return (tl.where(dense, direct, hashed) % T).to(tl.int32)

    @triton.jit
    def _cell(x_ptr, n, nmask, resf, axis: tl.constexpr):
        """Integer cell and fraction along one axis: int32 [B, LP], float32 [B, LP]."""
        xs = tl.load(x_ptr + n * 3 + axis, mask=nmask, other=0.0).to(tl.float32)
        pos = xs[:, None] * resf[None, :]
        base = tl.floor(pos)
        return base.to(tl.int32), pos - base

    @triton.jit
    def _encode_fwd(x_ptr, table_ptr, res_ptr, dense_ptr, out_ptr, N, T,
                    L: tl.constexpr, LP: tl.constexpr, F: tl.constexpr, FP: tl.constexpr,
                    POW2: tl.constexpr, BIG: tl.constexpr, BLOCK: tl.constexpr):
        n = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        nmask = n < N
        lv = tl.arange(0, LP)
        fv = tl.arange(0, FP)
        res = tl.load(res_ptr + lv, mask=lv < L, other=1)
        dense = tl.load(dense_ptr + lv, mask=lv < L, other=0) != 0
        resf = res.to(tl.float32)
        stride = res + 1
        mask3 = nmask[:, None, None]
        if LP != L:
            mask3 = mask3 & (lv < L)[None, :, None]
        if FP != F:
            mask3 = mask3 & (fv < F)[None, None, :]
        ix, fx = _cell(x_ptr, n, nmask, resf, 0)
        iy, fy = _cell(x_ptr, n, nmask, resf, 1)
        iz, fz = _cell(x_ptr, n, nmask, resf, 2)
        if BIG:
            level_base = lv.to(tl.int64) * T
        else:
            level_base = lv * T
        acc = tl.zeros([BLOCK, LP, FP], dtype=tl.float32)
        for c in tl.static_range(8):
            cx: tl.constexpr = (c >> 2) & 1
            cy: tl.constexpr = (c >> 1) & 1
            cz: tl.constexpr = c & 1
            rows = _level_rows(ix + cx, iy + cy, iz + cz, stride[None, :], dense[None, :], T, POW2)
            wx = fx if cx else 1.0 - fx
            wy = fy if cy else 1.0 - fy
            wz = fz if cz else 1.0 - fz
            w = wx * wy * wz
            offs = (level_base[None, :] + rows) * F
            vals = tl.load(table_ptr + offs[:, :, None] + fv[None, None, :], mask=mask3, other=0.0)
            acc += vals.to(tl.float32) * w[:, :, None]
        out_offs = (n * (L * F))[:, None, None] + (lv * F)[None, :, None] + fv[None, None, :]
        tl.store(out_ptr + out_offs, acc.to(out_ptr.dtype.element_ty), mask=mask3)

    @triton.jit
    def _red_add_v2(ptr, a, b, on):
        """``*ptr += (a, b)`` as one vector reduction (sm_90 ``red.global.add.v2.f32``) where ``on``."""
        return tl.inline_asm_elementwise(
            "{ .reg .pred p; setp.ne.b32 p, $4, 0; @p red.relaxed.gpu.global.add.v2.f32 [$1], {$2, $3}; }"
            " mov.b32 $0, 0;",
            "=r,l,f,f,r", [ptr, a, b, on.to(tl.int32)], dtype=tl.int32, is_pure=False, pack=1)

    @triton.jit
    def _encode_bwd(x_ptr, table_ptr, res_ptr, dense_ptr, gout_ptr, gtable_ptr, gx_ptr, key_ptr, val_ptr,
                    N, T, L: tl.constexpr, LP: tl.constexpr, F: tl.constexpr, FP: tl.constexpr,
                    POW2: tl.constexpr, BIG: tl.constexpr, BLOCK: tl.constexpr,
                    TABLE_GRAD: tl.constexpr, SORT: tl.constexpr, X_GRAD: tl.constexpr, RED_V2: tl.constexpr):
        """Table gradient (atomics, or (key, value) pairs when SORT) and x gradient."""
        n = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        nmask = n < N
        lv = tl.arange(0, LP)
        fv = tl.arange(0, FP)
        res = tl.load(res_ptr + lv, mask=lv < L, other=1)
        dense = tl.load(dense_ptr + lv, mask=lv < L, other=0) != 0
        resf = res.to(tl.float32)
        stride = res + 1
        mask3 = nmask[:, None, None]
        mask2 = nmask[:, None]
        if LP != L:
            mask3 = mask3 & (lv < L)[None, :, None]
            mask2 = mask2 & (lv < L)[None, :]
        if FP != F:
            mask3 = mask3 & (fv < F)[None, None, :]
        ix, fx = _cell(x_ptr, n, nmask, resf, 0)
        iy, fy = _cell(x_ptr, n, nmask, resf, 1)
        iz, fz = _cell(x_ptr, n, nmask, resf, 2)
        if BIG:
            level_base = lv.to(tl.int64) * T
        else:
            level_base = lv * T
        out_offs = (n * (L * F))[:, None, None] + (lv * F)[None, :, None] + fv[None, None, :]
        g = tl.load(gout_ptr + out_offs, mask=mask3, other=0.0).to(tl.float32)
        gpx = tl.zeros([BLOCK, LP], dtype=tl.float32)
        gpy = tl.zeros([BLOCK, LP], dtype=tl.float32)
        gpz = tl.zeros([BLOCK, LP], dtype=tl.float32)
        for c in tl.static_range(8):
            cx: tl.constexpr = (c >> 2) & 1
            cy: tl.constexpr = (c >> 1) & 1
            cz: tl.constexpr = c & 1
            rows = _level_rows(ix + cx, iy + cy, iz + cz, stride[None, :], dense[None, :], T, POW2)
            wx = fx if cx else 1.0 - fx
            wy = fy if cy else 1.0 - fy
            wz = fz if cz else 1.0 - fz
            key = level_base[None, :] + rows
            offs = key[:, :, None] * F + fv[None, None, :]
            if TABLE_GRAD:
                gw = g * (wx * wy * wz)[:, :, None]
                if SORT:
                    pair = (lv[None, :] * 8 + c) * N + n[:, None]
                    tl.store(key_ptr + pair, key, mask=mask2)
                    tl.store(val_ptr + pair[:, :, None] * F + fv[None, None, :], gw, mask=mask3)
                elif RED_V2:
                    g0, g1 = tl.split(gw)
                    _red_add_v2(gtable_ptr + key * F, g0, g1, mask2)
                else:
                    tl.atomic_add(gtable_ptr + offs, gw, mask=mask3, sem="relaxed")
            if X_GRAD:
                vals = tl.load(table_ptr + offs, mask=mask3, other=0.0).to(tl.float32)
                gv = tl.sum(g * vals, axis=2)
                sx = 1.0 if cx else -1.0
                sy = 1.0 if cy else -1.0
                sz = 1.0 if cz else -1.0
                gpx += gv * (sx * (wy * wz))
                gpy += gv * (sy * (wx * wz))
                gpz += gv * (sz * (wx * wy))
        if X_GRAD:
            gxo = gx_ptr + n * 3
            tl.store(gxo + 0, tl.sum(gpx * resf[None, :], axis=1), mask=nmask)
            tl.store(gxo + 1, tl.sum(gpy * resf[None, :], axis=1), mask=nmask)
            tl.store(gxo + 2, tl.sum(gpz * resf[None, :], axis=1), mask=nmask)

    @triton.jit
    def _add_segments(a, fa, b, fb):
        """Segmented-sum combine: a run restarts where the right operand starts a segment."""
        return tl.where(fb != 0, b, a + b), fa | fb

    @triton.jit
    def _segment_sum(key_ptr, val_ptr, gtable_ptr, M, F: tl.constexpr, FP: tl.constexpr,
                     BLOCK: tl.constexpr):
        """Sum runs of equal sorted keys; one atomic add per run end (runs may span blocks)."""
        i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        fv = tl.arange(0, FP)
        m = i < M
        key = tl.load(key_ptr + i, mask=m, other=-1)
        prev = tl.load(key_ptr + i - 1, mask=m & (i > 0), other=-1)
        nxt = tl.load(key_ptr + i + 1, mask=(i + 1) < M, other=-1)
        m2 = m[:, None]
        if FP != F:
            m2 = m2 & (fv < F)[None, :]
        vals = tl.load(val_ptr + i[:, None] * F + fv[None, :], mask=m2, other=0.0)
        start = (key != prev).to(tl.int32)
        starts = tl.broadcast_to(start[:, None], [BLOCK, FP])
        sums, _ = tl.associative_scan((vals, starts), 0, _add_segments)
        last = (key != nxt) | (tl.arange(0, BLOCK) == BLOCK - 1)
        tl.atomic_add(gtable_ptr + key[:, None] * F + fv[None, :], sums, mask=m2 & last[:, None], sem="relaxed")


def _pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _launch_args(x: torch.Tensor, table: torch.Tensor, resolution: torch.Tensor, dense: torch.Tensor):
    levels, size, features = table.shape
    res32 = resolution.to(device=x.device, dtype=torch.int32).contiguous()
    dense32 = dense.to(device=x.device, dtype=torch.int32).contiguous()
    meta = {"L": levels, "LP": _pow2(levels), "F": features, "FP": _pow2(features),
            "POW2": size & (size - 1) == 0, "BIG": table.numel() >= 2**31 - 1}
    return res32, dense32, meta


def _vector_red_ok(device: torch.device, features: int) -> bool:
    """Vector float reductions exist from sm_90 on; the interpreter cannot run inline PTX."""
    return (features == 2 and device.type == "cuda" and not interpreting()
            and torch.cuda.get_device_capability(device) >= (9, 0))


def encode_forward(x: torch.Tensor, table: torch.Tensor, resolution: torch.Tensor, dense: torch.Tensor,
                   block: int = 32, num_warps: int = 4) -> torch.Tensor:
    """(N, 3) points, (L, T, F) tables -> (N, L * F) features in the table's dtype."""
    n = x.shape[0]
    levels, size, features = table.shape
    x = x.contiguous()
    table = table.contiguous()
    res32, dense32, meta = _launch_args(x, table, resolution, dense)
    out = torch.empty(n, levels * features, device=x.device, dtype=table.dtype)
    if n:
        _encode_fwd[(triton.cdiv(n, block),)](x, table, res32, dense32, out, n, size, BLOCK=block,
                                              num_warps=num_warps, **meta)
    return out


def encode_backward(x: torch.Tensor, table: torch.Tensor, resolution: torch.Tensor, dense: torch.Tensor,
                    grad_out: torch.Tensor, x_grad: bool = True, table_grad: bool = True,
                    scatter: Scatter = "atomic", block: int = 32, num_warps: int = 4,
                    vector_red: bool | None = None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Gradients (d x (N, 3) in x's dtype, d table (L, T, F) in the table's dtype) of <grad_out, out>.

    ``vector_red``: scatter each corner's two features with one ``red.global.add.v2.f32`` (inline
    PTX, Hopper and newer, F == 2) instead of Triton's per-element atomics; None picks it where
    it applies.
    """
    n = x.shape[0]
    levels, size, features = table.shape
    x = x.contiguous()
    table = table.contiguous()
    grad_out = grad_out.contiguous()
    res32, dense32, meta = _launch_args(x, table, resolution, dense)
    gtable = torch.zeros(table.shape, device=x.device, dtype=torch.float32) if table_grad else None
    gx = torch.empty(n, 3, device=x.device, dtype=torch.float32) if x_grad else None
    sort = table_grad and scatter == "sort"
    if vector_red is None:
        vector_red = scatter == "atomic" and _vector_red_ok(x.device, features)
    keys = vals = None
    if sort:
        keys = torch.empty(levels * 8 * n, device=x.device, dtype=torch.int64 if meta["BIG"] else torch.int32)
        vals = torch.empty(levels * 8 * n, features, device=x.device, dtype=torch.float32)
    dummy = table
    if n and (table_grad or x_grad):
        _encode_bwd[(triton.cdiv(n, block),)](
            x, table, res32, dense32, grad_out,
            gtable if gtable is not None else dummy, gx if gx is not None else dummy,
            keys if keys is not None else dummy, vals if vals is not None else dummy,
            n, size, BLOCK=block, TABLE_GRAD=table_grad, SORT=sort, X_GRAD=x_grad, RED_V2=vector_red,
            num_warps=num_warps, **meta)
    if sort and keys is not None and vals is not None and gtable is not None and n:
        keys, order = torch.sort(keys)
        vals = vals[order]
        seg_block = 1024
        _segment_sum[(triton.cdiv(keys.numel(), seg_block),)](
            keys, vals, gtable, keys.numel(), F=features, FP=meta["FP"], BLOCK=seg_block, num_warps=4)
    if gtable is not None and gtable.dtype != table.dtype:
        gtable = gtable.to(table.dtype)
    if gx is not None and gx.dtype != x.dtype:
        gx = gx.to(x.dtype)
    return gx, gtable


class HashEncode(torch.autograd.Function):
    """Autograd wrapper: Triton forward and first-order backward; reference for second order."""

    @staticmethod
    def forward(ctx, x, table, resolution, dense, scatter):
        ctx.save_for_backward(x, table, resolution, dense)
        ctx.scatter = scatter
        return encode_forward(x, table, resolution, dense)

    @staticmethod
    def backward(ctx, grad_out):
        x, table, resolution, dense = ctx.saved_tensors
        need_x, need_table = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if torch.is_grad_enabled():
            # create_graph=True: differentiate the reference so the result is itself differentiable
            inputs = [t for t, need in ((x, need_x), (table, need_table)) if need]
            with torch.enable_grad():
                out = reference.hash_encode(x, table, resolution, dense)
                grads = list(torch.autograd.grad(out, inputs, grad_out, create_graph=True))
            gx = grads.pop(0) if need_x else None
            gtable = grads.pop(0) if need_table else None
            return gx, gtable, None, None, None
        gx, gtable = encode_backward(x, table, resolution, dense, grad_out, x_grad=need_x,
                                     table_grad=need_table, scatter=ctx.scatter)
        return gx, gtable, None, None, None


def hash_encode(x: torch.Tensor, table: torch.Tensor, resolution: torch.Tensor, dense: torch.Tensor,
                scatter: Scatter = "atomic") -> torch.Tensor:
    """Encode (N, 3) points in [0, 1]^3 with tables (L, T, F) -> (N, L * F) features (Triton)."""
    return HashEncode.apply(x, table, resolution, dense, scatter)
