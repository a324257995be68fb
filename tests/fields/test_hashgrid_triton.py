"""Triton hash encoding against the PyTorch reference, on the CPU through Triton's interpreter.

The interpreter set-up (a private copy of the kernels module, or this file again in a fresh
process when Triton was imported first) is ``tests/triton_interpreter.py``.

Tolerances: float32 tables match the reference to float32 rounding (sums in another order:
rel. 1e-5); float16 tables accumulate in float32 where the reference multiplies and sums in
float16, so both are compared with the float32 encoding of the same float16 table (Triton within
rel. 1e-3, the reference within 1e-2).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from triton_interpreter import (
    INTERPRETER_READY,
    load_interpreted,
    rerun_in_fresh_process,
    run_cuda_check,
)

from meshcast.fields import hashgrid as reference
from meshcast.fields.config import HashGridConfig

SOURCE = Path(reference.__file__).with_name("hashgrid_triton.py")
NAME = "meshcast_tests_hashgrid_triton_interpreted"


@pytest.fixture(scope="module")
def fast():
    """A private copy of the kernels module, decorated for the interpreter."""
    module = load_interpreted(SOURCE, NAME)
    assert module.interpreting()
    yield module
    sys.modules.pop(NAME, None)


@pytest.mark.skipif(INTERPRETER_READY, reason="the tests below ran in this process")
def test_in_a_fresh_process():
    rerun_in_fresh_process(__file__)


def grid_setup(levels=4, features=2, log2=10, base=4, finest=64, rows=None):
    """Level constants and a random (rows, features) table; ``rows`` overrides the (power-of-two)
    hashed levels' size."""
    cfg = HashGridConfig(levels=levels, features_per_level=features, log2_table_size=log2,
                         base_resolution=base, finest_resolution=finest)
    lv = reference.Levels.of(cfg)
    if rows:
        size = torch.minimum((lv.resolution**3 + 7) // 8 * 8, torch.tensor(rows))
        lv = reference.Levels.packed(lv.scale, lv.resolution, size, size < lv.resolution**3)
    table = torch.randn(int(lv.size.sum()), features)
    return lv, table


def points(n: int, lv, seed: int = 0) -> torch.Tensor:
    """Random points plus points on cell borders of every level, and the corners 0 and 1."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, generator=gen)
    borders = torch.stack([(torch.randint(1, int(r), (3,), generator=gen) - 0.5) / s
                           for s, r in zip(lv.scale.tolist(), lv.resolution.tolist())]).clamp(0, 1)
    return torch.cat([x, borders.float(), torch.zeros(1, 3), torch.ones(1, 3), torch.tensor([[0.5, 1.0, 0.0]])])


def ray_points(rays: int, samples: int, seed: int) -> torch.Tensor:
    """Samples 0.01 apart along random rays, ray after ray, as training lays them out."""
    gen = torch.Generator().manual_seed(seed)
    start = 0.2 + 0.6 * torch.rand(rays, 1, 3, generator=gen)
    d = torch.nn.functional.normalize(torch.randn(rays, 1, 3, generator=gen), dim=-1)
    return (start + d * torch.arange(samples).view(1, -1, 1) * 0.01).reshape(-1, 3).clamp(0, 1)


def encode_and_grads(fn, x, table, gout):
    x = x.clone().requires_grad_(True)
    table = table.clone().requires_grad_(True)
    out = fn(x, table)
    gx, gt = torch.autograd.grad(out, [x, table], gout)
    return out, gx, gt


def assert_rel(a: torch.Tensor, b: torch.Tensor, tol: float) -> None:
    err = ((a.double() - b.double()).norm() / b.double().norm()).item()
    assert err < tol, f"relative error {err:.3g} >= {tol}"


def test_linear_table_interpolates_exactly(fast):
    # one dense level of scale 2 (3 vertices) whose features are the corner coordinates: x * 2 + 0.5
    lv = reference.Levels.packed(torch.tensor([2.0]), torch.tensor([3]), torch.tensor([32]), torch.tensor([False]))
    table = torch.zeros(32, 3)
    for i in range(3):
        for j in range(3):
            for k in range(3):
                table[i + 3 * j + 9 * k] = torch.tensor([i, j, k], dtype=torch.float32)
    x = torch.tensor([[0.1, 0.5, 0.7], [0.25, 0.7, 0.0], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(fast.hash_encode(x, table, lv), x * 2 + 0.5)


@pytest.mark.parametrize("scatter", ["atomic", "sort", "runs", "walk"])
def test_float32_forward_and_gradients_match_reference(fast, scatter):
    torch.manual_seed(1)
    lv, table = grid_setup(levels=5, log2=10, base=4, finest=64)
    assert lv.hashed.any() and not lv.hashed.all()  # dense and hashed levels both exercised
    x = points(40, lv)
    gout = torch.randn(x.shape[0], len(lv.scale) * table.shape[1])
    ref = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table, gout)
    got = encode_and_grads(lambda p, t: fast.hash_encode(p, t, lv, scatter), x, table, gout)
    for a, b, name in zip(got, ref, ("out", "d_x", "d_table")):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * b.abs().max().item(), msg=name)


@pytest.mark.parametrize("layout", ["pair_rows", "rows"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_forward_tile_layouts_match_reference(fast, monkeypatch, layout, dtype):
    """The forward with every sample on two tile rows (one per x offset of its corners) or on
    one: the same features as the reference, for points along rays and scattered ones, and
    level groups that do not divide the levels."""
    monkeypatch.setitem(fast.FORWARD_LAUNCH, "pair_rows", layout == "pair_rows")
    torch.manual_seed(3)
    lv, table = grid_setup(levels=5, log2=10, base=4, finest=64)
    table = table.to(dtype)
    x = torch.cat([ray_points(4, 13, seed=4), points(60, lv, seed=3)])
    exact = reference.hash_encode(x, table.float(), lv)
    for group in (4, 2):
        got = fast.encode_forward(x, table, lv, levels_per_program=group).float()
        assert_rel(got, exact, 1e-6 if dtype == torch.float32 else 1e-3)


@pytest.mark.parametrize("interleave", [(2, (3, 0, 2, 1)), (1, (2, 3, 0, 1)), (4, (3, 2, 1, 0)), (2, (1, 0)),
                                        (3, (0, 1, 2, 3)), None])
def test_forward_with_level_groups_interleaved(fast, monkeypatch, interleave):
    """Level groups launched interleaved (consecutive programs take K groups of one sample block,
    in a given order): every sample and level still computed once, as the reference does. A
    setting for another number of groups, or a K that does not divide them, launches the groups
    one after the other."""
    monkeypatch.setitem(fast.FORWARD_LAUNCH, "pair_rows", True)
    monkeypatch.setitem(fast.FORWARD_LAUNCH, "interleave", interleave)
    torch.manual_seed(3)
    lv, table = grid_setup(levels=7, log2=10, base=4, finest=64)
    x = torch.cat([ray_points(4, 13, seed=4), points(60, lv, seed=3)])
    exact = reference.hash_encode(x, table, lv)
    for group in (2, 4):  # 4 and 2 level groups
        groups = -(-7 // group)
        used = interleave is not None and len(interleave[1]) == groups and groups % interleave[0] == 0
        assert bool(fast._forward_interleave(groups)) == used
        assert_rel(fast.encode_forward(x, table, lv, levels_per_program=group, block=16), exact, 1e-6)


@pytest.mark.parametrize("features, log2, n, min_warps", [(2, 10, 300, 0), (3, 9, 70, 0), (2, 10, 0, 0),
                                                        (2, 10, 1, 0), (2, 10, 300, 10**6)])
def test_forward_zeroes_the_gradient_buffer(fast, monkeypatch, features, log2, n, min_warps):
    """With a table that needs a gradient, the forward kernel (or, for few programs, a memset)
    zeroes the buffer the backward adds into: every element, for any batch (none, one, more
    blocks than rows); a second backward of the same graph (retain_graph) starts from new zeros
    and gets the same gradient."""
    monkeypatch.setattr(fast, "ZERO_MIN_WARPS", min_warps)  # 10**6: a memset, as for small batches
    torch.manual_seed(11)
    lv, table = grid_setup(levels=5, features=features, log2=log2, base=4, finest=64)
    buf = torch.full(table.shape, float("nan"))
    fast.encode_forward(torch.rand(n, 3), table, lv, zero=buf)
    assert (buf == 0).all()
    with pytest.raises(ValueError, match="contiguous float32"):
        fast.encode_forward(torch.rand(n, 3), table, lv, zero=buf.double())
    x = torch.rand(max(n, 1), 3)
    t = table.clone().requires_grad_(True)
    y = fast.hash_encode(x, t, lv)
    g = torch.randn_like(y)
    first = torch.autograd.grad(y, [t], g, retain_graph=True)[0]
    second = torch.autograd.grad(y, [t], g)[0]
    ref = torch.autograd.grad(reference.hash_encode(x, t, lv), [t], g)[0]
    assert_rel(first, ref, 1e-6)
    assert_rel(second, ref, 1e-6)


def test_forward_zeroes_the_walks_first_rows(fast, monkeypatch):
    """The forward, its level groups interleaved or not, zeroes the gradient rows of the walk's
    first launch (by each group's own programs, or all by one group's) and the walk's launches
    the rest: every row is zeroed, the gradient is the reference's; a backward that is not
    that walk (the x gradient too) zeroes the whole buffer again; the forward zeroes every row
    when asked for all, interleaved."""
    monkeypatch.setattr(fast, "ZERO_MIN_WARPS", 0)  # zeroing on the side even for a small batch
    monkeypatch.setitem(fast.WALK_LAUNCH, "chunk_by_launch", (8, 4, 4))
    torch.manual_seed(21)
    levels = 13  # four groups of four levels, the last of one
    lv, table = grid_setup(levels=levels, features=2, log2=8, base=4, finest=96)
    x = torch.cat([ray_points(2, 12, seed=22), points(6, lv, seed=23)])
    gout = torch.randn(x.shape[0], 2 * levels)
    _, ref_gx, ref_gt = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table, gout)
    assert fast.walk_first_groups(levels, 2) == (0, 1)  # the default: groups 0 and 1 by the forward's group 0
    assert fast.walk_first_groups(levels, 3) is None  # not a walk's table (three features)
    nan_empty = (torch, "empty", lambda *a, _empty=torch.empty, **k: _empty(*a, **k).fill_(float("nan")))
    for interleave, by in (((2, (3, 0, 2, 1)), "own"), ((2, (3, 0, 2, 1)), 3), (None, 1)):
        monkeypatch.setitem(fast.FORWARD_LAUNCH, "interleave", interleave)
        monkeypatch.setitem(fast.WALK_LAUNCH, "forward_zeroes_first", by)
        assert fast.walk_first_groups(levels, 2) == (0, 1)  # the default launches: groups 0 and 1 first
        assert bool(fast._forward_interleave(4)) == (interleave is not None)
        with monkeypatch.context() as m:
            m.setattr(*nan_empty)
            buf = torch.full(table.shape, float("nan"))
            fast.encode_forward(x, table, lv, zero=buf, zero_groups=(0, 1), zero_by=None if by == "own" else by)
            end = int(lv.offset[7] + lv.size[7])
            assert (buf[:end] == 0).all() and buf[end:].isnan().all()
            gx, gt = fast.encode_backward(x, table, lv, gout, scatter="walk", zeroed=buf, zeroed_groups=(0, 1))
            assert_rel(gt, ref_gt, 1e-6)
            assert_rel(gx, ref_gx, 1e-5)
            t = table.clone().requires_grad_(True)
            assert_rel(torch.autograd.grad(fast.hash_encode(x, t, lv, "walk"), [t], gout)[0], ref_gt, 1e-6)
            p = x.clone().requires_grad_(True)  # the x gradient too: the forward zeroes every row
            gx, gt = torch.autograd.grad(fast.hash_encode(p, t, lv, "walk"), [p, t], gout)
            assert_rel(gt, ref_gt, 1e-6)
            assert_rel(gx, ref_gx, 1e-5)
            buf = torch.full(table.shape, float("nan"))
            fast.encode_forward(x, table, lv, zero=buf)
            assert (buf == 0).all()
    monkeypatch.setitem(fast.WALK_LAUNCH, "launches", ((0, 2), (1,), (3,)))  # a first launch of strided groups
    assert fast.walk_first_groups(levels, 2) is None


def test_no_gradient_buffer_without_a_graph(fast, monkeypatch):
    """Under no_grad (rendering, extraction) the forward neither allocates nor zeroes a buffer."""
    lv, table = grid_setup(levels=3, log2=8, base=4, finest=32)
    asked = []
    forward = fast.encode_forward
    monkeypatch.setattr(fast, "encode_forward", lambda *a, zero=None, **k: asked.append(zero) or forward(*a, zero=zero, **k))
    t = table.clone().requires_grad_(True)
    with torch.no_grad():
        fast.hash_encode(torch.rand(9, 3), t, lv)
    fast.hash_encode(torch.rand(9, 3), table, lv)  # a table without a gradient
    fast.hash_encode(torch.rand(9, 3), t, lv)
    assert [z is None for z in asked] == [True, True, False]


def test_backward_never_has_more_threads_than_tile_elements(fast):
    """Triton gives a tile element to two threads where a tile has fewer elements than threads;
    the inline-PTX reductions would then add it twice, so the launch caps the warps (the CUDA
    check below runs such launches against the reference)."""
    assert fast.backward_warps(32, 4, 4) == 4
    assert fast.backward_warps(32, 4, 8) == 4
    assert fast.backward_warps(32, 2, 4) == 2
    assert fast.backward_warps(8, 2, 4) == 1
    assert fast.backward_warps(128, 4, 8) == 8


def test_cached_level_constants_follow_the_grid(fast):
    """The kernels keep each grid's level constants between calls; a grid changed in place (a
    loaded checkpoint) or another grid must not reuse them."""
    torch.manual_seed(4)
    lv, table = grid_setup(levels=3, log2=9, base=3, finest=40)
    x = points(30, lv, seed=5)
    assert_rel(fast.hash_encode(x, table, lv), reference.hash_encode(x, table, lv), 1e-6)
    first = fast._level_tensors(lv, x.device)
    assert fast._level_tensors(lv, x.device)[0] is first[0]  # the same grid: built once
    other, table2 = grid_setup(levels=3, log2=9, base=5, finest=60)
    for mine, theirs in zip(lv, other):  # in place, as load_state_dict copies into buffers
        mine.copy_(theirs)
    assert fast._level_tensors(lv, x.device)[1][0] == other.scale[0]
    assert_rel(fast.hash_encode(x, table2, lv), reference.hash_encode(x, table2, lv), 1e-6)
    assert_rel(fast.hash_encode(x, table2, other), reference.hash_encode(x, table2, other), 1e-6)
    with torch.inference_mode():  # no version counters there: rebuilt at every call, still right
        frozen = reference.Levels(*(t.clone() for t in other))
        assert_rel(fast.hash_encode(x, table2, frozen), reference.hash_encode(x, table2, frozen), 1e-6)


@pytest.mark.parametrize("levels, features, levels_per_program", [(3, 1, 2), (3, 4, 4), (5, 3, 2)])
def test_other_feature_counts_and_level_groups(fast, levels, features, levels_per_program):
    torch.manual_seed(2)
    lv, table = grid_setup(levels=levels, features=features, log2=9, base=3, finest=40)
    x = points(20, lv, seed=3)
    gout = torch.randn(x.shape[0], levels * features)
    _, ref_gx, ref_gt = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table, gout)
    out = fast.encode_forward(x, table, lv, block=16, levels_per_program=levels_per_program)
    gx, gt = fast.encode_backward(x, table, lv, gout, block=16, levels_per_program=levels_per_program)
    assert_rel(out, reference.hash_encode(x, table, lv), 1e-6)
    assert_rel(gx, ref_gx, 1e-5)
    assert_rel(gt, ref_gt, 1e-6)


@pytest.mark.parametrize("features, block", [(2, 16), (3, 8)])
def test_runs_of_samples_along_rays_sum_before_adding(fast, features, block):
    """Samples along rays, as training gives them: consecutive samples share the coarse levels'
    cells, so "runs" sums them inside the block first; blocks end inside runs too."""
    torch.manual_seed(6)
    lv, table = grid_setup(levels=4, features=features, log2=10, base=4, finest=64)
    x = ray_points(5, 13, seed=7)
    gout = torch.randn(x.shape[0], 4 * features)
    _, ref_gx, ref_gt = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table, gout)
    gx, gt = fast.encode_backward(x, table, lv, gout, scatter="runs", block=block)
    assert_rel(gt, ref_gt, 1e-6)
    assert_rel(gx, ref_gx, 1e-5)


@pytest.mark.parametrize("chunk, chunks, group", [(16, 8, 4), (5, 4, 2), (1, 32, 4)])
def test_walk_carries_shared_corners_to_the_next_sample(fast, monkeypatch, chunk, chunks, group):
    """scatter="walk": consecutive samples hand on the sums of the corners they share (same
    cell, or cells that share a face, edge or vertex: fine levels along rays, with steps of
    about a cell), across chunk ends, level groups that do not divide the levels, points that
    jump about, and a batch that ends inside a chunk. Each row gets each sample's gradient once."""
    torch.manual_seed(12)
    lv, table = grid_setup(levels=5, features=2, log2=10, base=4, finest=64)
    gen = torch.Generator().manual_seed(13)
    start = 0.1 + 0.8 * torch.rand(6, 1, 3, generator=gen)
    d = torch.nn.functional.normalize(torch.randn(6, 1, 3, generator=gen), dim=-1)
    steps = torch.tensor([0.004, 0.01, 0.02, 0.03, 0.05, 0.004]).view(-1, 1, 1)  # 1/4 to 3 cells
    rays = (start + d * torch.arange(17).view(1, -1, 1) * steps).reshape(-1, 3).clamp(0, 1)
    x = torch.cat([rays, points(10, lv, seed=14), rays[:7].flip(0)])
    gout = torch.randn(x.shape[0], 10)
    _, ref_gx, ref_gt = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table, gout)
    monkeypatch.setitem(fast.WALK_LAUNCH, "chunk", chunk)
    monkeypatch.setitem(fast.WALK_LAUNCH, "chunks", chunks)
    monkeypatch.setitem(fast.WALK_LAUNCH, "chunk_by_launch", None)  # chunk in every launch
    for x_grad, split, launches, zero, zero_next, min_warps in (
            (False, False, None, False, False, 0), (True, False, None, False, False, 0),
            (False, True, None, False, False, 0), (False, True, None, True, False, 0),
            (False, True, None, True, True, 0), (True, True, None, True, True, 0),
            (False, True, None, True, True, 10**6),
            # groups launched together, strided, out of order, past the grid's groups
            (False, True, ((0, 2), (1,)), True, True, 0), (False, True, ((1,), (0, 2, 4)), True, True, 0),
            (False, True, ((2,), (0, 1)), True, False, 0), (False, False, ((1, 2),), False, False, 0),
            (False, True, None, True, (False, True), 0), (False, True, None, True, (True,), 0)):
        monkeypatch.setitem(fast.WALK_LAUNCH, "split", split)  # one launch per level group
        monkeypatch.setitem(fast.WALK_LAUNCH, "launches", launches)  # ... or these groups together
        monkeypatch.setitem(fast.WALK_LAUNCH, "zero_per_group", zero)  # each group's rows zeroed before it
        monkeypatch.setitem(fast.WALK_LAUNCH, "zero_next", zero_next)  # ... by the launch before
        monkeypatch.setattr(fast, "ZERO_MIN_WARPS", min_warps)  # 10**6: memsets (a small batch)
        with monkeypatch.context() as m:  # new buffers full of NaN: every row must be zeroed first
            m.setattr(torch, "empty", lambda *a, _empty=torch.empty, **k: _empty(*a, **k).fill_(float("nan")))
            gx, gt = fast.encode_backward(x, table, lv, gout, x_grad=x_grad, scatter="walk",
                                          levels_per_program=group)
        assert_rel(gt, ref_gt, 1e-6)
        if x_grad:
            assert_rel(gx, ref_gx, 1e-5)
    # other samples per thread in some launches, each launch zeroing the next one's rows
    monkeypatch.setitem(fast.WALK_LAUNCH, "launches", ((1,), (0, 2)))
    monkeypatch.setitem(fast.WALK_LAUNCH, "chunk_by_launch", (3, 0, 9))
    with monkeypatch.context() as m:
        m.setattr(torch, "empty", lambda *a, _empty=torch.empty, **k: _empty(*a, **k).fill_(float("nan")))
        _, gt = fast.encode_backward(x, table, lv, gout, x_grad=False, scatter="walk", levels_per_program=group)
    assert_rel(gt, ref_gt, 1e-6)
    monkeypatch.undo()  # the default launches
    _, gt = fast.encode_backward(x, table, lv, gout, x_grad=False, table_grad=True, scatter="walk")
    assert_rel(gt, ref_gt, 1e-6)
    gx, gt = fast.encode_backward(x, table, lv, gout, x_grad=True, table_grad=False, scatter="walk")
    assert gt is None
    assert_rel(gx, ref_gx, 1e-5)
    # through autograd, the forward leaving the zeroing to the backward; and an empty batch
    t = table.clone().requires_grad_(True)
    assert_rel(torch.autograd.grad(fast.hash_encode(x, t, lv, "walk"), [t], gout)[0], ref_gt, 1e-6)
    _, gt = fast.encode_backward(x[:0], table, lv, gout[:0], x_grad=False, scatter="walk")
    assert torch.equal(gt, torch.zeros_like(table))


