"""Multiresolution hash encoding (Instant-NGP), pure PyTorch reference.

The function is tiny-cuda-nn's ``HashGrid`` encoding exactly, so that a table trained with either
evaluates the same with the other. Level ``l`` has the scale ``s_l = N_min * b**l - 1`` with ``b =
exp((ln N_max - ln N_min) / (L - 1))`` (float32, ``HashGridConfig.scales``) and ``R_l = ceil(s_l) + 1``
grid vertices per axis. A point ``x`` in [0, 1]^3 becomes ``p = x * s_l + 0.5``; the 8 corners of its
cell ``floor(p) + {0, 1}^3`` are looked up in the level's ``S_l = min(8 * ceil(R_l^3 / 8), T)`` rows
(``HashGridConfig.level_sizes``) of ``features_per_level`` values: directly, ``(i + j R + k R^2) mod
S``, when ``R^3 <= S`` (the 0.5 offset can push a corner to ``R``: it wraps, as in tiny-cuda-nn),
otherwise through the spatial hash ``((i * 1) xor (j * 2654435761) xor (k * 805459861) mod 2^32) mod
S``; features are blended with trilinear weights of ``p - floor(p)``. Settings map one to one onto
tiny-cuda-nn's (``tcnn_encoding_config``), and so does the parameter layout: one (sum S_l, F) table
whose level ``l`` starts at row ``sum of S_k for k < l`` (``Levels.offset``), features innermost,
which is tiny-cuda-nn's flat parameter vector (``to_tcnn_params``). A dense level thus holds only
the rows it uses: 73% of the 2^19-row, 16-level default's ``L * T`` rows, so 27% less gradient to
zero and fewer values for the optimizer (tables of shape (L, T, F), as meshcast 0.3 wrote them, load
through ``flatten_level_tables``).

``HashGrid`` runs this function, for points on CUDA, through the Triton kernels of
``hashgrid_triton`` when Triton is installed, else through tiny-cuda-nn when it is installed (the
kernels measured about twice as fast on an H100: benchmarks/RESULTS.md), else in PyTorch
(``HashGridConfig.backend``: ``auto`` by default; ``torch``, ``triton`` or ``tcnn`` to force one).
Both match this reference (tests/fields: the kernels within float32 rounding on any machine,
tiny-cuda-nn on CUDA within the rounding of its fast-math ``exp2f`` scales).
"""
from __future__ import annotations

import importlib.util
from typing import NamedTuple

import torch
from torch import nn

from meshcast.errors import MissingDependencyError, UsageError
from meshcast.fields.config import HashGridConfig

PRIMES = (1, 2654435761, 805459861)


class Levels(NamedTuple):
    """Per-level constants of a grid: scale (L,) float32, vertices per axis, rows used (int64),
    whether the level is hashed (bool) and its first row in the table (int64)."""

    scale: torch.Tensor
    resolution: torch.Tensor
    size: torch.Tensor
    hashed: torch.Tensor
    offset: torch.Tensor

    @staticmethod
    def of(config: HashGridConfig, device: torch.device | str | None = None) -> Levels:
        res = config.resolutions()
        sizes = config.level_sizes()
        return Levels(torch.tensor(config.scales(), dtype=torch.float32, device=device),
                      torch.tensor(res, dtype=torch.int64, device=device),
                      torch.tensor(sizes, dtype=torch.int64, device=device),
                      torch.tensor([s < r**3 for r, s in zip(res, sizes)], device=device),
                      torch.tensor(config.level_offsets(), dtype=torch.int64, device=device))

    @staticmethod
    def packed(scale: torch.Tensor, resolution: torch.Tensor, size: torch.Tensor, hashed: torch.Tensor) -> Levels:
        """Levels whose tables follow each other in one table, in order (offsets from the sizes)."""
        return Levels(scale, resolution, size, hashed, torch.cumsum(size, 0) - size)

    def to(self, device: torch.device) -> Levels:
        return Levels(*(t.to(device) for t in self))


def corner_indices(cell: torch.Tensor, levels: Levels) -> torch.Tensor:
    """Table rows of integer grid corners.

    cell: (N, L, 8, 3) int64 corner coordinates. Returns (N, L, 8) int64, row < the level's size.
    """
    res = levels.resolution[None, :, None]
    direct = cell[..., 0] + cell[..., 1] * res + cell[..., 2] * res * res
    hashed = ((cell[..., 0] * PRIMES[0]) ^ (cell[..., 1] * PRIMES[1]) ^ (cell[..., 2] * PRIMES[2])) & 0xFFFFFFFF
    return torch.where(levels.hashed[None, :, None], hashed, direct) % levels.size[None, :, None]


