"""Hash encoding: hand-computed lookups, trilinear weights, gradients, level masks."""
from __future__ import annotations

import math

import pytest
import torch

from meshcast.fields.hashgrid import PRIMES, HashGrid, HashGridConfig, corner_indices, hash_encode


def test_resolutions_follow_the_geometric_growth():
    cfg = HashGridConfig(levels=4, base_resolution=16, finest_resolution=128, log2_table_size=12)
    assert cfg.growth == pytest.approx(2.0)
    assert cfg.resolutions() == [16, 32, 64, 128]


def test_dense_and_hashed_indices_hand_computed():
    cell = torch.tensor([[[[1, 2, 3]], [[1, 2, 3]]]])  # (N=1, L=2, 8->1, 3)
    resolution = torch.tensor([3, 100])
    dense = torch.tensor([True, False])
    rows = corner_indices(cell, resolution, dense, 2**10)
    assert rows[0, 0, 0] == 1 + 2 * 4 + 3 * 16  # i + j (N+1) + k (N+1)^2
    assert rows[0, 1, 0] == ((1 * PRIMES[0]) ^ (2 * PRIMES[1]) ^ (3 * PRIMES[2])) % 2**10


def test_trilinear_interpolation_of_a_linear_table_is_exact():
    # one dense level of resolution 2 whose features equal the corner coordinates: the
    # interpolated feature must equal x * N exactly
    res = torch.tensor([2])
    dense = torch.tensor([True])
    table = torch.zeros(1, 27, 3)
    for i in range(3):
        for j in range(3):
            for k in range(3):
                table[0, i + 3 * j + 9 * k] = torch.tensor([i, j, k], dtype=torch.float32)
    x = torch.tensor([[0.1, 0.5, 0.9], [0.25, 0.75, 0.0]])
    out = hash_encode(x, table, res, dense)
    torch.testing.assert_close(out, x * 2)


def test_gradients_match_finite_differences():
    torch.manual_seed(0)
    grid = HashGrid(HashGridConfig(levels=3, log2_table_size=8, base_resolution=4, finest_resolution=16)).double()
    with torch.no_grad():
        grid.table.normal_()
    x = torch.rand(5, 3, dtype=torch.float64) * 0.9 + 0.05
    assert torch.autograd.gradcheck(lambda t: hash_encode(x, t, grid.resolution, grid.dense), (grid.table,))


def test_level_mask_zeroes_fine_levels():
    grid = HashGrid(HashGridConfig(levels=4, features_per_level=2, log2_table_size=10, base_resolution=4, finest_resolution=32))
    with torch.no_grad():
        grid.table.fill_(1.0)
    grid.set_active_levels(2)
    out = grid(torch.rand(3, 3))
    torch.testing.assert_close(out[:, :4], torch.ones(3, 4))
    assert torch.all(out[:, 4:] == 0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="tiny-cuda-nn comparison needs CUDA")
def test_tcnn_matches_reference():
    tcnn = pytest.importorskip("tinycudann")
    from meshcast.fields.hashgrid import tcnn_encoding_config

    cfg = HashGridConfig(levels=4, log2_table_size=14, base_resolution=16, finest_resolution=128)
    enc = tcnn.Encoding(3, tcnn_encoding_config(cfg), dtype=torch.float32)
    assert enc.n_output_dims == cfg.output_dim
    assert math.isclose(tcnn_encoding_config(cfg)["per_level_scale"], cfg.growth)


def test_backend_choice_without_cuda(monkeypatch):
    """auto and torch take the reference on the CPU; asking for the kernels there is an error."""
    import importlib.util

    from meshcast.errors import MissingDependencyError, UsageError

    x = torch.rand(8, 3)
    assert not HashGrid(HashGridConfig(levels=2, log2_table_size=8)).uses_triton(x)
    assert not HashGrid(HashGridConfig(levels=2, log2_table_size=8, backend="torch")).uses_triton(x)
    forced = HashGrid(HashGridConfig(levels=2, log2_table_size=8, backend="triton"))
    if importlib.util.find_spec("triton") is None:
        with pytest.raises(MissingDependencyError):
            forced(x)
        return
    from meshcast.fields import hashgrid_triton

    monkeypatch.setattr(hashgrid_triton, "INTERPRETED", False)  # other tests may have turned it on
    with pytest.raises(UsageError, match="Triton hash encoding cannot run on cpu"):
        forced(x)