def test_levels_that_do_not_fill_the_table(fast, monkeypatch):
    """Some of a grid's levels (absolute first rows, the whole table): the other rows get a zero
    gradient, whether the forward, the walk's launches or memsets zero the buffer; a table with
    fewer rows than the levels need is refused by name."""
    monkeypatch.setattr(fast, "ZERO_MIN_WARPS", 0)  # zeroing on the side even for a small batch
    torch.manual_seed(15)
    lv, table = grid_setup(levels=5, features=2, log2=10, base=4, finest=64)
    some = reference.Levels(*(t[1:4] for t in lv))
    x = torch.cat([ray_points(3, 20, seed=16), points(20, some, seed=17)])
    gout = torch.randn(x.shape[0], 6)
    _, _, ref_gt = encode_and_grads(lambda p, t: reference.hash_encode(p, t, some), x, table, gout)
    outside = torch.ones(table.shape[0], dtype=torch.bool)
    outside[int(lv.offset[1]):int(lv.offset[4])] = False
    assert outside.any() and not ref_gt[outside].any()
    with monkeypatch.context() as m:  # new buffers full of NaN: every row must be zeroed
        m.setattr(torch, "empty", lambda *a, _empty=torch.empty, **k: _empty(*a, **k).fill_(float("nan")))
        for scatter in ("walk", "runs"):
            t = table.clone().requires_grad_(True)
            got = torch.autograd.grad(fast.hash_encode(x, t, some, scatter), [t], gout)[0]
            assert_rel(got, ref_gt, 1e-6)
            assert not got[outside].any()
        _, got = fast.encode_backward(x, table, some, gout, x_grad=False, scatter="walk", levels_per_program=2)
        assert_rel(got, ref_gt, 1e-6)
    with pytest.raises(ValueError, match=r"a table of shape \(100, 2\) for levels that need"):
        fast.hash_encode(x, table[:100], lv)
    with pytest.raises(ValueError, match="one \\(rows, features\\) tensor"):
        fast.hash_encode(x, table.reshape(1, -1, 2), lv)


