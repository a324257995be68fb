"""Multiresolution hash encoding in Triton: the same function as ``hashgrid.hash_encode``.

``hash_encode(x, table, levels)`` takes (N, 3) points in [0, 1]^3, the levels' one (rows, F) table
and the per-level constants (``hashgrid.Levels``: scale, vertices per axis, rows used, hashed or
not, first row), and
returns (N, L * F) features in the table's dtype, exactly as the pure-PyTorch reference does (same
corner order, same hash, same trilinear weights computed in float32). The kernels:

* forward: both features of a corner in one 8-byte load (two float32, or two 16-bit values in
  4 bytes), outputs stored as packed pairs. With two features every sample takes two rows of the
  program's [2 * block, levels] tile, one per x offset of its corners, so the two x-neighbour
  rows of a corner pair are loaded by lanes of one instruction; the hash puts them in the same
  32-byte sector 3 times in 4 and the memory system then serves both at once. On an H100 the
  forward took 0.195 instead of 0.266 ms for uniform points and 0.135 instead of 0.154 ms for
  points along rays (``FORWARD_LAUNCH["pair_rows"]`` off: the one-row layout; with today's
  launch settings 0.088 against 0.124 ms on rays). The same layout in the backward measured no
  faster than the in-thread 16-byte pairs below, and was dropped;
* the forward's level groups run two at a time, the finest with the coarsest and then the middle
  two (``FORWARD_LAUNCH["interleave"]``; consecutive programs take both groups of one sample
  block): the coarse groups are limited by instructions and the fine ones by L2, and together they
  share the SMs. On an H200 the forward took 0.0743 instead of 0.0786 ms on rays; all four groups
  at once took 0.088 ms;
* backward: the same corners again; the table gradient ``g * w`` is scattered either with
  atomic adds or by writing (row, value) pairs, sorting them by row and summing each run
  (``scatter="sort"``: one atomic per distinct row and block, measured slower). ``"runs"``
  (the default launched one by one) first sums, inside a block, the gradients of consecutive
  samples that fall in the same cell of a level (samples along a ray do at the coarse levels;
  a segmented scan) and adds each run once: on an H100 the backward took 0.26 instead of 0.39 ms for points along rays and
  the same time for uniform points (benchmarks/RESULTS.md; 0.22 ms with today's launch
  settings). The additions are atomics, for two
  features on Hopper and newer (inline PTX): the two x-neighbour corners merged into one 16-byte
  ``red.global.add.v4.f32`` where their rows share an aligned pair (half the time), else one
  8-byte ``red.global.add.v2.f32`` per corner (``"atomic"`` without the runs; ``"atomic_v2"``
  always one per corner); elsewhere, and with ``"atomic_scalar"``, Triton's per-element
  ``atomic_add``. The gradient to ``x`` (NeuS' analytic normals) is accumulated in registers.
  The backward's tiles are [levels, samples] (``BACKWARD_LAUNCH["transposed"]``), so the 32
  samples of a block lie along the lanes of one warp and the run scan (all 8 corners x 2
  features in one scan) needs no shared memory; with the x gradient this measured 8% faster,
  with the table gradient alone the same. Where the backward is limited on points along rays:
  its fine level groups by the number of L2 reductions (11.8 ps each on an H100, the probe's
  rate), its coarse groups by instructions (benchmarks/backward_parts.py);
* ``"walk"`` (the default while a CUDA graph is captured, ``resolve_scatter``; table gradient
  alone, two features): each thread follows CHUNK consecutive samples at one level and keeps
  the sums of its cell's 8 vertices in registers, by vertex parity; a vertex the next sample's
  cell shares (same cell, or a neighbour across a face, edge or corner) keeps its sum, the
  others are added: a quarter fewer reductions on rays than the runs. Level groups go in
  separate launches (``WALK_LAUNCH["launches"]``), each launch's gradient rows zeroed shortly
  before it, so they are in L2 when the sums arrive: the first launch's by the forward's
  programs of the coarsest level group (limited by instructions, so their stores come almost
  free), each later launch's by the launch before once its programs are done (on an H200:
  0.2253-0.2258 ms per step against 0.2283-0.2295 with a memset before each launch; on an
  H100, without the forward's share, the memsets had been faster). The two coarse groups share
  one launch with 32 samples per thread: they are limited by each thread's chain of steps, not
  by reductions, and together they fill the GPU in one wave; the fine groups go one by one (in
  one launch they evict each other's rows from L2). On an H100 the step took 0.267 ms on rays
  (0.276 with a launch per group, 0.300 with the runs), the same as the runs on uniform points;
  0.265 against 0.268 ms measured in alternation after the table became one (rows, F) tensor
  (the memsets clear 27% fewer rows: 19 against 25 us; the forward is ~4 us slower, about half
  of it the packed levels' addresses; dropping one of its level-constant loads changed nothing
  on an H200);
  benchmarks/RESULTS.md has what else was tried (other groupings, zeroing by the launch before,
  memsets beside a launch on a second stream, fewer registers, an index per launch for all-dense
  or all-hashed levels). The launches cost the host ~0.2 ms launched one by one, more than the
  GPU saves, hence "auto". On sm_90 and newer the walk's launches start as programmatic
  dependents of the kernel before (``WALK_LAUNCH["pdl"]``, Triton's ``launch_pdl``): the first
  waits (``griddepcontrol.wait``) at its start, for its d out and zeroed rows, and then lets the
  next launch start; a later launch loads its first point and d out, written long before, then
  waits for the launch before to finish its sums and zeroing. The launch gaps overlap the tails:
  on an H200 0.2210-0.2215 against 0.2247-0.2249 ms per step (the forward letting the first walk
  launch start early, ``FORWARD_LAUNCH["pdl"]``, gave nothing more). A walk of the forward
  (loading only the rows of new vertices) measured 0.142 against 0.089 ms: a thread's steps wait on each other's loads, and the tiles
  already merge the loads of shared rows (history: commit ffa3d0b);
* the table gradient's float32 buffer is zeroed by the forward kernel when the table needs a
  gradient (``ZERO_IN_FORWARD``; for the walk only its first launch's rows), instead of a memset
  before the backward: 1-2% of a step. The forward's level groups run two at a time
  (``FORWARD_LAUNCH["interleave"]``), with or without the zeroing.
  Kernels zero on the side only with at least ``ZERO_MIN_WARPS`` warps to share it: a batch of
  1024 points has 8 walk programs, which would each zero 2 MiB alone; smaller batches memset;
* programs take ``block`` samples times a group of levels; sample blocks vary fastest, so the
  tables (and gradients) of one level group stay in L2 while every sample visits them. A
  backward launch never has more threads than tile elements (``backward_warps``): Triton would
  give an element to two threads, and the inline-PTX reductions would add it twice.

Accumulation is in float32 for every table dtype; a float16 table gets its gradient from a
float32 buffer cast once at the end. The ``x`` gradient is float32, cast to ``x``'s dtype.

Second order (a backward called with ``create_graph=True``, e.g. NeuS' eikonal loss with
analytic gradients): the backward is itself a differentiable function (``HashEncodeBackward``)
whose backward runs a third kernel: each corner weight differentiated along d loss / d (x
gradient) gives the gradients to the tables and to the incoming d out. The second derivative
with respect to ``x`` is not computed (None): NeuS differentiates with respect to a fresh leaf
``x`` that carries no parameters, so every parameter's gradient is exact.

Integer arithmetic: for a power-of-two ``T``, the rows of every hashed level (the only size
``HashGrid`` makes; ``LevelLayout.hash_rows``), indices are
computed in wrapping uint32 arithmetic (tiny-cuda-nn's): a hashed level uses all ``T`` rows, so the
hash modulo ``T`` is its low bits; a dense level's direct index is below twice its row count (the
0.5 offset can push a corner one vertex past the grid), so one conditional subtraction is its
modulo. Any other ``T`` uses int64 and ``%`` like the reference.
"""
from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import weakref
from typing import Literal, NamedTuple

import torch

from meshcast.fields import hashgrid as reference

Scatter = Literal["atomic", "atomic_v2", "atomic_scalar", "sort", "runs", "walk", "auto"]
# what hash_encode uses unless told; MESHCAST_TRITON_SCATTER picks another for a whole process
# (benchmarks compare them through training runs that way)
DEFAULT_SCATTER: Scatter = "auto"
if os.environ.get("MESHCAST_TRITON_SCATTER"):
    if os.environ["MESHCAST_TRITON_SCATTER"] not in Scatter.__args__:
        raise ValueError(f"MESHCAST_TRITON_SCATTER={os.environ['MESHCAST_TRITON_SCATTER']!r}: "
                         f"use one of {', '.join(Scatter.__args__)}")
    DEFAULT_SCATTER = os.environ["MESHCAST_TRITON_SCATTER"]  # type: ignore[assignment]
_TRITON = importlib.util.find_spec("triton") is not None

if _TRITON:
    import triton
    import triton.language as tl


# Triton decides at decoration (this module's import) whether kernels run in its CPU interpreter
INTERPRETED = _TRITON and os.environ.get("TRITON_INTERPRET", "0") == "1"


