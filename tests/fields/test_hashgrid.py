"""Hash encoding: hand-computed lookups, trilinear weights, gradients, level masks."""
from __future__ import annotations

import math

import pytest
import torch

from meshcast.fields.hashgrid import (
    PRIMES,
    HashGrid,
    HashGridConfig,
    Levels,
    corner_indices,
    flatten_level_tables,
    from_tcnn_params,
    hash_encode,
    tcnn_encoding_config,
    to_tcnn_params,
)


def test_levels_follow_tiny_cuda_nn():
    """Scales 2**(l log2 b) N_min - 1, vertices ceil(scale) + 1, rows min(8-aligned R^3, T)."""
    cfg = HashGridConfig(levels=4, base_resolution=16, finest_resolution=128, log2_table_size=16)
    assert cfg.growth == pytest.approx(2.0)
    assert cfg.scales() == [15.0, 31.0, 63.0, 127.0]
    assert cfg.resolutions() == [16, 32, 64, 128]
    assert cfg.level_sizes() == [4096, 32768, 65536, 65536]
    lv = Levels.of(cfg)
    assert lv.hashed.tolist() == [False, False, True, True]
    default = HashGridConfig()
    assert default.resolutions()[0] == 16 and default.resolutions()[-1] == 2048
    assert default.level_sizes()[1] == 23**3 + 1  # 12167 rounded up to a multiple of 8


def test_dense_and_hashed_indices_hand_computed():
    cell = torch.tensor([[[[1, 2, 3]], [[1, 2, 3]], [[4, 4, 4]]]])  # (N=1, L=3, 8->1, 3)
    lv = Levels.packed(torch.tensor([2.5, 99.0, 2.5]), torch.tensor([4, 100, 4]), torch.tensor([64, 2**10, 64]),
                       torch.tensor([False, True, False]))
    rows = corner_indices(cell, lv)
    assert rows[0, 0, 0] == 1 + 2 * 4 + 3 * 16  # i + j R + k R^2
    assert rows[0, 1, 0] == ((1 * PRIMES[0]) ^ (2 * PRIMES[1]) ^ (3 * PRIMES[2])) % 2**10
    assert rows[0, 2, 0] == (4 + 4 * 4 + 4 * 16) % 64  # a corner one past the grid wraps


def test_trilinear_interpolation_of_a_linear_table_is_exact():
    # one dense level of scale 2 (3 vertices per axis) whose features are the corner coordinates:
    # the interpolated feature must equal x * 2 + 0.5 (where the cell stays inside the grid)
    lv = Levels.packed(torch.tensor([2.0]), torch.tensor([3]), torch.tensor([32]), torch.tensor([False]))
    table = torch.zeros(32, 3)
    for i in range(3):
        for j in range(3):
            for k in range(3):
                table[i + 3 * j + 9 * k] = torch.tensor([i, j, k], dtype=torch.float32)
    x = torch.tensor([[0.1, 0.5, 0.7], [0.25, 0.7, 0.0]])
    out = hash_encode(x, table, lv)
    torch.testing.assert_close(out, x * 2 + 0.5)


def test_gradients_match_finite_differences():
    torch.manual_seed(0)
    grid = HashGrid(HashGridConfig(levels=3, log2_table_size=8, base_resolution=4, finest_resolution=16)).double()
    with torch.no_grad():
        grid.table.normal_()
    x = torch.rand(5, 3, dtype=torch.float64) * 0.9 + 0.05
    assert torch.autograd.gradcheck(lambda t: hash_encode(x, t, grid.levels), (grid.table,))
    assert torch.autograd.gradcheck(lambda p: hash_encode(p, grid.table, grid.levels), (x.requires_grad_(),))


def test_table_is_tcnn_parameter_layout():
    """One (rows, F) table, level l from row sum(S_k, k < l), features innermost: tiny-cuda-nn's
    flat parameter vector itself (a view, no copy)."""
    cfg = HashGridConfig(levels=5, log2_table_size=12, base_resolution=4, finest_resolution=64)
    grid = HashGrid(cfg)
    sizes = cfg.level_sizes()
    assert grid.table.shape == (sum(sizes), 2)
    assert cfg.level_offsets() == [0, *[sum(sizes[:k]) for k in range(1, 5)]]
    assert grid.levels.offset.tolist() == cfg.level_offsets()
    flat = to_tcnn_params(grid.table)
    assert flat.numel() == sum(sizes) * cfg.features_per_level
    assert flat.data_ptr() == grid.table.data_ptr()
    level2 = sum(sizes[:2]) * 2
    assert flat[level2 + 6: level2 + 8].tolist() == grid.table[sum(sizes[:2]) + 3].tolist()
    assert torch.equal(from_tcnn_params(flat, 2), grid.table)
    config = tcnn_encoding_config(cfg)
    assert (config["n_levels"], config["log2_hashmap_size"], config["base_resolution"]) == (5, 12, 4)
    assert math.isclose(config["per_level_scale"], cfg.growth)