def corner_offsets(device: torch.device) -> torch.Tensor:
    """(8, 3) int64 offsets of a cell's corners, x slowest: made on ``device`` (no host copy, so
    the encoding can be captured in a CUDA graph)."""
    return (torch.arange(8, device=device)[:, None] >> torch.arange(2, -1, -1, device=device)) & 1


def cell_positions(x: torch.Tensor, levels: Levels) -> torch.Tensor:
    """(N, 3) points -> (N, L, 3) positions in grid units, ``x * scale + 0.5`` (float32, or float64
    for float64 points)."""
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    return x.to(dtype)[:, None, :] * levels.scale.to(device=x.device, dtype=dtype)[None, :, None] + 0.5


def hash_encode(x: torch.Tensor, table: torch.Tensor, levels: Levels) -> torch.Tensor:
    """Encode (N, 3) points in [0, 1]^3 with the levels' tables, one (rows, F) table -> (N, L * F)
    features."""
    n_levels, features = levels.scale.shape[0], table.shape[1]
    pos = cell_positions(x, levels)
    base = torch.floor(pos)
    frac = pos - base
    corners = corner_offsets(x.device)
    cell = base.long()[:, :, None, :] + corners[None, None]  # (N, L, 8, 3)
    rows = corner_indices(cell, levels.to(x.device))
    rows = rows + levels.offset.to(x.device)[None, :, None]
    values = table[rows]  # (N, L, 8, F)
    f = torch.where(corners[None, None].bool(), frac[:, :, None, :], 1 - frac[:, :, None, :])
    # explicit products, not .prod(-1): prod's (double) backward runs cumprod/cumsum scans over a
    # size-3 innermost dimension, which took 96% of a NeuS step on an H100 (benchmarks/RESULTS.md)
    w = f[..., 0] * f[..., 1] * f[..., 2]
    return (values * w[..., None].to(values.dtype)).sum(2).reshape(x.shape[0], n_levels * features)