def test_walk_launches_plan(fast, monkeypatch):
    """``WALK_LAUNCH["launches"]``: each launch's level groups as (first, count, stride), groups
    past the grid's dropped, the rest launched alone; a launch that is not a sequence is refused."""
    monkeypatch.setitem(fast.WALK_LAUNCH, "launches", ((0, 1), (2,), (3,)))
    assert fast.walk_launches(4) == [(0, 2, 1), (2, 1, 1), (3, 1, 1)]
    assert fast.walk_launches(2) == [(0, 2, 1)]
    monkeypatch.setitem(fast.WALK_LAUNCH, "launches", ((0, 3), (1,)))
    assert fast.walk_launches(4) == [(0, 2, 3), (1, 1, 1), (2, 1, 1)]
    assert fast.walk_launches(3) == [(0, 1, 1), (1, 1, 1), (2, 1, 1)]
    monkeypatch.setitem(fast.WALK_LAUNCH, "launches", ((0, 1, 3),))
    with pytest.raises(ValueError, match="arithmetic"):
        fast.walk_launches(4)
    monkeypatch.setitem(fast.WALK_LAUNCH, "launches", None)
    monkeypatch.setitem(fast.WALK_LAUNCH, "split", False)
    assert fast.walk_launches(3) == [(0, 3, 1)]