def test_tables_of_the_old_per_level_layout_load():
    """A state dict with (L, T, F) tables (meshcast 0.3) loads into the one-table layout and
    encodes exactly as those tables did; a table of another grid is refused."""
    cfg = HashGridConfig(levels=4, log2_table_size=10, base_resolution=4, finest_resolution=48)
    sizes = cfg.level_sizes()
    assert sizes[0] < 2**10 == sizes[-1]  # dense levels used fewer than T rows
    old = torch.randn(4, 2**10, 2, generator=torch.Generator().manual_seed(3))
    x = torch.rand(200, 3, generator=torch.Generator().manual_seed(4))
    # what 0.3 computed: level l's rows offset by l * T in its (L * T, F) view
    levels = Levels.of(cfg)
    spread = Levels(*levels[:4], torch.arange(4) * 2**10)
    before = hash_encode(x, old.reshape(-1, 2), spread)
    grid = HashGrid(cfg)
    grid.load_state_dict({"table": old})
    assert grid.table.shape == (sum(sizes), 2)
    torch.testing.assert_close(grid(x), before, rtol=0, atol=0)
    assert torch.equal(flatten_level_tables(old, sizes)[sizes[0]:sizes[0] + 5], old[1, :5])
    with pytest.raises(ValueError, match="do not hold 4 levels"):
        flatten_level_tables(torch.zeros(4, 100, 2), sizes)


def test_level_mask_zeroes_fine_levels():
    grid = HashGrid(HashGridConfig(levels=4, features_per_level=2, log2_table_size=10, base_resolution=4, finest_resolution=32))
    with torch.no_grad():
        grid.table.fill_(1.0)
    grid.set_active_levels(2)
    out = grid(torch.rand(3, 3))
    torch.testing.assert_close(out[:, :4], torch.ones(3, 4))
    assert torch.all(out[:, 4:] == 0.0)
    # the mask is remade only when the count changes (training sets it every step), and is right
    # again after another count
    for active, expected in ((2, [1, 1, 0, 0]), (4, [1, 1, 1, 1]), (4, [1, 1, 1, 1]), (1, [1, 0, 0, 0])):
        grid.set_active_levels(active)
        assert grid.level_mask.tolist() == expected


def away_from_cell_borders(x: torch.Tensor, levels: Levels, margin: float = 2e-3) -> torch.Tensor:
    """The points whose position in every level's cell is at least ``margin`` from a border."""
    from meshcast.fields.hashgrid import cell_positions

    frac = cell_positions(x, levels) % 1.0
    return x[((frac > margin) & (frac < 1 - margin)).flatten(1).all(1)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="tiny-cuda-nn comparison needs CUDA")
@pytest.mark.parametrize("settings, tol", [
    # growth exactly 2: scales 15, 31, 63... are exact in tiny-cuda-nn's fast-math exp2f too
    ({"levels": 6, "log2_table_size": 14, "base_resolution": 16, "finest_resolution": 512}, 1e-5),
    # issue 8's grid; fast-math exp2f scales are a few float32 ulps off the reference's, i.e. up
    # to ~2e-4 cells at the finest level
    ({"levels": 16, "log2_table_size": 19, "base_resolution": 16, "finest_resolution": 2048}, 1e-3)])
def test_tcnn_matches_reference(settings, tol):
    """tiny-cuda-nn and the reference on the same table: outputs, x and table gradients, and the
    NeuS second order (eikonal loss through the x gradient) to the table, on points that are not
    on a cell border (where the x gradient jumps, so a last-bit difference in the scale flips it)."""
    pytest.importorskip("tinycudann")
    torch.manual_seed(0)
    grids = {b: HashGrid(HashGridConfig(backend=b, **settings)).cuda() for b in ("tcnn", "torch")}
    with torch.no_grad():
        grids["tcnn"].table.normal_()
    grids["torch"].load_state_dict(grids["tcnn"].state_dict())
    x = away_from_cell_borders(torch.rand(20000, 3, device="cuda"), grids["torch"].levels)
    assert x.shape[0] > 10000
    w = torch.randn(grids["tcnn"].output_dim, device="cuda")
    results = {}
    for backend, grid in grids.items():
        assert grid.implementation(x) == backend
        p = x.clone().requires_grad_(True)
        out = grid(p)
        sdf = torch.tanh(out @ w)
        gx, gt = torch.autograd.grad(sdf.sum(), [p, grid.table], create_graph=True)
        eik = torch.autograd.grad(((gx.norm(dim=-1) - 1) ** 2).mean(), grid.table)[0]
        results[backend] = (out, gx, gt, eik)
    errors = {name: ((a.double() - b.double()).norm() / b.double().norm()).item()
              for a, b, name in zip(results["tcnn"], results["torch"], ("out", "d_x", "d_table", "eikonal d_table"))}
    assert max(errors.values()) < tol, errors


def test_backend_choice_without_cuda(monkeypatch):
    """auto and torch take the reference on the CPU; asking for the kernels there is an error."""
    import importlib.util

    from meshcast.errors import MissingDependencyError, UsageError

    x = torch.rand(8, 3)
    assert not HashGrid(HashGridConfig(levels=2, log2_table_size=8)).uses_triton(x)
    assert not HashGrid(HashGridConfig(levels=2, log2_table_size=8, backend="torch")).uses_triton(x)
    assert HashGrid(HashGridConfig(levels=2, log2_table_size=8)).implementation(x) == "torch"
    tcnn_grid = HashGrid(HashGridConfig(levels=2, log2_table_size=8, backend="tcnn"))
    with pytest.raises(MissingDependencyError if importlib.util.find_spec("tinycudann") is None else UsageError):
        tcnn_grid(x)  # tiny-cuda-nn runs on CUDA only
    forced = HashGrid(HashGridConfig(levels=2, log2_table_size=8, backend="triton"))
    if importlib.util.find_spec("triton") is None:
        with pytest.raises(MissingDependencyError):
            forced(x)
        return
    from meshcast.fields import hashgrid_triton

    monkeypatch.setattr(hashgrid_triton, "INTERPRETED", False)  # other tests may have turned it on
    with pytest.raises(UsageError, match="Triton hash encoding cannot run on cpu"):
        forced(x)
