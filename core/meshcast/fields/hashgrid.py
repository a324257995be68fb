"""Multiresolution hash encoding (Instant-NGP), pure PyTorch reference.

Level ``l`` has resolution ``N_l = floor(N_min * b**l)`` with ``b = exp((ln N_max - ln N_min) /
(L - 1))``. A point ``x`` in [0, 1]^3 is scaled to ``x * N_l``; the 8 corners of its cell are
looked up in the level's table of ``2**log2_table_size`` rows of ``features_per_level`` values,
directly (``i + j (N+1) + k (N+1)^2``) when ``(N_l + 1)^3`` fits in the table, otherwise through the
spatial hash ``(i * 1) xor (j * 2654435761) xor (k * 805459861) mod T``; features are blended with
trilinear weights. The meaning of every setting matches tiny-cuda-nn's ``HashGrid`` encoding
(``n_levels``, ``n_features_per_level``, ``log2_hashmap_size``, ``base_resolution``,
``per_level_scale = b``; see ``tcnn_encoding_config``); using tiny-cuda-nn itself is not wired
in yet.

``HashGrid`` runs the same function through the Triton kernels of ``hashgrid_triton`` on CUDA
when Triton is installed (``HashGridConfig.backend``: ``auto`` by default, ``torch`` or
``triton`` to force one); the kernels match this reference within float32 rounding
(tests/fields/test_hashgrid_triton.py).
"""
from __future__ import annotations

import importlib.util

import torch
from torch import nn

from meshcast.errors import MissingDependencyError, UsageError
from meshcast.fields.config import HashGridConfig

PRIMES = (1, 2654435761, 805459861)


def corner_indices(cell: torch.Tensor, resolution: torch.Tensor, dense: torch.Tensor, table_size: int) -> torch.Tensor:
    """Table rows of integer grid corners.

    cell: (N, L, 8, 3) int64 corner coordinates; resolution, dense: (L,) per level.
    Returns (N, L, 8) int64 in [0, table_size).
    """
    stride = (resolution + 1)[None, :, None]
    direct = cell[..., 0] + cell[..., 1] * stride + cell[..., 2] * stride * stride
    hashed = (cell[..., 0] * PRIMES[0]) ^ (cell[..., 1] * PRIMES[1]) ^ (cell[..., 2] * PRIMES[2])
    return torch.where(dense[None, :, None], direct, hashed) % table_size


CORNERS = torch.tensor([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=torch.int64)


def hash_encode(x: torch.Tensor, table: torch.Tensor, resolution: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """Encode (N, 3) points in [0, 1]^3 with tables (L, T, F) -> (N, L * F) features."""
    levels, table_size, features = table.shape
    pos = x.float()[:, None, :] * resolution[None, :, None].to(x.dtype)  # (N, L, 3)
    base = torch.floor(pos)
    frac = pos - base
    corners = CORNERS.to(x.device)
    cell = base.long()[:, :, None, :] + corners[None, None]  # (N, L, 8, 3)
    rows = corner_indices(cell, resolution, dense, table_size)
    rows = rows + (torch.arange(levels, device=x.device) * table_size)[None, :, None]
    values = table.reshape(levels * table_size, features)[rows]  # (N, L, 8, F)
    f = torch.where(corners[None, None].bool(), frac[:, :, None, :], 1 - frac[:, :, None, :])
    # explicit products, not .prod(-1): prod's (double) backward runs cumprod/cumsum scans over a
    # size-3 innermost dimension, which took 96% of a NeuS step on an H100 (benchmarks/RESULTS.md)
    w = f[..., 0] * f[..., 1] * f[..., 2]
    return (values * w[..., None].to(values.dtype)).sum(2).reshape(x.shape[0], levels * features)


class HashGrid(nn.Module):
    """Learnable tables plus an optional coarse-to-fine mask of active levels."""

    def __init__(self, config: HashGridConfig):
        super().__init__()
        self.config = config
        res = config.resolutions()
        size = 2**config.log2_table_size
        self.register_buffer("resolution", torch.tensor(res, dtype=torch.int64), persistent=False)
        self.register_buffer("dense", torch.tensor([(r + 1) ** 3 <= size for r in res]), persistent=False)
        self.table = nn.Parameter(torch.empty(config.levels, size, config.features_per_level).uniform_(-1e-4, 1e-4))
        self.register_buffer("level_mask", torch.ones(config.levels), persistent=False)

    @property
    def output_dim(self) -> int:
        return self.config.output_dim

    def set_active_levels(self, active: int) -> None:
        """Coarse-to-fine (Neuralangelo): zero the features of levels >= ``active``."""
        self.level_mask.copy_((torch.arange(self.config.levels) < active).float())

    def uses_triton(self, x: torch.Tensor) -> bool:
        """Whether ``forward(x)`` runs the Triton kernels (see ``HashGridConfig.backend``)."""
        backend = self.config.backend
        if backend == "torch":
            return False
        from meshcast.fields import hashgrid_triton

        if backend == "auto":
            return x.is_cuda and hashgrid_triton.available(x, self.table)
        if not hashgrid_triton.available(x, self.table):
            if importlib.util.find_spec("triton") is None:
                raise MissingDependencyError("triton", "triton", "the Triton hash encoding (backend 'triton')")
            raise UsageError(f"the Triton hash encoding cannot run on {x.device} with {self.table.dtype} tables",
                             hint="it needs CUDA (or TRITON_INTERPRET=1 for tests); use backend 'auto' or 'torch'")
        return True

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        """(N, 3) in [0, 1]^3 -> (N, L * F)."""
        x = x01.clamp(0, 1)
        if self.uses_triton(x):
            from meshcast.fields import hashgrid_triton

            feats = hashgrid_triton.hash_encode(x, self.table, self.resolution, self.dense)
        else:
            feats = hash_encode(x, self.table, self.resolution, self.dense)
        mask = self.level_mask.repeat_interleave(self.config.features_per_level)
        return feats * mask


def tcnn_encoding_config(config: HashGridConfig) -> dict:
    """The same encoding described for tiny-cuda-nn."""
    return {
        "otype": "HashGrid",
        "n_levels": config.levels,
        "n_features_per_level": config.features_per_level,
        "log2_hashmap_size": config.log2_table_size,
        "base_resolution": config.base_resolution,
        "per_level_scale": config.growth,
    }