def test_walk_refuses_unsafe_programmatic_launches(fast, monkeypatch):
    """``WALK_LAUNCH["pdl"]``: the first launch may not load d out before its wait (mode 2: its
    d out may come from the kernel just before it), and modes are 0-2. Without sm_90 (here: the
    interpreter) every launch is an ordinary one, and the gradient is the reference's."""
    lv, table = grid_setup(levels=5, features=2, log2=10, base=4, finest=64)
    x = points(40, lv, seed=3)
    gout = torch.randn(x.shape[0], 10)
    assert not fast._pdl_ok(x.device)
    for bad in ((2, 2), (1, 3)):
        monkeypatch.setitem(fast.WALK_LAUNCH, "pdl", bad)
        with pytest.raises(ValueError, match="first launch's mode"):
            fast.encode_backward(x, table, lv, gout, x_grad=False, scatter="walk")
    monkeypatch.setitem(fast.WALK_LAUNCH, "pdl", (1, 2))
    _, _, ref_gt = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table, gout)
    _, got = fast.encode_backward(x, table, lv, gout, x_grad=False, scatter="walk")
    assert torch.allclose(got, ref_gt, rtol=1e-5, atol=1e-6)


def test_auto_scatter_walks_only_inside_cuda_graphs(fast, monkeypatch):
    """The default scatter ("auto"): the walk while a CUDA graph is captured (its launches are
    free there), the runs when launched one by one; an explicit choice stays as it is."""
    assert fast.DEFAULT_SCATTER == "auto"
    assert fast.resolve_scatter(None) == "runs"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: True)
    assert fast.resolve_scatter(None) == "walk"
    assert fast.resolve_scatter("atomic") == "atomic"