def interpreting() -> bool:
    """Whether this module's kernels run in Triton's CPU interpreter (TRITON_INTERPRET=1 at import)."""
    return INTERPRETED


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
    def _per_sample(v, TR: tl.constexpr):
        """A per-sample vector as a tile axis: [B, 1], or [1, B] in the transposed tile (TR)."""
        if TR:
            return v[None, :]
        else:
            return v[:, None]

    @triton.jit
    def _per_level(v, TR: tl.constexpr):
        """A per-level vector as a tile axis: [1, LG], or [LG, 1] in the transposed tile (TR)."""
        if TR:
            return v[:, None]
        else:
            return v[None, :]

    @triton.jit
    def _level_rows(ix, iy, iz, stride, size, hashed, T, POW2: tl.constexpr):
        """Table rows (within a level) of integer corners: int32 [B, LG]. ``stride``: vertices per
        axis, ``size``: rows the level uses, ``hashed``: whether it hashes ([1, LG] each)."""
        if POW2:
            ux = ix.to(tl.uint32)
            uy = iy.to(tl.uint32)
            uz = iz.to(tl.uint32)
            us = stride.to(tl.uint32)
            usize = size.to(tl.uint32)
            spatial = (ux ^ (uy * 2654435761) ^ (uz * 805459861)) & (T - 1).to(tl.uint32)
            direct = ux + uy * us + uz * (us * us)
            direct = tl.where(direct >= usize, direct - usize, direct)
            return tl.where(hashed, spatial, direct).to(tl.int32)
        else:
            lx = ix.to(tl.int64)
            ly = iy.to(tl.int64)
            lz = iz.to(tl.int64)
            ls = stride.to(tl.int64)
            spatial = (lx ^ (ly * 2654435761) ^ (lz * 805459861)) & 0xFFFFFFFF
            direct = lx + ly * ls + lz * (ls * ls)
            return (tl.where(hashed, spatial, direct) % size.to(tl.int64)).to(tl.int32)

    @triton.jit
    def _cell(x_ptr, n, nmask, scale, axis: tl.constexpr, EVICT: tl.constexpr, TR: tl.constexpr = False):
        """Integer cell and fraction along one axis: int32 [B, LG], float32 [B, LG] ([LG, B]: TR)."""
        xs = tl.load(x_ptr + n * 3 + axis, mask=nmask, other=0.0, eviction_policy=EVICT).to(tl.float32)
        return _cell_of(xs, scale, TR)

    @triton.jit
    def _cell_of(xs, scale, TR: tl.constexpr = False):
        """``_cell`` of loaded coordinates xs [B] at levels scale [LG]."""
        pos = _per_sample(xs, TR) * _per_level(scale, TR) + 0.5
        base = tl.floor(pos)
        return base.to(tl.int32), pos - base

    @triton.jit
    def _same_cell(x_ptr, other, omask, scale, ix, iy, iz, EVICT: tl.constexpr, TR: tl.constexpr):
        """Whether sample ``other`` (where ``omask``) lies in the same cell as (ix, iy, iz) at each
        level: bool [B, LG] ([LG, B]: TR)."""
        ox, _ = _cell(x_ptr, other, omask, scale, 0, EVICT, TR)
        oy, _ = _cell(x_ptr, other, omask, scale, 1, EVICT, TR)
        oz, _ = _cell(x_ptr, other, omask, scale, 2, EVICT, TR)
        return _per_sample(omask, TR) & (ox == ix) & (oy == iy) & (oz == iz)

    @triton.jit
    def _unpack2(word, ELEM: tl.constexpr):
        """Two float32 features from one packed word (float32 pairs in int64, 16-bit pairs in int32)."""
        if ELEM == 0:
            lo = word.to(tl.uint32).to(tl.float32, bitcast=True)
            hi = (word >> 32).to(tl.uint32).to(tl.float32, bitcast=True)
        elif ELEM == 1:
            lo = word.to(tl.uint16).to(tl.float16, bitcast=True).to(tl.float32)
            hi = (word >> 16).to(tl.uint16).to(tl.float16, bitcast=True).to(tl.float32)
        else:
            lo = word.to(tl.uint16).to(tl.bfloat16, bitcast=True).to(tl.float32)
            hi = (word >> 16).to(tl.uint16).to(tl.bfloat16, bitcast=True).to(tl.float32)
        return lo, hi

    @triton.jit
    def _pack2(lo, hi, ELEM: tl.constexpr):
        """The inverse of ``_unpack2``: two float32 values rounded to the element type, one word."""
        if ELEM == 0:
            a = lo.to(tl.uint32, bitcast=True).to(tl.uint64)
            b = hi.to(tl.uint32, bitcast=True).to(tl.uint64)
            return (a | (b << 32)).to(tl.int64, bitcast=True)
        else:
            if ELEM == 1:
                a = lo.to(tl.float16).to(tl.uint16, bitcast=True).to(tl.uint32)
                b = hi.to(tl.float16).to(tl.uint16, bitcast=True).to(tl.uint32)
            else:
                a = lo.to(tl.bfloat16).to(tl.uint16, bitcast=True).to(tl.uint32)
                b = hi.to(tl.bfloat16).to(tl.uint16, bitcast=True).to(tl.uint32)
            return (a | (b << 16)).to(tl.int32, bitcast=True)

    @triton.jit
    def _block_group(L: tl.constexpr, LG: tl.constexpr, ORDER: tl.constexpr, K: tl.constexpr):
        """This program's sample block and level group: program_id(0) and (1), or with K > 0 from a
        one-dimensional grid in which K level groups run interleaved (consecutive programs take
        the K groups of one sample block), the groups in the order of ORDER's 4-bit digits."""
        if K == 0:
            return tl.program_id(0), tl.program_id(1)
        else:
            G: tl.constexpr = (L + LG - 1) // LG
            pid = tl.program_id(0)
            span = (tl.num_programs(0) // G) * K
            slot = (pid // span) * K + pid % K
            return (pid % span) // K, (ORDER >> (slot * 4)) & 15

    @triton.jit
    def _setup(x_ptr, level_ptr, scale_ptr, T, N, L: tl.constexpr, LG: tl.constexpr, BIG: tl.constexpr,
               BLOCK: tl.constexpr, EVICT: tl.constexpr, REP: tl.constexpr = 1, TR: tl.constexpr = False,
               ORDER: tl.constexpr = 0, K: tl.constexpr = 0):
        """This program's samples and levels (program_id(1)'s group of LG, or ``_block_group``'s), the level constants
        (scale; vertices per axis, rows, hashed as [1, LG]) and each level's cell: [BLOCK, LG] tiles.
        ``level_ptr``: int32 (L, 4) rows of (vertices per axis, rows used, hashed, first row). REP > 1: every
        sample on REP consecutive tile rows ([BLOCK * REP, LG] tiles). TR: [LG, BLOCK] tiles, samples
        along the second axis (the lanes of a warp)."""
        bid, gid = _block_group(L, LG, ORDER, K)
        n = bid * BLOCK + tl.arange(0, BLOCK * REP) // REP
        nmask = n < N
        lv = gid * LG + tl.arange(0, LG)
        scale = tl.load(scale_ptr + lv, mask=lv < L, other=1.0)
        stride = _per_level(tl.load(level_ptr + lv * 4, mask=lv < L, other=2), TR)
        size = _per_level(tl.load(level_ptr + lv * 4 + 1, mask=lv < L, other=8), TR)
        hashed = _per_level(tl.load(level_ptr + lv * 4 + 2, mask=lv < L, other=0) != 0, TR)
        mask2 = _per_sample(nmask, TR)
        if L % LG != 0:
            mask2 = mask2 & _per_level(lv < L, TR)
        ix, fx = _cell(x_ptr, n, nmask, scale, 0, EVICT, TR)
        iy, fy = _cell(x_ptr, n, nmask, scale, 1, EVICT, TR)
        iz, fz = _cell(x_ptr, n, nmask, scale, 2, EVICT, TR)
        level_base = tl.load(level_ptr + lv * 4 + 3, mask=lv < L, other=0)
        if BIG:
            level_base = level_base.to(tl.int64)
        return n, nmask, lv, mask2, scale, (stride, size, hashed), ix, iy, iz, fx, fy, fz, level_base

    @triton.jit
    def _fwd_rows(x_ptr, table_ptr, level_ptr, scale_ptr, out_ptr, N, T, L: tl.constexpr, LG: tl.constexpr,
                  ELEM: tl.constexpr, POW2: tl.constexpr, BIG: tl.constexpr, BLOCK: tl.constexpr,
                  EVICT: tl.constexpr, ORDER: tl.constexpr = 0, K: tl.constexpr = 0):
        """The two-feature forward with every sample on two consecutive tile rows, one per x offset
        of its corners: the x-neighbour rows of a corner pair are loaded by lanes of the same
        instruction, and the hash puts them in one 32-byte sector 3 times in 4 (float32 rows;
        16-bit: 7 in 8). The pairs are summed at the end."""
        _n, _nmask, lv, mask2, _scale, lvl, ix, iy, iz, fx, fy, fz, level_base = _setup(
            x_ptr, level_ptr, scale_ptr, T, N, L, LG, BIG, BLOCK, EVICT, 2, False, ORDER, K)
        cx = (tl.arange(0, 2 * BLOCK) % 2)[:, None]
        ixc = ix + cx
        wx = tl.where(cx == 1, fx, 1.0 - fx)
        acc0 = tl.zeros([2 * BLOCK, LG], dtype=tl.float32)
        acc1 = tl.zeros([2 * BLOCK, LG], dtype=tl.float32)
        for c in tl.static_range(4):  # (y, z) corner offsets
            cy = (c >> 1) & 1
            cz = c & 1
            wy = fy if cy else 1.0 - fy
            wz = fz if cz else 1.0 - fz
            rows = _level_rows(ixc, iy + cy, iz + cz, lvl[0], lvl[1], lvl[2], T, POW2)
            w = wx * wy * wz
            v0, v1 = _unpack2(tl.load(table_ptr + (level_base[None, :] + rows), mask=mask2, other=0), ELEM)
            acc0 += v0 * w
            acc1 += v1 * w
        out0 = tl.sum(tl.reshape(acc0, [BLOCK, 2, LG]), axis=1)
        out1 = tl.sum(tl.reshape(acc1, [BLOCK, 2, LG]), axis=1)
        ns = _block_group(L, LG, ORDER, K)[0] * BLOCK + tl.arange(0, BLOCK)
        smask = (ns < N)[:, None]
        if L % LG != 0:
            smask = smask & (lv < L)[None, :]
        tl.store(out_ptr + ns[:, None] * L + lv[None, :], _pack2(out0, out1, ELEM), mask=smask,
                 eviction_policy=EVICT)

    @triton.jit
    def _zero_share(zero_ptr, level_ptr, zchunk, share, group, last_group, L: tl.constexpr, LG: tl.constexpr,
                    F: tl.constexpr, BIG: tl.constexpr, ZBLOCK: tl.constexpr, ALIGNED: tl.constexpr):
        """Share ``share`` (a sample block) of zeroing the float32 gradient buffer (rows, F):
        ``zchunk`` elements of the rows of level groups ``group`` to ``last_group`` (one block of rows)."""
        last = tl.minimum(last_group * LG + LG, L) - 1
        first_row = tl.load(level_ptr + group * LG * 4 + 3)
        end_row = tl.load(level_ptr + last * 4 + 3) + tl.load(level_ptr + last * 4 + 1)
        if BIG:
            lo = first_row.to(tl.int64) * F + share.to(tl.int64) * zchunk
            hi = tl.minimum(lo + zchunk, end_row.to(tl.int64) * F)
        else:
            lo = first_row * F + share * zchunk
            hi = tl.minimum(lo + zchunk, end_row * F)
        if ALIGNED:  # both ends on 16 elements: 16-byte stores
            lo = tl.multiple_of(lo, 16)
            hi = tl.multiple_of(hi, 16)
        zeros = tl.zeros([ZBLOCK], dtype=tl.float32)
        for step in range(tl.cdiv(zchunk, ZBLOCK)):
            offset = lo + step * ZBLOCK + tl.arange(0, ZBLOCK)
            tl.store(zero_ptr + offset, zeros, mask=offset < hi)

    @triton.jit
    def _encode_fwd(x_ptr, table_ptr, level_ptr, scale_ptr, out_ptr, N, T,
                    L: tl.constexpr, LG: tl.constexpr, F: tl.constexpr, PACK: tl.constexpr, ELEM: tl.constexpr,
                    POW2: tl.constexpr, BIG: tl.constexpr, BLOCK: tl.constexpr, EVICT: tl.constexpr,
                    PAIR_ROWS: tl.constexpr = False, zero_ptr=None, zchunk=0, ZERO: tl.constexpr = False,
                    ZBLOCK: tl.constexpr = 512, ALIGNED: tl.constexpr = False, ORDER: tl.constexpr = 0,
                    K: tl.constexpr = 0, ZBY: tl.constexpr = -1, ZFIRST: tl.constexpr = 0,
                    ZLAST: tl.constexpr = 15, PDL_TRIGGER: tl.constexpr = False):
        """Features of BLOCK samples at every level; PACK == 2: both features in one load and store
        (table and out as packed words), else feature program_id(2) alone. PAIR_ROWS (PACK == 2):
        the corners' x offset on consecutive tile rows (``_fwd_rows``). ZERO: the programs of
        feature 0 also zero the float32 buffer at ``zero_ptr`` (rows, F) that the backward will
        add the table gradient into, ``zchunk`` elements each (``_zero_share``): its stores
        stream out while the gathers wait, instead of a memset of their own before the backward.
        Only the rows of level groups ZFIRST to ZLAST: by each program of those groups its own
        group's share (ZBY < 0), or all of them by the programs of group ZBY. PDL_TRIGGER: a kernel
        launched as this one's programmatic dependent (the walk) may start once every program has
        started (``FORWARD_LAUNCH["pdl"]``)."""
        if PDL_TRIGGER:
            tl.extra.cuda.gdc_launch_dependents()
        if ZERO:
            bid, gid = _block_group(L, LG, ORDER, K)
            if ZBY < 0:
                if (tl.program_id(2) == 0) & (gid >= ZFIRST) & (gid <= ZLAST):
                    _zero_share(zero_ptr, level_ptr, zchunk, bid, gid, gid, L, LG, F, BIG, ZBLOCK, ALIGNED)
            elif (tl.program_id(2) == 0) & (gid == ZBY):
                _zero_share(zero_ptr, level_ptr, zchunk, bid, ZFIRST, ZLAST, L, LG, F, BIG, ZBLOCK, ALIGNED)
        if PAIR_ROWS:  # PACK == 2
            _fwd_rows(x_ptr, table_ptr, level_ptr, scale_ptr, out_ptr, N, T, L, LG, ELEM, POW2, BIG, BLOCK, EVICT,
                      ORDER, K)
        else:
            n, _nmask, lv, mask2, _scale, lvl, ix, iy, iz, fx, fy, fz, level_base = _setup(
                x_ptr, level_ptr, scale_ptr, T, N, L, LG, BIG, BLOCK, EVICT)
            f = tl.program_id(2)
            acc0 = tl.zeros([BLOCK, LG], dtype=tl.float32)
            acc1 = tl.zeros([BLOCK, LG], dtype=tl.float32)
            for c in tl.static_range(8):
                cx = (c >> 2) & 1
                cy = (c >> 1) & 1
                cz = c & 1
                rows = _level_rows(ix + cx, iy + cy, iz + cz, lvl[0], lvl[1], lvl[2], T, POW2)
                wx = fx if cx else 1.0 - fx
                wy = fy if cy else 1.0 - fy
                wz = fz if cz else 1.0 - fz
                w = wx * wy * wz
                key = level_base[None, :] + rows
                if PACK == 2:
                    v0, v1 = _unpack2(tl.load(table_ptr + key, mask=mask2, other=0), ELEM)
                    acc0 += v0 * w
                    acc1 += v1 * w
                else:
                    acc0 += tl.load(table_ptr + key * F + f, mask=mask2, other=0.0).to(tl.float32) * w
            if PACK == 2:
                tl.store(out_ptr + n[:, None] * L + lv[None, :], _pack2(acc0, acc1, ELEM), mask=mask2,
                         eviction_policy=EVICT)
            else:
                out = out_ptr + n[:, None] * (L * F) + lv[None, :] * F + f
                tl.store(out, acc0.to(out_ptr.dtype.element_ty), mask=mask2, eviction_policy=EVICT)

    @triton.jit
    def _red_add_v2(ptr, a, b, on):
        """``*ptr += (a, b)`` as one vector reduction (sm_90 ``red.global.add.v2.f32``) where ``on``."""
        return tl.inline_asm_elementwise(
            "{ .reg .pred p; setp.ne.b32 p, $4, 0; @p red.relaxed.gpu.global.add.v2.f32 [$1], {$2, $3}; }"
            " mov.b32 $0, 0;",
            "=r,l,f,f,r", [ptr.to(tl.int64), a, b, on.to(tl.int32)], dtype=tl.int32, is_pure=False, pack=1)

    @triton.jit
    def _pair_operands(gtable_ptr, key0, a0, a1, b0, b1):
        """The 16-byte reduction's address and values for x-neighbour rows key0 and key0 ^ 1
        (a: key0's features, b: the other row's), lower row first."""
        low_first = (key0 & 1) == 0
        v0 = tl.where(low_first, a0, b0)
        v1 = tl.where(low_first, a1, b1)
        v2 = tl.where(low_first, b0, a0)
        v3 = tl.where(low_first, b1, a1)
        return (gtable_ptr + (key0 - (key0 & 1)) * 2).to(tl.int64), v0, v1, v2, v3

    @triton.jit
    def _red_add_pair(gtable_ptr, key0, key1, a0, a1, b0, b1, on):
        """Rows key0 += (a0, a1) and key1 += (b0, b1) of a two-feature float32 table: one 16-byte
        ``red.global.add.v4.f32`` where both rows share an aligned pair (x-neighbours do whenever
        the lower row is even), else two 8-byte reductions."""
        merged = (key0 >> 1) == (key1 >> 1)
        base, v0, v1, v2, v3 = _pair_operands(gtable_ptr, key0, a0, a1, b0, b1)
        return tl.inline_asm_elementwise(
            "{ .reg .pred p, m, s; setp.ne.b32 p, $13, 0; setp.ne.and.b32 m, $12, 0, p;"
            " setp.eq.and.b32 s, $12, 0, p;"
            " @m red.relaxed.gpu.global.add.v4.f32 [$1], {$4, $5, $6, $7};"
            " @s red.relaxed.gpu.global.add.v2.f32 [$2], {$8, $9};"
            " @s red.relaxed.gpu.global.add.v2.f32 [$3], {$10, $11}; }"
            " mov.b32 $0, 0;",
            "=r,l,l,l,f,f,f,f,f,f,f,f,r,r",
            [base, (gtable_ptr + key0 * 2).to(tl.int64), (gtable_ptr + key1 * 2).to(tl.int64),
             v0, v1, v2, v3, a0, a1, b0, b1, merged.to(tl.int32), on.to(tl.int32)],
            dtype=tl.int32, is_pure=False, pack=1)

    @triton.jit
    def _scatter_corner(gtable_ptr, key_ptr, val_ptr, key, a, b, corner, lv, n, N, f, mask2,
                        F: tl.constexpr, PACK: tl.constexpr, SORT: tl.constexpr, RED: tl.constexpr,
                        TR: tl.constexpr):
        """One corner's table gradient (a, b: both features when PACK == 2, else a for feature f)."""
        if SORT:
            pair = (_per_level(lv, TR).to(tl.int64) * 8 + corner) * N + _per_sample(n, TR)
            tl.store(key_ptr + pair, key, mask=mask2)  # the same key from every feature program
            if PACK == 2:
                tl.store(val_ptr + pair, _pack2(a, b, 0), mask=mask2)
            else:
                tl.store(val_ptr + pair * F + f, a, mask=mask2)
        elif PACK == 2 and RED >= 1:
            _red_add_v2(gtable_ptr + key * 2, a, b, mask2)
        elif PACK == 2:
            tl.atomic_add(gtable_ptr + key * 2, a, mask=mask2, sem="relaxed")
            tl.atomic_add(gtable_ptr + key * 2 + 1, b, mask=mask2, sem="relaxed")
        else:
            tl.atomic_add(gtable_ptr + key * F + f, a, mask=mask2, sem="relaxed")

    @triton.jit
    def _corner_dot(table_ptr, key, g0, g1, f, mask2, F: tl.constexpr, PACK: tl.constexpr, ELEM: tl.constexpr):
        """<d out, table row>: what a corner's weight is worth, for the x gradient."""
        if PACK == 2:
            v0, v1 = _unpack2(tl.load(table_ptr + key, mask=mask2, other=0), ELEM)
            return g0 * v0 + g1 * v1
        else:
            return g0 * tl.load(table_ptr + key * F + f, mask=mask2, other=0.0).to(tl.float32)

    @triton.jit
    def _encode_bwd(x_ptr, table_ptr, level_ptr, scale_ptr, gout_ptr, gtable_ptr, gx_ptr, key_ptr, val_ptr,
                    N, T, L: tl.constexpr, LG: tl.constexpr, F: tl.constexpr, PACK: tl.constexpr,
                    ELEM: tl.constexpr, POW2: tl.constexpr, BIG: tl.constexpr, BLOCK: tl.constexpr,
                    TABLE_GRAD: tl.constexpr, SORT: tl.constexpr, X_GRAD: tl.constexpr, RED: tl.constexpr,
                    EVICT: tl.constexpr, RUNS: tl.constexpr, TR: tl.constexpr = False):
        """Table gradient and x gradient (one (N, 3) partial per level group and feature program).

        Table gradient: SORT writes (key, value) pairs; else atomics into float32: RED 0 Triton's
        per-element atomic_add, 1 one 8-byte vector reduction per corner, 2 x-neighbour corners
        merged into one 16-byte reduction where they share an aligned row pair. RUNS: consecutive
        samples of the block in the same cell of a level (samples along a ray, at the coarse
        levels) first sum their gradients (a segmented scan), and only the run's last sample adds
        the sums into the table.

        TR: the tiles are [LG, BLOCK], the samples along the lanes of a warp (Triton lays out the
        last axis fastest), so the segmented scan of RUNS runs within warps; in [BLOCK, LG] tiles
        the samples span warps and the scan goes through shared memory."""
        n, nmask, lv, mask2, scale, lvl, ix, iy, iz, fx, fy, fz, level_base = _setup(
            x_ptr, level_ptr, scale_ptr, T, N, L, LG, BIG, BLOCK, EVICT, 1, TR)
        f = tl.program_id(2)
        on = mask2
        if RUNS:
            i = tl.arange(0, BLOCK)
            has_prev = nmask & (i > 0)
            has_next = (i < BLOCK - 1) & (n + 1 < N)
            same_prev = _same_cell(x_ptr, n - 1, has_prev, scale, ix, iy, iz, EVICT, TR)
            same_next = _same_cell(x_ptr, n + 1, has_next, scale, ix, iy, iz, EVICT, TR)
            starts = tl.where(same_prev, 0, 1)
            on = mask2 & (same_next == 0)
        if PACK == 2:
            offset = _per_sample(n, TR) * L + _per_level(lv, TR)
            if TR:  # else Triton lays the tile out along the levels, the contiguous axis of d out
                offset = tl.max_contiguous(offset, [1, 1])
            gout = tl.load(gout_ptr + offset, mask=mask2, other=0, eviction_policy=EVICT)
            g0, g1 = _unpack2(gout, ELEM)
        else:
            gout = gout_ptr + _per_sample(n, TR) * (L * F) + _per_level(lv, TR) * F + f
            g0 = tl.load(gout, mask=mask2, other=0.0, eviction_policy=EVICT).to(tl.float32)
            g1 = g0
        gpx = tl.zeros_like(fx)
        gpy = tl.zeros_like(fx)
        gpz = tl.zeros_like(fx)
        base = _per_level(level_base, TR)
        if TABLE_GRAD and RUNS:  # the run sums of all 8 corners x 2 features in one scan
            s0, s1, s2, s3 = _pair_grads(g0, g1, fx, 1.0 - fy, 1.0 - fz)
            s4, s5, s6, s7 = _pair_grads(g0, g1, fx, 1.0 - fy, fz)
            s8, s9, s10, s11 = _pair_grads(g0, g1, fx, fy, 1.0 - fz)
            s12, s13, s14, s15 = _pair_grads(g0, g1, fx, fy, fz)
            restart = starts.to(tl.float32)
            scanned = (s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, restart)
            if TR:
                scanned = tl.associative_scan(scanned, 1, _add_runs16)
            else:
                scanned = tl.associative_scan(scanned, 0, _add_runs16)
            s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, _ = scanned
        for c in tl.static_range(4):  # (y, z) corner offsets; x offsets 0 and 1 side by side
            cy = (c >> 1) & 1
            cz = c & 1
            wy = fy if cy else 1.0 - fy
            wz = fz if cz else 1.0 - fz
            key0 = base + _level_rows(ix, iy + cy, iz + cz, lvl[0], lvl[1], lvl[2], T, POW2)
            key1 = base + _level_rows(ix + 1, iy + cy, iz + cz, lvl[0], lvl[1], lvl[2], T, POW2)
            if TABLE_GRAD:
                if RUNS:  # this corner pair's share of the scan above: each sample has its run's
                    # sums so far, the run's last sample the run's total
                    if c == 0:
                        a0, a1, b0, b1 = s0, s1, s2, s3
                    elif c == 1:
                        a0, a1, b0, b1 = s4, s5, s6, s7
                    elif c == 2:
                        a0, a1, b0, b1 = s8, s9, s10, s11
                    else:
                        a0, a1, b0, b1 = s12, s13, s14, s15
                else:
                    a0, a1, b0, b1 = _pair_grads(g0, g1, fx, wy, wz)
                if PACK == 2 and RED == 2 and not SORT:
                    # its own helper, not _red_pair_on(..., on, on, 2): with that (and _pair_grads
                    # written through _pair_grads2) this kernel measured 8% slower, 0.325 against
                    # 0.301 ms per step on rays (H100), the same with both restored
                    _red_add_pair(gtable_ptr, key0, key1, a0, a1, b0, b1, on)
                else:
                    _scatter_corner(gtable_ptr, key_ptr, val_ptr, key0, a0, a1, c, lv, n, N, f, on,
                                    F, PACK, SORT, RED, TR)
                    _scatter_corner(gtable_ptr, key_ptr, val_ptr, key1, b0, b1, 4 + c, lv, n, N, f,
                                    on, F, PACK, SORT, RED, TR)
            if X_GRAD:
                d0 = _corner_dot(table_ptr, key0, g0, g1, f, mask2, F, PACK, ELEM)
                d1 = _corner_dot(table_ptr, key1, g0, g1, f, mask2, F, PACK, ELEM)
                sy = 1.0 if cy else -1.0
                sz = 1.0 if cz else -1.0
                dx = d0 * (1.0 - fx) + d1 * fx
                gpx += (d1 - d0) * (wy * wz)
                gpy += dx * (sy * wz)
                gpz += dx * (sz * wy)
        if X_GRAD:
            gxo = gx_ptr + ((f * tl.num_programs(1) + tl.program_id(1)) * N + n) * 3
            s = _per_level(scale, TR)
            tl.store(gxo + 0, tl.sum(gpx * s, axis=0 if TR else 1), mask=nmask)
            tl.store(gxo + 1, tl.sum(gpy * s, axis=0 if TR else 1), mask=nmask)
            tl.store(gxo + 2, tl.sum(gpz * s, axis=0 if TR else 1), mask=nmask)

    @triton.jit
    def _encode_bwd2(x_ptr, table_ptr, level_ptr, scale_ptr, gout_ptr, v_ptr, ggout_ptr, gtable_ptr, N, T,
                     L: tl.constexpr, LG: tl.constexpr, F: tl.constexpr, POW2: tl.constexpr, BIG: tl.constexpr,
                     BLOCK: tl.constexpr, GOUT_GRAD: tl.constexpr, TABLE_GRAD: tl.constexpr,
                     EVICT: tl.constexpr):
        """Second order: the backward of the x gradient. With v = d loss / d (x gradient) and each
        corner's weight differentiated along v, s = scale_l * <v, d w / d p>:
        d loss / d (d out) = sum over corners of s * row (GOUT_GRAD), and
        d loss / d table[row] += s * d out (TABLE_GRAD, per-element atomics). Feature program_id(2)."""
        n, nmask, lv, mask2, scale, lvl, ix, iy, iz, fx, fy, fz, level_base = _setup(
            x_ptr, level_ptr, scale_ptr, T, N, L, LG, BIG, BLOCK, EVICT)
        f = tl.program_id(2)
        vx = tl.load(v_ptr + n * 3 + 0, mask=nmask, other=0.0)[:, None] * scale[None, :]
        vy = tl.load(v_ptr + n * 3 + 1, mask=nmask, other=0.0)[:, None] * scale[None, :]
        vz = tl.load(v_ptr + n * 3 + 2, mask=nmask, other=0.0)[:, None] * scale[None, :]
        feature = n[:, None] * (L * F) + lv[None, :] * F + f
        g = tl.load(gout_ptr + feature, mask=mask2, other=0.0)
        acc = tl.zeros([BLOCK, LG], dtype=tl.float32)
        for c in tl.static_range(8):
            cx = (c >> 2) & 1
            cy = (c >> 1) & 1
            cz = c & 1
            wx = fx if cx else 1.0 - fx
            wy = fy if cy else 1.0 - fy
            wz = fz if cz else 1.0 - fz
            sx = 1.0 if cx else -1.0
            sy = 1.0 if cy else -1.0
            sz = 1.0 if cz else -1.0
            s = sx * vx * (wy * wz) + sy * vy * (wx * wz) + sz * vz * (wx * wy)
            key = level_base[None, :] + _level_rows(ix + cx, iy + cy, iz + cz, lvl[0], lvl[1], lvl[2], T, POW2)
            if GOUT_GRAD:
                acc += s * tl.load(table_ptr + key * F + f, mask=mask2, other=0.0).to(tl.float32)
            if TABLE_GRAD:
                tl.atomic_add(gtable_ptr + key * F + f, s * g, mask=mask2, sem="relaxed")
        if GOUT_GRAD:
            tl.store(ggout_ptr + feature, acc, mask=mask2)

    @triton.jit
    def _pair_grads(g0, g1, fx, wy, wz):
        """Gradients of the two x-neighbour corners of one (y, z) offset, both features:
        (g0, g1) * w for x offset 0, then for x offset 1 (the reference's order of products)."""
        w0 = (1.0 - fx) * wy * wz
        w1 = fx * wy * wz
        return g0 * w0, g1 * w0, g0 * w1, g1 * w1

    @triton.jit
    def _pair_grads2(g0, g1, wx0, wx1, wy, wz):
        """``_pair_grads`` with both x weight factors given: (g0, g1) * w of two x-neighbours."""
        w0 = wx0 * wy * wz
        w1 = wx1 * wy * wz
        return g0 * w0, g1 * w0, g0 * w1, g1 * w1

    @triton.jit
    def _add_runs16(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, fa,
                    b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, fb):
        """Segmented sums of 16 values at once; ``fb`` 1.0 where the right operand starts a run.
        ``fma(a, 1 - fb, b)`` is ``a + b`` or ``b``, one instruction per value (exact for
        finite a: a * 0 + b == b; a non-finite gradient also spoils the next run of its block,
        where plain atomics would keep it in its own rows: training rolls such a step back)."""
        k = 1.0 - fb
        return (tl.fma(a0, k, b0), tl.fma(a1, k, b1), tl.fma(a2, k, b2), tl.fma(a3, k, b3),
                tl.fma(a4, k, b4), tl.fma(a5, k, b5), tl.fma(a6, k, b6), tl.fma(a7, k, b7),
                tl.fma(a8, k, b8), tl.fma(a9, k, b9), tl.fma(a10, k, b10), tl.fma(a11, k, b11),
                tl.fma(a12, k, b12), tl.fma(a13, k, b13), tl.fma(a14, k, b14), tl.fma(a15, k, b15),
                tl.maximum(fa, fb))

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

    @triton.jit
    def _parity_axis(i, j, f, new):
        """One axis of a step from cell i to cell j (``new``: j is a sample): for the grid vertices of
        even and of odd coordinate among the cell's two, whether the vertex stays the same, and
        the new sample's trilinear weight factor for it (f: its fraction in cell j)."""
        odd_i = i & 1
        odd_j = j & 1
        keep0 = new & (i + odd_i == j + odd_j)
        keep1 = new & (i + 1 - odd_i == j + 1 - odd_j)
        w0 = tl.where(odd_j == 1, f, 1.0 - f)
        w1 = tl.where(odd_j == 1, 1.0 - f, f)
        return keep0, keep1, w0, w1, j + odd_j, j + 1 - odd_j

    @triton.jit
    def _keep2(a0, a1, b0, b1, keep_a, keep_b):
        """Two features of two slots: kept where their vertex stays, else zero (added already)."""
        return (tl.where(keep_a, a0, 0.0), tl.where(keep_a, a1, 0.0),
                tl.where(keep_b, b0, 0.0), tl.where(keep_b, b1, 0.0))

    @triton.jit
    def _red_pair_on(gtable_ptr, key0, key1, a0, a1, b0, b1, on0, on1, RED: tl.constexpr):
        """Rows key0 += (a0, a1) where on0 and key1 += (b0, b1) where on1 (two features, float32):
        RED 2: one 16-byte ``red.global.add.v4.f32`` where both are on and the rows share an
        aligned pair (x-neighbours do whenever the lower row is even), else 8-byte
        ``red.global.add.v2.f32``; RED 1: 8-byte reductions; RED 0: per-element atomics."""
        if RED == 2:
            both = on0 & on1 & ((key0 >> 1) == (key1 >> 1))
            base, v0, v1, v2, v3 = _pair_operands(gtable_ptr, key0, a0, a1, b0, b1)
            return tl.inline_asm_elementwise(
                "{ .reg .pred m, s, t; setp.ne.b32 m, $12, 0; setp.ne.b32 s, $13, 0;"
                " setp.ne.b32 t, $14, 0;"
                " @m red.relaxed.gpu.global.add.v4.f32 [$1], {$4, $5, $6, $7};"
                " @s red.relaxed.gpu.global.add.v2.f32 [$2], {$8, $9};"
                " @t red.relaxed.gpu.global.add.v2.f32 [$3], {$10, $11}; }"
                " mov.b32 $0, 0;",
                "=r,l,l,l,f,f,f,f,f,f,f,f,r,r,r",
                [base, (gtable_ptr + key0 * 2).to(tl.int64), (gtable_ptr + key1 * 2).to(tl.int64),
                 v0, v1, v2, v3, a0, a1, b0, b1, both.to(tl.int32), (on0 & ~both).to(tl.int32),
                 (on1 & ~both).to(tl.int32)],
                dtype=tl.int32, is_pure=False, pack=1)
        elif RED == 1:
            _red_add_v2(gtable_ptr + key0 * 2, a0, a1, on0)
            _red_add_v2(gtable_ptr + key1 * 2, b0, b1, on1)
        else:
            tl.atomic_add(gtable_ptr + key0 * 2, a0, mask=on0, sem="relaxed")
            tl.atomic_add(gtable_ptr + key0 * 2 + 1, a1, mask=on0, sem="relaxed")
            tl.atomic_add(gtable_ptr + key1 * 2, b0, mask=on1, sem="relaxed")
            tl.atomic_add(gtable_ptr + key1 * 2 + 1, b1, mask=on1, sem="relaxed")

    @triton.jit
    def _walk_setup(level_ptr, scale_ptr, T, L: tl.constexpr, LG: tl.constexpr, BIG: tl.constexpr,
                    CHUNKS: tl.constexpr, GROUP0, GSTRIDE: tl.constexpr):
        """A walk program's chunks ([CHUNKS]), levels ([LG], level group GROUP0 + GSTRIDE *
        program_id(1)) and their constants: scale [LG]; vertices per axis, rows, hashed and the
        level's first row, [1, LG]."""
        chunk = tl.program_id(0) * CHUNKS + tl.arange(0, CHUNKS)
        lv = (GROUP0 + GSTRIDE * tl.program_id(1)) * LG + tl.arange(0, LG)
        scale = tl.load(scale_ptr + lv, mask=lv < L, other=1.0)
        stride = tl.load(level_ptr + lv * 4, mask=lv < L, other=2)[None, :]
        size = tl.load(level_ptr + lv * 4 + 1, mask=lv < L, other=8)[None, :]
        hashed = (tl.load(level_ptr + lv * 4 + 2, mask=lv < L, other=0) != 0)[None, :]
        base = tl.load(level_ptr + lv * 4 + 3, mask=lv < L, other=0)[None, :]
        if BIG:
            base = base.to(tl.int64)
        return chunk, lv, scale, stride, size, hashed, base

    @triton.jit
    def _walk_keys(base, vx0, vx1, vy0, vy1, vz0, vz1, stride, size, hashed, T, POW2: tl.constexpr):
        """The 8 rows of a cell's vertices in parity-slot order (2 * py + pz pairs, px within)."""
        k0 = base + _level_rows(vx0, vy0, vz0, stride, size, hashed, T, POW2)
        k1 = base + _level_rows(vx1, vy0, vz0, stride, size, hashed, T, POW2)
        k2 = base + _level_rows(vx0, vy0, vz1, stride, size, hashed, T, POW2)
        k3 = base + _level_rows(vx1, vy0, vz1, stride, size, hashed, T, POW2)
        k4 = base + _level_rows(vx0, vy1, vz0, stride, size, hashed, T, POW2)
        k5 = base + _level_rows(vx1, vy1, vz0, stride, size, hashed, T, POW2)
        k6 = base + _level_rows(vx0, vy1, vz1, stride, size, hashed, T, POW2)
        k7 = base + _level_rows(vx1, vy1, vz1, stride, size, hashed, T, POW2)
        return k0, k1, k2, k3, k4, k5, k6, k7

    @triton.jit
    def _walk_inputs(x_ptr, gout_ptr, n, lv, N, L: tl.constexpr, EVICT: tl.constexpr):
        """Samples n's point ([CHUNKS] each axis) and d out words ([CHUNKS, LG])."""
        nmask = n < N
        px = tl.load(x_ptr + n * 3 + 0, mask=nmask, other=0.0, eviction_policy=EVICT).to(tl.float32)
        py = tl.load(x_ptr + n * 3 + 1, mask=nmask, other=0.0, eviction_policy=EVICT).to(tl.float32)
        pz = tl.load(x_ptr + n * 3 + 2, mask=nmask, other=0.0, eviction_policy=EVICT).to(tl.float32)
        g = tl.load(gout_ptr + n[:, None] * L + lv[None, :], mask=nmask[:, None] & (lv < L)[None, :], other=0,
                    eviction_policy=EVICT)
        return px, py, pz, g

    @triton.jit(do_not_specialize=["GROUP0", "NEXT0"])
    def _encode_bwd_walk(x_ptr, level_ptr, scale_ptr, gout_ptr, gtable_ptr, N, T,
                         L: tl.constexpr, LG: tl.constexpr, ELEM: tl.constexpr, POW2: tl.constexpr,
                         BIG: tl.constexpr, CHUNK: tl.constexpr, CHUNKS: tl.constexpr, RED: tl.constexpr,
                         EVICT: tl.constexpr, GROUP0=0, GSTRIDE: tl.constexpr = 1, COUNT: tl.constexpr = 1,
                         zchunk=0, ZERO: tl.constexpr = False, NEXT0=0, NEXT_STRIDE: tl.constexpr = 1,
                         NEXT_COUNT: tl.constexpr = 1, ZBLOCK: tl.constexpr = 512, ALIGNED: tl.constexpr = False,
                         PDL_TRIGGER: tl.constexpr = False, PDL_WAIT: tl.constexpr = 0):
        """The two-feature backward as a walk (``scatter="walk"``): each thread takes CHUNK
        consecutive samples at one level and keeps the table-gradient sums of its current cell's
        8 corners in registers. From one sample to the next, a corner that is also a corner of
        the next sample's cell (the same cell, or a neighbour sharing a face, an edge or a vertex:
        samples along a ray at fine levels) carries its sum on; only the others are added into the
        table. Every sample's gradient reaches each of its 8 rows exactly once, in whatever order
        the samples come; samples along rays need about a quarter fewer reductions than with the
        runs of whole cells (``"runs"``). Tiles are [CHUNKS, LG]: the levels of a sample on
        neighbouring lanes, so its d out words are one 32-byte sector. Level groups GROUP0 +
        GSTRIDE * program_id(1), COUNT of them; ZERO: once done, zero the rows of the next
        launch's NEXT_COUNT groups (NEXT0 + NEXT_STRIDE * i), group i by the programs with
        program_id(1) == i % COUNT. Launched as the programmatic dependent of the kernel before
        (``WALK_LAUNCH["pdl"]``), it waits for that kernel's end and memory at its start (PDL_WAIT 1) or, where the
        kernel before writes neither x nor d out (an earlier walk launch), once its first point
        and d out are on their way (2); PDL_TRIGGER lets the next launch start early: after the
        wait with PDL_WAIT 1 (the next launch reads d out before its own wait), else at once."""
        if PDL_WAIT == 1:
            tl.extra.cuda.gdc_wait()
        if PDL_TRIGGER:
            tl.extra.cuda.gdc_launch_dependents()
        chunk, lv, scale, stride, size, hashed, base = _walk_setup(
            level_ptr, scale_ptr, T, L, LG, BIG, CHUNKS, GROUP0, GSTRIDE)
        zero = tl.zeros([CHUNKS, LG], dtype=tl.float32)
        izero = tl.zeros([CHUNKS, LG], dtype=tl.int32)
        a0, a1, a2, a3, a4, a5, a6, a7 = zero, zero, zero, zero, zero, zero, zero, zero
        a8, a9, a10, a11, a12, a13, a14, a15 = zero, zero, zero, zero, zero, zero, zero, zero
        k0 = base + izero
        k1, k2, k3, k4, k5, k6, k7 = k0, k0, k0, k0, k0, k0, k0
        ix, iy, iz = izero, izero, izero
        live = izero != 0
        # each step's point and d out are loaded one step ahead, so their loads are in flight
        # while the step before adds and carries (a thread's steps depend on each other)
        n = chunk * CHUNK
        px, py, pz, pg = _walk_inputs(x_ptr, gout_ptr, n, lv, N, L, EVICT)
        if PDL_WAIT == 2:
            tl.extra.cuda.gdc_wait()
        for j in range(CHUNK):
            nmask = n < N
            new = nmask[:, None] & (lv < L)[None, :]
            jx, fx = _cell_of(px, scale)
            jy, fy = _cell_of(py, scale)
            jz, fz = _cell_of(pz, scale)
            g0, g1 = _unpack2(pg, ELEM)
            if j + 1 < CHUNK:
                px, py, pz, pg = _walk_inputs(x_ptr, gout_ptr, n + 1, lv, N, L, EVICT)
            # slots by vertex parity: 4 * (2 * py + pz) + 2 * px + feature. A vertex shared by
            # the previous and the new cell has the same parity in both: its sums stay put
            x0, x1, wx0, wx1, vx0, vx1 = _parity_axis(ix, jx, fx, new)
            y0, y1, wy0, wy1, vy0, vy1 = _parity_axis(iy, jy, fy, new)
            z0, z1, wz0, wz1, vz0, vz1 = _parity_axis(iz, jz, fz, new)
            # add the sums of vertices the new cell does not have, keep the rest
            yz = y0 & z0
            _red_pair_on(gtable_ptr, k0, k1, a0, a1, a2, a3, live & ~(x0 & yz), live & ~(x1 & yz), RED)
            a0, a1, a2, a3 = _keep2(a0, a1, a2, a3, x0 & yz, x1 & yz)
            yz = y0 & z1
            _red_pair_on(gtable_ptr, k2, k3, a4, a5, a6, a7, live & ~(x0 & yz), live & ~(x1 & yz), RED)
            a4, a5, a6, a7 = _keep2(a4, a5, a6, a7, x0 & yz, x1 & yz)
            yz = y1 & z0
            _red_pair_on(gtable_ptr, k4, k5, a8, a9, a10, a11, live & ~(x0 & yz), live & ~(x1 & yz), RED)
            a8, a9, a10, a11 = _keep2(a8, a9, a10, a11, x0 & yz, x1 & yz)
            yz = y1 & z1
            _red_pair_on(gtable_ptr, k6, k7, a12, a13, a14, a15, live & ~(x0 & yz),
                         live & ~(x1 & yz), RED)
            a12, a13, a14, a15 = _keep2(a12, a13, a14, a15, x0 & yz, x1 & yz)
            s0, s1, s2, s3 = _pair_grads2(g0, g1, wx0, wx1, wy0, wz0)
            s4, s5, s6, s7 = _pair_grads2(g0, g1, wx0, wx1, wy0, wz1)
            s8, s9, s10, s11 = _pair_grads2(g0, g1, wx0, wx1, wy1, wz0)
            s12, s13, s14, s15 = _pair_grads2(g0, g1, wx0, wx1, wy1, wz1)
            a0, a1, a2, a3 = a0 + s0, a1 + s1, a2 + s2, a3 + s3
            a4, a5, a6, a7 = a4 + s4, a5 + s5, a6 + s6, a7 + s7
            a8, a9, a10, a11 = a8 + s8, a9 + s9, a10 + s10, a11 + s11
            a12, a13, a14, a15 = a12 + s12, a13 + s13, a14 + s14, a15 + s15
            k0, k1, k2, k3, k4, k5, k6, k7 = _walk_keys(base, vx0, vx1, vy0, vy1, vz0, vz1, stride, size,
                                                        hashed, T, POW2)
            ix, iy, iz = jx, jy, jz
            live = new
            n += 1
        # the last cell's sums
        _red_pair_on(gtable_ptr, k0, k1, a0, a1, a2, a3, live, live, RED)
        _red_pair_on(gtable_ptr, k2, k3, a4, a5, a6, a7, live, live, RED)
        _red_pair_on(gtable_ptr, k4, k5, a8, a9, a10, a11, live, live, RED)
        _red_pair_on(gtable_ptr, k6, k7, a12, a13, a14, a15, live, live, RED)
        if ZERO:  # launched by level groups: zero the next launch's rows once this program is done
            for i in tl.static_range(NEXT_COUNT):
                if tl.program_id(1) == i % COUNT:
                    group = NEXT0 + NEXT_STRIDE * i
                    _zero_share(gtable_ptr, level_ptr, zchunk, tl.program_id(0), group, group, L, LG, 2, BIG,
                                ZBLOCK, ALIGNED)


def _pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


_ELEM = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2}
_WORD = {torch.float32: torch.int64, torch.float16: torch.int32, torch.bfloat16: torch.int32}


class LevelLayout(NamedTuple):
    """What the host needs to know of a grid's levels: each level's rows and first row in the
    table, the hash modulus ``T`` (the rows of the hashed levels) and whether it is a power of two."""

    sizes: tuple[int, ...]
    offsets: tuple[int, ...]
    hash_rows: int
    pow2: bool

    @property
    def rows(self) -> int:
        """Rows the table needs: up to the end of the level that ends last."""
        return max(o + s for o, s in zip(self.offsets, self.sizes, strict=True))

    def fills(self, rows: int) -> bool:
        """Whether the levels' rows follow each other from row 0 and fill a table of ``rows`` rows
        (``Levels.of``'s grids): zeroing the rows of every level group then zeroes the table."""
        ends = [o + s for o, s in zip(self.offsets, self.sizes, strict=True)]
        return self.offsets[0] == 0 and list(self.offsets[1:]) == ends[:-1] and ends[-1] == rows

    def group_rows(self, group: int, per_group: int) -> tuple[int, int]:
        """First row and end row of level group ``group`` (levels ``group * per_group`` on)."""
        first, last = group * per_group, min(group * per_group + per_group, len(self.sizes)) - 1
        return self.offsets[first], self.offsets[last] + self.sizes[last]


# Level constants as the kernels take them, per grid: building them costs small GPU operations,
# which a training step would otherwise pay at every encoding call, and one copy to the host.
_LEVEL_CACHE: dict[tuple, tuple[list, tuple[int, ...], torch.Tensor, torch.Tensor, LevelLayout]] = {}


def _level_tensors(levels: reference.Levels, device: torch.device
                   ) -> tuple[torch.Tensor, torch.Tensor, LevelLayout]:
    """int32 (L, 4) rows of (vertices per axis, rows, hashed, first row) and float32 scales on
    ``device``, and the layout on the host; cached while the same five tensors are alive and
    unmodified (identity and version counter). Building them reads the levels on the host once:
    the first call for a grid cannot be inside a CUDA graph capture."""
    key = (*(id(t) for t in levels), str(device))
    try:
        versions = tuple(t._version for t in levels)
    except RuntimeError:  # inference tensors have no version counter: build them every time
        versions = None
    hit = _LEVEL_CACHE.get(key)
    if (versions is not None and hit is not None and hit[1] == versions
            and all(ref() is t for ref, t in zip(hit[0], levels, strict=True))):
        return hit[2], hit[3], hit[4]
    host = torch.stack([levels.resolution, levels.size, levels.hashed.long(), levels.offset], 1).cpu()
    sizes, offsets, hashed = host[:, 1].tolist(), host[:, 3].tolist(), host[:, 2].tolist()
    if min(offsets) < 0 or min(sizes) < 1 or max(o + s for o, s in zip(offsets, sizes)) >= 2**31:
        raise ValueError(f"level rows {sizes} at offsets {offsets}: sizes must be positive, offsets "
                         "non-negative and the table under 2^31 rows")
    hashed_sizes = {s for s, h in zip(sizes, hashed) if h}
    hash_rows = min(hashed_sizes) if hashed_sizes else max(sizes)
    # the uint32 index path masks the hash with hash_rows - 1: one power-of-two size for every
    # hashed level (HashGrid's 2**log2_table_size), or no hashed level at all
    pow2 = not hashed_sizes or (len(hashed_sizes) == 1 and hash_rows & (hash_rows - 1) == 0)
    layout = LevelLayout(tuple(sizes), tuple(offsets), hash_rows, pow2)
    ints = host.to(device=device, dtype=torch.int32).contiguous()
    scale = levels.scale.to(device=device, dtype=torch.float32).contiguous()
    if versions is not None:
        if len(_LEVEL_CACHE) >= 16:
            _LEVEL_CACHE.clear()
        _LEVEL_CACHE[key] = ([weakref.ref(t) for t in levels], versions, ints, scale, layout)
    return ints, scale, layout


def _launch_args(x: torch.Tensor, table: torch.Tensor, levels: reference.Levels):
    """Level constants on x's device (int32 (L, 4): vertices per axis, rows, hashed, first row;
    float32 scales), the layout on the host and the kernels' compile-time settings."""
    ints, scale, layout = _level_tensors(levels, x.device)
    if table.dim() != 2 or table.shape[0] < layout.rows:
        raise ValueError(f"a table of shape {tuple(table.shape)} for levels that need {layout.rows} rows: "
                         "the hash grid's table is one (rows, features) tensor (HashGrid.table)")
    features = table.shape[1]
    meta = {"L": len(layout.sizes), "F": features, "PACK": 2 if features == 2 else 1,
            "ELEM": _ELEM[table.dtype], "POW2": layout.pow2, "BIG": table.numel() >= 2**31 - 1}
    return ints, scale, layout, meta


def _words(t: torch.Tensor, meta: dict) -> torch.Tensor:
    """Pairs of features as one integer word each (PACK == 2), else the tensor itself."""
    return t.view(_WORD[t.dtype]) if meta["PACK"] == 2 else t


@functools.cache
def _capability(device: torch.device) -> tuple[int, int]:
    return torch.cuda.get_device_capability(device)


def _vector_red_ok(device: torch.device, features: int) -> bool:
    """Vector float reductions exist from sm_90 on; the interpreter cannot run inline PTX."""
    return features == 2 and device.type == "cuda" and not interpreting() and _capability(device) >= (9, 0)


def _pdl_ok(device: torch.device) -> bool:
    """Programmatic dependent launch (a kernel starting while the one before it ends, waiting for
    its memory with ``griddepcontrol``) exists from sm_90 on, with a Triton that has ``gdc_wait``."""
    return (device.type == "cuda" and not interpreting() and _capability(device) >= (9, 0)
            and hasattr(tl.extra.cuda, "gdc_wait"))


def _reduction_kind(scatter: Scatter, device: torch.device, features: int) -> int:
    """RED of ``_encode_bwd`` and ``_encode_bwd_walk``: 0 per-element atomics, 1 one 8-byte vector
    reduction per corner ("atomic_v2"), 2 x-neighbours merged into 16-byte reductions where they
    can be ("atomic", and "runs" and "walk" after their sums in registers)."""
    if scatter in ("atomic", "atomic_v2", "runs", "walk") and _vector_red_ok(device, features):
        return 1 if scatter == "atomic_v2" else 2
    return 0


# Samples and levels per program, warps, and the cache hint for streamed data (x, out, d out):
# the fastest found on an H100 (benchmarks/RESULTS.md). Kernels compile without FMA contraction
# so that cell fractions round exactly like the reference's (x * N, then minus floor).
# interleave: (K, order) runs K level groups at a time, in that order, for grids of len(order) groups
# (_forward_interleave); the default pairs the finest group with the coarsest, then the middle two:
# on an H200, 0.0743 against 0.0786 ms on rays (benchmarks/forward_interleave.py; RESULTS.md)
FORWARD_LAUNCH = {"block": 32, "levels": 4, "num_warps": 4, "evict": "", "pair_rows": True,
                  "interleave": (2, (3, 0, 2, 1)), "pdl": False}
BACKWARD_LAUNCH = {"block": 32, "levels": 4, "num_warps": 2, "evict": "", "transposed": True}
# scatter="walk": consecutive samples per thread (chunk), threads along samples (chunks) x levels
# split: one launch per level group, else one for all; launches (overrides split): the level
# groups of each launch in order, each an arithmetic sequence (groups past the grid's are dropped,
# groups in none get a launch of their own); chunk_by_launch: samples per thread of each launch
# in order (None or 0: chunk); zero_per_group: each launch's rows zeroed just before it, by a
# memset or, with zero_next (True, or per launch: whether it zeroes the next one's rows), by the
# launch before once its programs are done; forward_zeroes_first: the forward kernel zeroes the
# first launch's rows instead of a memset, by the programs of this level group ("own": each group
# its own rows; None: a memset). The defaults were tuned for issue 8's 16-level grid
# (benchmarks/RESULTS.md; the zeroing on an H200, forward_interleave.py --zeroing); a grid of 8
# levels walks both its groups in one launch
WALK_LAUNCH = {"chunk": 16, "chunks": 8, "levels": 4, "num_warps": 1, "split": True,
               "launches": ((0, 1), (2,), (3,)), "chunk_by_launch": (32, 16, 16), "zero_per_group": True,
               "zero_next": (True, True), "forward_zeroes_first": 0, "pdl": (1, 2)}


def walk_launches(groups: int) -> list[tuple[int, int, int]]:
    """The walk's launches for ``groups`` level groups as (first group, count, stride), from
    ``WALK_LAUNCH`` (its "launches", else "split")."""
    plan = WALK_LAUNCH.get("launches")
    if plan is None:
        plan = [(g,) for g in range(groups)] if WALK_LAUNCH["split"] else [tuple(range(groups))]
    launches, seen = [], set()
    for wanted in plan:
        part = [g for g in wanted if 0 <= g < groups and g not in seen]
        if not part:
            continue
        steps = {b - a for a, b in itertools.pairwise(part)}
        if len(steps) > 1 or 0 in steps or any(s < 0 for s in steps):
            raise ValueError(f"WALK_LAUNCH['launches']: {wanted} is not an increasing arithmetic sequence")
        seen.update(part)
        launches.append((part[0], len(part), steps.pop() if steps else 1))
    launches += [(g, 1, 1) for g in range(groups) if g not in seen]
    return launches


def walk_first_groups(n_levels: int, features: int) -> tuple[int, int] | None:
    """The level groups (first, last) of the walk's first launch, which the forward zeroes
    (``WALK_LAUNCH["forward_zeroes_first"]``), or None where it does not: the setting is off,
    the launch's groups are not one block of rows, or the forward groups levels otherwise."""
    if (WALK_LAUNCH.get("forward_zeroes_first") is None or features != 2 or not _walk_zeroes_per_launch()
            or min(_pow2(n_levels), FORWARD_LAUNCH["levels"]) != min(_pow2(n_levels), WALK_LAUNCH["levels"])):
        return None
    group = min(_pow2(n_levels), WALK_LAUNCH["levels"])
    first, count, stride = walk_launches(-(-n_levels // group))[0]
    return (first, first + count - 1) if stride == 1 else None


def _walk_zeroes_per_launch() -> bool:
    """Whether the walk zeroes each launch's rows just before it (several launches and
    zero_per_group): the forward then leaves the gradient buffer to the backward."""
    split = WALK_LAUNCH.get("launches") is not None or bool(WALK_LAUNCH["split"])
    return split and bool(WALK_LAUNCH["zero_per_group"])


# Kernels zero a gradient buffer on the side (the forward for the backward, a walk launch for the
# next level group) only with at least this many warps per level group to share it among; with
# fewer (small batches) each warp would store megabytes alone, and a memset does it instead.
ZERO_MIN_WARPS = 1024


def backward_warps(block: int, levels_per_program: int, num_warps: int) -> int:
    """Warps the backward may use for a tile of ``block * levels_per_program`` elements: no more
    threads than elements. Where a tile has fewer elements than threads, Triton gives some
    elements to two threads; its stores and atomics mask the copies, but the inline-PTX
    reductions would run twice and add the gradient twice."""
    return max(1, min(num_warps, block * levels_per_program // 32))


def _forward_interleave(groups: int) -> dict:
    """The forward's ORDER and K (``_block_group``) from ``FORWARD_LAUNCH["interleave"]``: None
    (level groups one after the other, program_id(1)), or (K, order): K groups at a time, taken in
    ``order``, for grids whose level groups ``order`` permutes (other grids: one after the other)."""
    setting = FORWARD_LAUNCH.get("interleave")
    if not setting:
        return {}
    k, order = setting
    if sorted(order) != list(range(groups)) or groups % k or groups > 16:
        return {}
    return {"ORDER": sum(g << (4 * i) for i, g in enumerate(order)), "K": k}


def _grid(n: int, meta: dict, block: int) -> tuple[int, int, int]:
    """Programs: sample blocks (fastest, so a level group's table stays in L2), level groups, features."""
    return triton.cdiv(n, block), triton.cdiv(meta["L"], meta["LG"]), meta["F"] // meta["PACK"]


def _zero_shares(layout: LevelLayout, meta: dict, groups: range, programs: int, together: bool = False) -> dict:
    """Kernel settings for ``programs`` programs per level group to zero the rows of ``groups``
    (``_zero_share``), or (``together``) for ``programs`` programs to zero all of them: elements
    each, in steps of 512; 16-byte stores where every group's rows start and end on 16 elements."""
    bounds = [layout.group_rows(g, meta["LG"]) for g in groups]
    if together:
        bounds = [(bounds[0][0], bounds[-1][1])]
    most = max(hi - lo for lo, hi in bounds) * meta["F"]
    aligned = all((lo * meta["F"]) % 16 == 0 and (hi * meta["F"]) % 16 == 0 for lo, hi in bounds)
    return {"zchunk": triton.cdiv(triton.cdiv(most, programs), 512) * 512, "ZERO": True, "ZBLOCK": 512,
            "ALIGNED": aligned}


def encode_forward(x: torch.Tensor, table: torch.Tensor, levels: reference.Levels,
                   block: int | None = None, levels_per_program: int | None = None,
                   num_warps: int | None = None, zero: torch.Tensor | None = None,
                   zero_groups: tuple[int, int] | None = None, zero_by: int | None = None) -> torch.Tensor:
    """(N, 3) points, the (rows, F) table -> (N, L * F) features in the table's dtype. ``zero``: a
    contiguous float32 tensor of the table's shape that the same kernel sets to zeros (the
    buffer ``encode_backward(..., zeroed=...)`` then adds the table gradient into); with
    ``zero_groups`` (first, last level group, the forward's groups) only those groups' rows,
    zeroed by the programs of level group ``zero_by`` or, if None, each group's by its own."""
    n = x.shape[0]
    x = x.contiguous()
    table = table.contiguous()
    ints, scale, layout, meta = _launch_args(x, table, levels)
    n_levels, features = meta["L"], meta["F"]
    out = torch.empty(n, n_levels * features, device=x.device, dtype=table.dtype)
    block = block or FORWARD_LAUNCH["block"]
    meta["LG"] = min(_pow2(n_levels), levels_per_program or FORWARD_LAUNCH["levels"])
    zeroing: dict = {}
    if zero is not None:
        if zero.shape != table.shape or zero.dtype != torch.float32 or not zero.is_contiguous():
            raise ValueError(f"zero must be a contiguous float32 tensor of shape {tuple(table.shape)}")
        programs = triton.cdiv(n, block)
        if (not programs or programs * (num_warps or FORWARD_LAUNCH["num_warps"]) < ZERO_MIN_WARPS
                or not layout.fills(table.shape[0])):
            zero.zero_()  # too few programs to share it out (a memset is faster), or rows of no level
        else:
            first, last = zero_groups or (0, triton.cdiv(n_levels, meta["LG"]) - 1)
            zeroing = {"zero_ptr": zero, "ZFIRST": first, "ZLAST": last,
                       "ZBY": -1 if zero_by is None else zero_by,
                       **_zero_shares(layout, meta, range(first, last + 1), programs, zero_by is not None)}
    if n:
        grid = _grid(max(n, 1), meta, block)
        pair_rows = bool(FORWARD_LAUNCH["pair_rows"]) and meta["PACK"] == 2
        interleave = _forward_interleave(grid[1]) if pair_rows else {}
        if interleave:
            grid = (grid[0] * grid[1], 1, 1)
        _encode_fwd[grid](
            x, _words(table, meta), ints, scale, _words(out, meta), n, layout.hash_rows, BLOCK=block,
            num_warps=num_warps or FORWARD_LAUNCH["num_warps"], EVICT=FORWARD_LAUNCH["evict"],
            PAIR_ROWS=pair_rows, enable_fp_fusion=False, **zeroing, **interleave, **meta,
            **({"PDL_TRIGGER": True} if FORWARD_LAUNCH.get("pdl") and _pdl_ok(x.device) else {}))
    return out


def encode_backward(x: torch.Tensor, table: torch.Tensor, levels: reference.Levels,
                    grad_out: torch.Tensor, x_grad: bool = True, table_grad: bool = True,
                    scatter: Scatter | None = None, block: int | None = None,
                    levels_per_program: int | None = None, num_warps: int | None = None,
                    zeroed: torch.Tensor | None = None, zeroed_groups: tuple[int, int] | None = None,
                    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Gradients (d x (N, 3) in x's dtype, d table (rows, F) in the table's dtype) of <grad_out, out>;
    ``scatter`` as in ``hash_encode``. ``zeroed``: a float32 buffer of zeros of the table's shape
    (``encode_forward(..., zero=...)``) to add the table gradient into, instead of a new one;
    ``zeroed_groups``: it holds zeros only in the rows of these level groups (first, last; the
    walk's first launch, ``walk_first_groups``), and the rest is zeroed here."""
    scatter = resolve_scatter(scatter)
    n = x.shape[0]
    x = x.contiguous()
    table = table.contiguous()
    grad_out = grad_out.to(table.dtype).contiguous()
    ints, scale, layout, meta = _launch_args(x, table, levels)
    n_levels, features, size = meta["L"], meta["F"], layout.hash_rows
    block = block or BACKWARD_LAUNCH["block"]
    meta["LG"] = min(_pow2(n_levels), levels_per_program or BACKWARD_LAUNCH["levels"])
    grid = _grid(n, meta, block)
    # the walk for the table gradient alone: with the x gradient its per-step row gathers wait in
    # each thread (0.46 against 0.39 ms on rays, H100), so that goes to the runs kernel
    walk = scatter == "walk" and meta["PACK"] == 2 and table_grad and not x_grad
    # the walk split by level group zeroes each group's rows just before its launch
    zero_each = (walk and table_grad and (zeroed is None or zeroed_groups is not None)
                 and _walk_zeroes_per_launch() and layout.fills(table.shape[0]))
    if zeroed is not None and zeroed_groups is not None and not (
            zero_each and zeroed_groups == walk_first_groups(n_levels, features)):
        zeroed.zero_()  # not the walk that the forward zeroed the first launch's rows for: all rows
        zeroed_groups = None
    gtable = None
    if table_grad:
        gtable = (zeroed if zeroed is not None else
                  torch.empty(table.shape, device=x.device, dtype=torch.float32) if zero_each else
                  torch.zeros(table.shape, device=x.device, dtype=torch.float32))
    gx = torch.empty(grid[1] * grid[2], n, 3, device=x.device, dtype=torch.float32) if x_grad else None
    sort = table_grad and scatter == "sort"
    keys = vals = None
    if sort:
        keys = torch.empty(n_levels * 8 * n, device=x.device, dtype=torch.int64 if meta["BIG"] else torch.int32)
        vals = torch.empty(n_levels * 8 * n, features, device=x.device, dtype=torch.float32)
    if n and walk:
        meta["LG"] = min(_pow2(n_levels), levels_per_program or WALK_LAUNCH["levels"])
        # at least one tile element per thread: Triton would give an element to two threads,
        # and the inline-PTX reductions would add it twice (as in backward_warps)
        chunks = max(WALK_LAUNCH["chunks"], 32 // meta["LG"])
        groups = triton.cdiv(n_levels, meta["LG"])
        warps = max(1, min(num_warps or WALK_LAUNCH["num_warps"], chunks * meta["LG"] // 32))
        # one launch, or one per level group or groups (a launch's rows stay in L2 while it runs),
        # the launch's rows zeroed just before: by a memset, or by the launch before (zero_next)
        launches = walk_launches(groups)
        by_launch = WALK_LAUNCH.get("chunk_by_launch") or ()
        chunk_of = [by_launch[i] if i < len(by_launch) and by_launch[i] else WALK_LAUNCH["chunk"]
                    for i in range(len(launches))]
        blocks_of = [triton.cdiv(n, c * chunks) for c in chunk_of]
        # launch i's rows zeroed by launch i - 1 where zero_next says so (one flag for all, or one
        # per launch) and it has enough warps to share the work (not small batches), else a memset
        flags = WALK_LAUNCH["zero_next"]
        flags = [*flags, *[False] * len(launches)] if isinstance(flags, (tuple, list)) else [flags] * len(launches)
        by_previous = [False] + [bool(flags[i - 1]) and blocks_of[i - 1] * warps >= ZERO_MIN_WARPS
                                 for i in range(1, len(launches))]
        memset_launches = [i for i in range(len(launches)) if zero_each and not by_previous[i]
                           and not (i == 0 and zeroed_groups is not None)]

        def memset(i: int) -> None:
            first, count, stride = launches[i]
            if stride == 1:  # the launch's groups are one block of rows
                gtable[layout.group_rows(first, meta["LG"])[0]:
                       layout.group_rows(first + count - 1, meta["LG"])[1]].zero_()
            else:
                for g in range(first, first + count * stride, stride):
                    lo, hi = layout.group_rows(g, meta["LG"])
                    gtable[lo:hi].zero_()

        # launches started as programmatic dependents of the kernel before (WALK_LAUNCH["pdl"]:
        # the first one's wait mode, the later ones'), not after a memset of their own
        pdl = WALK_LAUNCH.get("pdl") or (0, 0)
        if pdl[0] not in (0, 1) or pdl[1] not in (0, 1, 2):
            # mode 2 reads d out before its wait: only after a launch that waited for d out's maker
            raise ValueError(f"WALK_LAUNCH['pdl'] = {pdl}: the first launch's mode is 0 or 1, the later ones' 0, 1 or 2")
        pdl = [pdl[0]] + [pdl[1]] * (len(launches) - 1) if _pdl_ok(x.device) else [0] * len(launches)
        pdl = [0 if i in memset_launches else mode for i, mode in enumerate(pdl)]
        for i, (first, count, stride) in enumerate(launches):
            if i in memset_launches:
                memset(i)
            extra: dict = {}
            if any(pdl):
                extra = {"PDL_TRIGGER": i + 1 < len(launches) and bool(pdl[i + 1]), "PDL_WAIT": pdl[i],
                         "launch_pdl": bool(pdl[i])}
            if zero_each and i + 1 < len(launches) and by_previous[i + 1]:
                nfirst, ncount, nstride = launches[i + 1]
                extra = {**extra, **_zero_shares(layout, meta, range(nfirst, nfirst + ncount * nstride, nstride),
                                                 blocks_of[i]),
                         "NEXT0": nfirst, "NEXT_COUNT": ncount, "NEXT_STRIDE": nstride}
            _encode_bwd_walk[(blocks_of[i], count)](
                x, ints, scale, _words(grad_out, meta), gtable, n, size,
                L=meta["L"], LG=meta["LG"], ELEM=meta["ELEM"], POW2=meta["POW2"], BIG=meta["BIG"],
                CHUNK=chunk_of[i], CHUNKS=chunks, RED=_reduction_kind(scatter, x.device, features),
                num_warps=warps, EVICT=BACKWARD_LAUNCH["evict"], GROUP0=first, GSTRIDE=stride, COUNT=count,
                enable_fp_fusion=False, **extra)
    elif zero_each:  # no samples: nothing to add
        gtable.zero_()
    elif n and (table_grad or x_grad):
        dummy = table
        _encode_bwd[grid](
            x, _words(table, meta), ints, scale, _words(grad_out, meta),
            gtable if gtable is not None else dummy, gx if gx is not None else dummy,
            keys if keys is not None else dummy, _words(vals, meta) if vals is not None else dummy,
            n, size, BLOCK=block, TABLE_GRAD=table_grad, SORT=sort, X_GRAD=x_grad,
            RED=_reduction_kind(scatter, x.device, features), RUNS=table_grad and scatter in ("runs", "walk"),
            num_warps=backward_warps(block, meta["LG"], num_warps or BACKWARD_LAUNCH["num_warps"]),
            EVICT=BACKWARD_LAUNCH["evict"],
            TR=bool(BACKWARD_LAUNCH["transposed"]), enable_fp_fusion=False, **meta)
    if sort and keys is not None and vals is not None and gtable is not None and n:
        keys, order = torch.sort(keys)
        vals = vals[order]
        seg_block = 1024
        _segment_sum[(triton.cdiv(keys.numel(), seg_block),)](
            keys, vals, gtable, keys.numel(), F=features, FP=_pow2(features), BLOCK=seg_block, num_warps=4)
    if gtable is not None and gtable.dtype != table.dtype:
        gtable = gtable.to(table.dtype)
    if gx is not None:
        gx = (gx[0] if gx.shape[0] == 1 else gx.sum(0)).to(x.dtype)
    return gx, gtable


def encode_backward_backward(x: torch.Tensor, table: torch.Tensor, levels: reference.Levels,
                             grad_out: torch.Tensor, grad_gx: torch.Tensor, gout_grad: bool = True,
                             table_grad: bool = True, block: int = 64, levels_per_program: int = 4,
                             num_warps: int = 4) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Backward of ``encode_backward``'s x gradient: given ``grad_gx`` = d loss / d gx (N, 3),
    returns d loss / d grad_out (N, L * F) float32 and d loss / d table (rows, F) in the table's
    dtype. The term d loss / d x (second derivatives of the weights) is not computed: callers
    differentiate with respect to a fresh leaf ``x`` that carries no parameters (NeuS)."""
    n = x.shape[0]
    x = x.contiguous()
    table = table.contiguous()
    ints, scale, layout, launch = _launch_args(x, table, levels)
    n_levels, features, size = launch["L"], launch["F"], layout.hash_rows
    meta = {key: launch[key] for key in ("L", "F", "POW2", "BIG")}  # unpacked tables: no PACK/ELEM
    meta["LG"] = min(_pow2(n_levels), levels_per_program)
    ggout = torch.empty(n, n_levels * features, device=x.device, dtype=torch.float32) if gout_grad else None
    gtable = torch.zeros(table.shape, device=x.device, dtype=torch.float32) if table_grad else None
    if n and (gout_grad or table_grad):
        dummy = grad_gx
        _encode_bwd2[(triton.cdiv(n, block), triton.cdiv(n_levels, meta["LG"]), features)](
            x, table, ints, scale, grad_out.to(torch.float32).contiguous(),
            grad_gx.to(torch.float32).contiguous(), ggout if ggout is not None else dummy,
            gtable if gtable is not None else dummy, n, size, BLOCK=block, GOUT_GRAD=gout_grad,
            TABLE_GRAD=table_grad, num_warps=num_warps, EVICT="", enable_fp_fusion=False, **meta)
    if gtable is not None and gtable.dtype != table.dtype:
        gtable = gtable.to(table.dtype)
    return ggout, gtable


# Whether the forward kernel zeroes the table gradient's buffer when the table requires a gradient
# (instead of a separate memset before the backward); the buffer then lives from the forward on.
ZERO_IN_FORWARD = True

# How a backward with create_graph=True is differentiated: "kernel" (HashEncodeBackward) or
# "reference" (autograd through the PyTorch reference); see benchmarks/RESULTS.md for which is faster.
SECOND_ORDER: Literal["kernel", "reference"] = "kernel"


def _grad_used(ctx, index: int, tensor_index: int | None = None) -> bool:
    """Whether the backward running now uses the gradient of input ``index`` (``tensor_index``:
    its place among the tensor inputs, where arguments before it are not tensors). ``needs_input_grad``
    only says that the input requires one: ``autograd.grad(sdf, x)`` (NeuS' normals and eikonal
    term) asks for x's alone, and the table's, zeroed and scattered, would be thrown away. The
    engine can tell for a node that is not a leaf's (``hash_encode`` passes the table through a
    view for this); for a leaf inside ``autograd.grad``, or a PyTorch without the call, it is
    assumed used."""
    if not ctx.needs_input_grad[index]:
        return False
    node = ctx.next_functions[index if tensor_index is None else tensor_index][0]
    try:
        return node is None or bool(torch._C._will_engine_execute_node(node))
    except (AttributeError, RuntimeError):
        return True


class HashEncodeBackward(torch.autograd.Function):
    """The kernels' first-order backward as a differentiable function of (table, grad_out): what
    a backward with ``create_graph=True`` (NeuS' eikonal loss) builds its graph from."""

    @staticmethod
    def forward(ctx, x, table, levels, grad_out, scatter, need_x, need_table):
        ctx.save_for_backward(x, table, grad_out)
        ctx.levels = levels
        gx, gtable = encode_backward(x, table, levels, grad_out, x_grad=need_x, table_grad=need_table,
                                     scatter=scatter)
        return gx, gtable

    @staticmethod
    def backward(ctx, grad_gx, grad_gtable):
        x, table, grad_out = ctx.saved_tensors
        levels = ctx.levels
        need_table, need_gout = _grad_used(ctx, 1), _grad_used(ctx, 3, tensor_index=2)  # levels: no tensor
        d_gout = d_table = None
        if grad_gx is not None and (need_table or need_gout):
            d_gout, d_table = encode_backward_backward(x, table, levels, grad_out, grad_gx,
                                                       gout_grad=need_gout, table_grad=need_table)
        if grad_gtable is not None and need_gout:
            # gtable = sum of grad_out * w over the corners: its adjoint is the forward encoding
            extra = encode_forward(x, grad_gtable.to(table.dtype), levels).float()
            d_gout = extra if d_gout is None else d_gout + extra
        if d_gout is not None:
            d_gout = d_gout.to(grad_out.dtype)
        return None, d_table, None, d_gout, None, None, None


class HashEncode(torch.autograd.Function):
    """Autograd wrapper: Triton forward, backward and (for create_graph) second-order backward."""

    @staticmethod
    def forward(ctx, x, table, levels, scatter, zero_grad_buffer):
        ctx.save_for_backward(x, table)
        ctx.levels = levels
        ctx.scatter = scatter
        # the table gradient's buffer, zeroed by the forward kernel (``hash_encode`` asks for it
        # when a graph is recorded and the table needs a gradient): all of it, or ("first") the
        # walk's first launch's rows; the first first-order backward adds into it, any later one
        # (retain_graph) starts from new zeros
        ctx.zeroed = None
        ctx.zeroed_groups = None
        zero_by = None
        if zero_grad_buffer == "first":
            ctx.zeroed_groups = walk_first_groups(levels.scale.shape[0], table.shape[1])
            setting = WALK_LAUNCH.get("forward_zeroes_first")
            zero_by = None if setting == "own" else setting
        if zero_grad_buffer and (zero_grad_buffer != "first" or ctx.zeroed_groups is not None):
            ctx.zeroed = torch.empty(table.shape, device=table.device, dtype=torch.float32)
        return encode_forward(x, table, levels, zero=ctx.zeroed, zero_groups=ctx.zeroed_groups, zero_by=zero_by)

    @staticmethod
    def backward(ctx, grad_out):
        x, table = ctx.saved_tensors
        levels = ctx.levels
        need_x, need_table = _grad_used(ctx, 0), _grad_used(ctx, 1)
        if not (need_x or need_table):
            return None, None, None, None, None
        if torch.is_grad_enabled() and SECOND_ORDER == "reference":
            # create_graph=True: differentiate the reference so the result is itself differentiable
            inputs = [t for t, need in ((x, need_x), (table, need_table)) if need]
            with torch.enable_grad():
                out = reference.hash_encode(x, table, levels)
                grads = list(torch.autograd.grad(out, inputs, grad_out, create_graph=True))
            gx = grads.pop(0) if need_x else None
            gtable = grads.pop(0) if need_table else None
        elif torch.is_grad_enabled():  # create_graph=True: the result must itself be differentiable
            gx, gtable = HashEncodeBackward.apply(x, table, levels, grad_out, ctx.scatter, need_x, need_table)
        else:
            zeroed, ctx.zeroed = ctx.zeroed, None
            gx, gtable = encode_backward(x, table, levels, grad_out, x_grad=need_x, table_grad=need_table,
                                         scatter=ctx.scatter, zeroed=zeroed,
                                         zeroed_groups=ctx.zeroed_groups if zeroed is not None else None)
        return gx, gtable, None, None, None


def resolve_scatter(scatter: Scatter | None) -> Scatter:
    """``scatter`` or the default, with "auto" made concrete: "walk" while a CUDA graph is being
    captured (its launches then cost nothing: 0.275 against 0.300 ms per step on rays, H100),
    else "runs" (launched one by one, the walk's four launches cost the host ~0.3 ms, and NeRF
    training on an H100 made 11% fewer steps in 60 s)."""
    scatter = scatter or DEFAULT_SCATTER
    if scatter == "auto":
        return "walk" if torch.cuda.is_available() and torch.cuda.is_current_stream_capturing() else "runs"
    return scatter


def hash_encode(x: torch.Tensor, table: torch.Tensor, levels: reference.Levels,
                scatter: Scatter | None = None) -> torch.Tensor:
    """Encode (N, 3) points in [0, 1]^3 with the (rows, F) table -> (N, L * F) features (Triton);
    ``scatter``: how the backward adds the table gradient (default ``DEFAULT_SCATTER``)."""
    # Function.forward sees needs_input_grad True under no_grad too: ask here whether a graph is made
    scatter = resolve_scatter(scatter)
    zero = ZERO_IN_FORWARD and torch.is_grad_enabled() and table.requires_grad
    if scatter == "walk" and _walk_zeroes_per_launch() and not x.requires_grad:
        # the backward zeroes each level group's rows just before adding into them; the forward
        # may take the first launch's (WALK_LAUNCH["forward_zeroes_first"])
        zero = "first" if zero and WALK_LAUNCH.get("forward_zeroes_first") is not None else False
    if x.requires_grad and table.requires_grad and torch.is_grad_enabled():
        # a node the engine can say is unused when a backward asks for x's gradient alone (_grad_used)
        table = table.view_as(table)
    return HashEncode.apply(x, table, levels, scatter, zero)