class HashGrid(nn.Module):
    """Learnable tables plus an optional coarse-to-fine mask of active levels."""

    def __init__(self, config: HashGridConfig):
        super().__init__()
        self.config = config
        levels = Levels.of(config)
        for name, value in levels._asdict().items():
            self.register_buffer(f"level_{name}", value, persistent=False)
        rows = sum(config.level_sizes())
        self.table = nn.Parameter(torch.empty(rows, config.features_per_level).uniform_(-1e-4, 1e-4))
        self.register_buffer("level_mask", torch.ones(config.levels), persistent=False)
        self._tcnn: dict[torch.device, nn.Module] = {}

    @property
    def levels(self) -> Levels:
        return Levels(self.level_scale, self.level_resolution, self.level_size, self.level_hashed, self.level_offset)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Tables saved as (L, T, F) (meshcast 0.3) load into this one-table layout."""
        key = prefix + "table"
        saved = state_dict.get(key)
        if saved is not None and saved.dim() == 3:
            state_dict[key] = flatten_level_tables(saved, self.config.level_sizes())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def output_dim(self) -> int:
        return self.config.output_dim

    def set_active_levels(self, active: int) -> None:
        """Coarse-to-fine (Neuralangelo): zero the features of levels >= ``active``. The mask is
        made on its own device and only when ``active`` changes: training calls this every step,
        and a copy from the host would make the host wait for the GPU each time."""
        if getattr(self, "_active_levels", None) == (active, self.level_mask.device):
            return
        self.level_mask.copy_(torch.arange(self.config.levels, device=self.level_mask.device) < active)
        self._active_levels = (active, self.level_mask.device)

    def implementation(self, x: torch.Tensor) -> str:
        """Which code ``forward(x)`` runs: "triton", "tcnn" or "torch" (see ``HashGridConfig.backend``)."""
        backend = self.config.backend
        if backend == "torch":
            return "torch"
        from meshcast.fields import hashgrid_triton

        if backend == "auto":
            if x.is_cuda and hashgrid_triton.available(x, self.table):
                return "triton"
            return "tcnn" if tcnn_usable(x, self.table) else "torch"
        if backend == "tcnn":
            if tcnn_usable(x, self.table):
                return "tcnn"
            if importlib.util.find_spec("tinycudann") is None:
                raise MissingDependencyError("tinycudann", "tinycudann", "the tiny-cuda-nn hash encoding (backend 'tcnn')")
            raise UsageError(f"tiny-cuda-nn cannot encode points on {x.device} with {self.table.dtype} tables",
                             hint="it needs CUDA and float32 or float16 tables; use backend 'auto' or 'torch'")
        if not hashgrid_triton.available(x, self.table):
            if importlib.util.find_spec("triton") is None:
                raise MissingDependencyError("triton", "triton", "the Triton hash encoding (backend 'triton')")
            raise UsageError(f"the Triton hash encoding cannot run on {x.device} with {self.table.dtype} tables",
                             hint="it needs CUDA (or TRITON_INTERPRET=1 for tests); use backend 'auto' or 'torch'")
        return "triton"

    def uses_triton(self, x: torch.Tensor) -> bool:
        """Whether ``forward(x)`` runs the Triton kernels."""
        return self.implementation(x) == "triton"

    def tcnn_encoding(self, device: torch.device) -> nn.Module:
        """tiny-cuda-nn's encoding of this grid on ``device`` (its own parameters are never used:
        ``forward`` passes this grid's table in tiny-cuda-nn's layout)."""
        if device not in self._tcnn:
            import tinycudann

            dtype = torch.float16 if self.table.dtype == torch.float16 else torch.float32
            with torch.cuda.device(device):
                enc = tinycudann.Encoding(3, tcnn_encoding_config(self.config), dtype=dtype)
            expected = self.table.numel()
            if enc.params.numel() != expected:
                raise UsageError(f"tiny-cuda-nn lays this grid out in {enc.params.numel()} parameters, "
                                 f"meshcast in {expected}: this tiny-cuda-nn version encodes differently",
                                 hint="use --model.grid.backend triton or torch")
            self._tcnn[device] = enc
        return self._tcnn[device]

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        """(N, 3) in [0, 1]^3 -> (N, L * F)."""
        x = x01.clamp(0, 1)
        impl = self.implementation(x)
        if impl == "tcnn":
            enc = self.tcnn_encoding(x.device)
            feats = tcnn_encode(enc, x, to_tcnn_params(self.table)).to(self.table.dtype)
        elif impl == "triton":
            from meshcast.fields import hashgrid_triton

            feats = hashgrid_triton.hash_encode(x, self.table, self.levels)
        else:
            feats = hash_encode(x, self.table, self.levels)
        mask = self.level_mask.repeat_interleave(self.config.features_per_level)
        return feats * mask


def tcnn_usable(x: torch.Tensor, table: torch.Tensor) -> bool:
    """tiny-cuda-nn is installed, ``x`` is on CUDA and the table float32 or float16."""
    return (x.is_cuda and table.dtype in (torch.float32, torch.float16)
            and importlib.util.find_spec("tinycudann") is not None)


def tcnn_encode(encoding: nn.Module, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """tiny-cuda-nn's ``Encoding`` module on flat ``params`` in place of its own (differentiable
    with respect to them)."""
    return torch.func.functional_call(encoding, {"params": params}, (x,))


def to_tcnn_params(table: torch.Tensor) -> torch.Tensor:
    """A (rows, F) table as tiny-cuda-nn's flat parameter vector: the same memory (a view)."""
    return table.reshape(-1)


def from_tcnn_params(params: torch.Tensor, features: int) -> torch.Tensor:
    """The inverse of ``to_tcnn_params``."""
    return params.reshape(-1, features)


def flatten_level_tables(tables: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """(L, T, F) tables of one T-row table per level (meshcast 0.3's layout) -> the one (rows, F)
    table of ``HashGrid``: each level's first ``sizes[l]`` rows in turn (the rest were never read)."""
    if tables.dim() != 3 or tables.shape[0] != len(sizes) or tables.shape[1] < max(sizes):
        raise ValueError(f"tables of shape {tuple(tables.shape)} do not hold {len(sizes)} levels of "
                         f"up to {max(sizes)} rows")
    return torch.cat([tables[level, :rows] for level, rows in enumerate(sizes)])


def tcnn_encoding_config(config: HashGridConfig) -> dict:
    """The same encoding described for tiny-cuda-nn."""
    return {
        "otype": "HashGrid",
        "n_levels": config.levels,
        "n_features_per_level": config.features_per_level,
        "log2_hashmap_size": config.log2_table_size,
        "base_resolution": config.base_resolution,
        "per_level_scale": config.growth,
        "interpolation": "Linear",
    }