@pytest.mark.parametrize("features", [2, 3])
@pytest.mark.parametrize("scatter", ["runs", "atomic", "sort", "walk"])
def test_backward_tile_layouts_match_reference(fast, monkeypatch, features, scatter):
    """The backward on [levels, samples] tiles (``BACKWARD_LAUNCH["transposed"]``, samples along a
    warp's lanes) and on [samples, levels] tiles: the reference's gradients, for samples along
    rays (runs that cross block ends) and uniform ones, with level groups that do not divide the
    level count."""
    torch.manual_seed(8)
    lv, table = grid_setup(levels=5, features=features, log2=10, base=4, finest=64)
    x = torch.cat([ray_points(4, 11, seed=9), points(20, lv, seed=9)])
    gout = torch.randn(x.shape[0], 5 * features)
    _, ref_gx, ref_gt = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table, gout)
    for transposed in (True, False):
        monkeypatch.setitem(fast.BACKWARD_LAUNCH, "transposed", transposed)
        for block, group in ((16, 4), (8, 2)):
            gx, gt = fast.encode_backward(x, table, lv, gout, scatter=scatter, block=block,
                                          levels_per_program=group)
            assert_rel(gt, ref_gt, 1e-6)
            assert_rel(gx, ref_gx, 1e-5)


def test_table_size_not_a_power_of_two(fast):
    torch.manual_seed(4)
    lv, table = grid_setup(levels=3, log2=9, base=4, finest=40, rows=300)
    x = points(30, lv, seed=5)
    gout = torch.randn(x.shape[0], 6)
    ref = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table, gout)
    got = encode_and_grads(lambda p, t: fast.hash_encode(p, t, lv), x, table, gout)
    for a, b in zip(got, ref):
        assert_rel(a, b, 1e-5)


def test_float16_tables(fast):
    torch.manual_seed(6)
    lv, table = grid_setup(levels=4, log2=10, base=4, finest=64)
    table16 = table.half()
    x = points(40, lv, seed=7)
    gout = torch.randn(x.shape[0], 8)
    exact = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table16.float(), gout)
    ref = encode_and_grads(lambda p, t: reference.hash_encode(p, t, lv), x, table16, gout.half())
    got = encode_and_grads(lambda p, t: fast.hash_encode(p, t, lv), x, table16, gout.half())
    assert got[0].dtype == torch.float16 and got[2].dtype == torch.float16 and got[1].dtype == torch.float32
    for a, r, e, name in zip(got, ref, exact, ("out", "d_x", "d_table")):
        assert_rel(a, e, 1e-3)
        assert_rel(r, e, 1e-2)  # the reference itself, rounding products in float16
        assert torch.isfinite(a).all(), name


def test_second_order_gradient_matches_reference(fast):
    # NeuS' eikonal loss on analytic gradients: a backward through a backward
    torch.manual_seed(8)
    lv, table = grid_setup(levels=3, log2=9, base=4, finest=32)
    weights = torch.randn(len(lv.scale) * table.shape[1])
    x = torch.rand(25, 3)

    def eikonal(encode):
        t = table.clone().requires_grad_(True)
        p = x.clone().requires_grad_(True)
        sdf = encode(p, t) @ weights
        (grad,) = torch.autograd.grad(sdf.sum(), p, create_graph=True)
        loss = ((grad.norm(dim=-1) - 1) ** 2).mean()
        return loss, torch.autograd.grad(loss, t)[0]

    ref_loss, ref_g = eikonal(lambda p, t: reference.hash_encode(p, t, lv))
    loss, g = eikonal(lambda p, t: fast.hash_encode(p, t, lv))
    torch.testing.assert_close(loss, ref_loss)
    assert g.abs().sum() > 0
    assert_rel(g, ref_g, 1e-5)


@pytest.mark.parametrize("features, mode", [(2, "kernel"), (3, "kernel"), (2, "reference")])
def test_second_order_through_a_network_matches_reference(fast, monkeypatch, features, mode):
    """d out depends on parameters (an MLP's weights in NeuS): the second-order kernel's
    gradients to the tables and to d out, and through the table gradient, match the reference."""
    monkeypatch.setattr(fast, "SECOND_ORDER", mode)
    torch.manual_seed(9)
    lv, table = grid_setup(levels=4, features=features, log2=9, base=3, finest=40)
    x = points(30, lv, seed=10).clamp(0, 1 - 1e-6)
    width = len(lv.scale) * features
    mlp = torch.randn(width, 4) * 0.5
    c, d = torch.randn(x.shape[0], 3), torch.randn(table.shape)

    def second_order(encode):
        t = table.clone().requires_grad_(True)
        w = mlp.clone().requires_grad_(True)
        p = x.clone().requires_grad_(True)
        sdf = torch.tanh(encode(p, t) @ w).sum(-1)  # d sdf / d features depends on t and w
        gx, gt = torch.autograd.grad(sdf.sum(), [p, t], create_graph=True)
        loss = (gx * c).sum() + ((gx.norm(dim=-1) - 1) ** 2).mean() + (gt * d).sum()
        return torch.autograd.grad(loss, [t, w])

    ref = second_order(lambda p, t: reference.hash_encode(p, t, lv))
    got = second_order(lambda p, t: fast.hash_encode(p, t, lv))
    for a, b, name in zip(got, ref, ("d_table", "d_mlp")):
        assert b.abs().sum() > 0, name
        assert_rel(a, b, 1e-5)


def test_x_gradient_alone_skips_the_table_gradient(fast, monkeypatch):
    """NeuS asks ``autograd.grad(sdf, x)`` for normals and the eikonal term while the table is a
    parameter: the kernels then compute x's gradient alone (no table gradient zeroed and thrown
    away), and ``loss.backward()`` afterwards still gives the reference's gradients."""
    calls = []
    real = fast.encode_backward

    def recording(*args, **kwargs):
        calls.append((kwargs["x_grad"], kwargs["table_grad"], torch.is_grad_enabled()))
        return real(*args, **kwargs)

    monkeypatch.setattr(fast, "encode_backward", recording)
    torch.manual_seed(12)
    lv, table = grid_setup(levels=4, log2=9, base=3, finest=40)
    x = points(30, lv, seed=13).clamp(0, 1 - 1e-6)
    mlp = torch.randn(len(lv.scale) * 2, 4) * 0.5

    def neus_step(encode):
        t = torch.nn.Parameter(table.clone())
        w = mlp.clone().requires_grad_(True)
        p = x.clone().requires_grad_(True)
        sdf = torch.tanh(encode(p, t) @ w).sum(-1)
        (gx,) = torch.autograd.grad(sdf.sum(), p, create_graph=True)
        loss = sdf.square().mean() + ((gx.norm(dim=-1) - 1) ** 2).mean()
        loss.backward()
        (normals,) = torch.autograd.grad(encode(p, t).sum(), p)  # first order, x alone
        return t.grad, w.grad, normals

    ref = neus_step(lambda p, t: reference.hash_encode(p, t, lv))
    got = neus_step(lambda p, t: fast.hash_encode(p, t, lv))
    for a, b, name in zip(got, ref, ("d_table", "d_mlp", "normals")):
        assert b.abs().sum() > 0, name
        assert_rel(a, b, 1e-5)
    # create_graph's backward (x alone), loss.backward's (table; x too: p is a leaf that
    # requires a gradient), the normals' (x alone)
    assert calls == [(True, False, False), (True, True, False), (True, False, False)]
    # a PyTorch that cannot tell (no such call): every gradient an input requires, as before
    calls.clear()
    monkeypatch.delattr(torch._C, "_will_engine_execute_node")
    got = neus_step(lambda p, t: fast.hash_encode(p, t, lv))
    for a, b in zip(got, ref):
        assert_rel(a, b, 1e-5)
    assert calls == [(True, True, False), (True, True, False), (True, True, False)]


def test_empty_batch_and_availability(fast):
    lv, table = grid_setup(levels=2, log2=8, base=4, finest=8)
    out = fast.hash_encode(torch.zeros(0, 3), table, lv)
    assert out.shape == (0, 4)
    assert fast.available(torch.zeros(1, 3), table)  # CPU tensors run in the interpreter
    assert not fast.available(torch.zeros(1, 3, dtype=torch.float64), table)
    assert not fast.available(torch.zeros(1, 3), table.double())


CUDA_CHECK = """
import torch
from meshcast.fields import hashgrid as reference, hashgrid_triton as fast
from meshcast.fields.config import HashGridConfig
assert not fast.interpreting() and fast.available(torch.zeros(1, 3, device="cuda"))
torch.manual_seed(0)
lv = reference.Levels.of(HashGridConfig(levels=6, log2_table_size=14, base_resolution=16, finest_resolution=406),
                         "cuda")
assert lv.hashed.any() and not lv.hashed.all()
for dtype, tol, pair_rows, transposed in ((torch.float32, 1e-5, False, False), (torch.float32, 1e-5, True, True),
                                          (torch.float16, 1e-3, True, False), (torch.float16, 1e-3, True, True)):
    fast.FORWARD_LAUNCH["pair_rows"] = pair_rows  # both forward tile layouts
    fast.BACKWARD_LAUNCH["transposed"] = transposed  # both backward tile layouts
    for scatter in ("atomic", "atomic_v2", "atomic_scalar", "sort", "runs", "walk"):
        table = torch.randn(int(lv.size.sum()), 2, device="cuda").to(dtype)
        uniform = torch.rand(5000, 3, device="cuda")
        # 50 rays of 100 samples: consecutive samples share cells, the case "runs" merges
        start, end = torch.rand(2, 50, 1, 3, device="cuda")
        along = torch.linspace(0, 1, 100, device="cuda")[None, :, None]
        rays = (start + along * (end - start)).reshape(-1, 3)
        for x in (uniform, rays):
            gout = torch.randn(5000, 12, device="cuda")
            def run(fn, t):
                p, t = x.clone().requires_grad_(), t.clone().requires_grad_()
                out = fn(p, t, lv)
                return (out,) + torch.autograd.grad(out, [p, t], gout.to(out.dtype))
            exact = run(reference.hash_encode, table.float())
            got = run(lambda *a: fast.hash_encode(*a, scatter=scatter), table)
            for a, b in zip(got, exact):
                err = ((a.double() - b.double()).norm() / b.double().norm()).item()
                assert err < tol, (dtype, scatter, pair_rows, transposed, x is rays, err)
# a second backward of the same graph (the first used the buffer the forward zeroed)
t = table.detach().float().clone().requires_grad_()
y = fast.hash_encode(x, t, lv)
first = torch.autograd.grad(y, [t], gout.float(), retain_graph=True)[0]
second = torch.autograd.grad(y, [t], gout.float())[0]
assert torch.equal(first, second) or ((first - second).norm() / first.norm()).item() < 1e-6
# more warps asked for than a tile has elements: every gradient is still added once
x = torch.rand(5000, 3, device="cuda")
table = torch.randn(int(lv.size.sum()), 2, device="cuda")
gout = torch.randn(5000, 12, device="cuda")
t = table.clone().requires_grad_()
(exact,) = torch.autograd.grad(reference.hash_encode(x, t, lv), [t], gout)
for transposed in (False, True):
    fast.BACKWARD_LAUNCH["transposed"] = transposed
    for block, group, warps in ((32, 4, 8), (32, 2, 4), (16, 4, 4), (32, 4, 2)):
        _, got = fast.encode_backward(x, table, lv, gout, x_grad=False, block=block, levels_per_program=group,
                                      num_warps=warps)
        err = ((got.double() - exact.double()).norm() / exact.double().norm()).item()
        assert err < 1e-5, ("warps", transposed, block, group, warps, err)
# the walk's launch plans (groups together, samples per thread by launch, zeroing by memsets or by
# the launch before), launched one by one and replayed from a CUDA graph
lv16 = reference.Levels.of(HashGridConfig(levels=16, log2_table_size=14, base_resolution=16,
                                          finest_resolution=2048), "cuda")
table = torch.randn(int(lv16.size.sum()), 2, device="cuda")
gout = torch.randn(rays.shape[0], 32, device="cuda")
t = table.clone().requires_grad_()
(exact,) = torch.autograd.grad(reference.hash_encode(rays, t, lv16), [t], gout)
# fn's result launched one by one (on a side stream: the warm-up a capture needs), a CUDA graph
# of fn, and the graph's result (fresh at each replay)
def eager_and_captured(fn):
    warm = torch.cuda.Stream()
    warm.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(warm):
        eager = fn()
    torch.cuda.current_stream().wait_stream(warm)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = fn()
    return eager, graph, captured
def rel_err(got):
    return ((got.double() - exact.double()).norm() / exact.double().norm()).item()
for launches, chunks, zero_next in ((((0, 1), (2,), (3,)), (32, 16, 16), False), (((0, 3), (1, 2)), None, True),
                                    (None, None, (False, True, False))):
    fast.WALK_LAUNCH.update(launches=launches, chunk_by_launch=chunks, zero_next=zero_next)
    eager, graph, captured = eager_and_captured(
        lambda: fast.encode_backward(rays, table, lv16, gout, x_grad=False, scatter="walk")[1])
    graph.replay()
    for got in (eager, captured):
        assert rel_err(got) < 1e-5, ("walk plan", launches, chunks, zero_next, rel_err(got))
# the walk's first launch's rows zeroed by the interleaved forward (each group its own, or one group's
# programs all of them), through autograd, launched one by one and replayed from a CUDA graph
fast.WALK_LAUNCH.update(launches=((0, 1), (2,), (3,)), chunk_by_launch=(32, 16, 16), zero_next=False)
fast.ZERO_MIN_WARPS = 0  # on the side even for this small batch
for by in ("own", 0, 3):
    fast.WALK_LAUNCH["forward_zeroes_first"] = by
    assert fast.walk_first_groups(16, 2) == (0, 1) and fast._forward_interleave(4)
    eager, graph, captured = eager_and_captured(
        lambda: torch.autograd.grad(fast.hash_encode(rays, t, lv16, "walk"), [t], gout)[0])
    graph.replay()
    for got in (eager, captured):
        assert rel_err(got) < 1e-5, ("forward zeroes first", by, rel_err(got))
# the walk's launches as programmatic dependents of the kernel before (sm_90 on): d out made by
# the kernel just before the first launch, the forward letting it start early, the later
# launches waiting after their first loads or at their start, with and without zeroing ahead
fast.WALK_LAUNCH["forward_zeroes_first"] = 0
pdl_default = fast.WALK_LAUNCH["pdl"]
for pdl, trigger, zero_next in (((1, 2), True, (True, True)), ((1, 1), True, (True, False)),
                                ((0, 2), False, False), ((1, 2), False, (False, True))):
    fast.WALK_LAUNCH.update(pdl=pdl, zero_next=zero_next)
    fast.FORWARD_LAUNCH["pdl"] = trigger
    eager, graph, captured = eager_and_captured(
        lambda: torch.autograd.grad(fast.hash_encode(rays, t, lv16, "walk"), [t], gout * 1.0)[0])
    for _ in range(3):
        graph.replay()
        for got in (eager, captured):
            assert rel_err(got) < 1e-5, ("programmatic launches", pdl, trigger, zero_next, rel_err(got))
fast.WALK_LAUNCH.update(pdl=pdl_default, zero_next=False)
fast.FORWARD_LAUNCH["pdl"] = False
fast.WALK_LAUNCH["forward_zeroes_first"] = None
# second order (NeuS' eikonal loss): gradients to the tables and to an MLP behind d out
mlp = torch.randn(12, 4, device="cuda") * 0.5
c = torch.randn(5000, 3, device="cuda")
table = torch.randn(int(lv.size.sum()), 2, device="cuda")
def eikonal(fn):
    t, w = table.clone().requires_grad_(), mlp.clone().requires_grad_()
    p = torch.rand(5000, 3, device="cuda", generator=torch.Generator("cuda").manual_seed(1)).requires_grad_()
    sdf = torch.tanh(fn(p, t, lv) @ w).sum(-1)
    (gx,) = torch.autograd.grad(sdf.sum(), p, create_graph=True)
    return torch.autograd.grad((gx * c).sum() + ((gx.norm(dim=-1) - 1) ** 2).mean(), [t, w])
for a, b in zip(eikonal(fast.hash_encode), eikonal(reference.hash_encode)):
    err = ((a.double() - b.double()).norm() / b.double().norm()).item()
    assert err < 1e-5, ("second order", err)
print("cuda kernels match")
"""


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the compiled kernels need CUDA")
def test_cuda_kernels_match_reference():
    # a fresh process: Triton in this one may be set up for the interpreter
    run_cuda_check(CUDA_CHECK, "cuda kernels match")


def test_hash_grid_module_selects_the_kernels(fast, monkeypatch):
    """HashGrid(backend='triton') runs the kernels and trains like backend='torch'."""
    import meshcast.fields
    from meshcast.fields.hashgrid import HashGrid

    monkeypatch.setitem(sys.modules, "meshcast.fields.hashgrid_triton", fast)
    monkeypatch.setattr(meshcast.fields, "hashgrid_triton", fast, raising=False)
    settings = {"levels": 4, "log2_table_size": 10, "base_resolution": 4, "finest_resolution": 48}
    torch.manual_seed(6)
    kernels = HashGrid(HashGridConfig(backend="triton", **settings))
    torch_grid = HashGrid(HashGridConfig(backend="torch", **settings))
    torch_grid.load_state_dict(kernels.state_dict())
    x = torch.rand(50, 3) * 1.2 - 0.1  # outside [0, 1] too: both clamp
    assert kernels.uses_triton(x) and not torch_grid.uses_triton(x)
    assert not HashGrid(HashGridConfig(**settings)).uses_triton(x)  # auto: kernels only on CUDA
    outs = []
    for grid in (kernels, torch_grid):
        out = grid(x)
        (grad,) = torch.autograd.grad((out * torch.arange(out.shape[1])).sum(), [grid.table])
        outs.append((out, grad))
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-5)
