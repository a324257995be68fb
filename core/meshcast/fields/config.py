"""Field settings (pydantic, no torch: the CLI builds its options from them without loading torch)."""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class HashGridConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: int = Field(16, ge=1, le=32, description="number of resolution levels L")
    features_per_level: int = Field(2, ge=1, le=8, description="features per level F")
    log2_table_size: int = Field(19, ge=8, le=24, description="log2 of rows per level table T")
    base_resolution: int = Field(16, ge=2, description="coarsest resolution N_min")
    finest_resolution: int = Field(2048, ge=2, description="finest resolution N_max")
    backend: Literal["auto", "torch", "triton", "tcnn"] = Field(
        "auto", description="auto: on CUDA the Triton kernels when Triton is installed (the fastest, "
        "benchmarks/RESULTS.md), else tiny-cuda-nn when it is installed, else PyTorch; torch: always the "
        "PyTorch reference; triton, tcnn: that implementation or an error")

    @property
    def growth(self) -> float:
        if self.levels == 1:
            return 1.0
        return math.exp((math.log(self.finest_resolution) - math.log(self.base_resolution)) / (self.levels - 1))

    def scales(self) -> list[float]:
        """Per level, the factor a point in [0, 1] is multiplied by before 0.5 is added (float32,
        computed as tiny-cuda-nn does: ``2**(l * log2 b) * N_min - 1``)."""
        log2_growth = np.float32(math.log2(np.float32(self.growth)))
        return [float(np.float32(np.exp2(np.float32(level) * log2_growth)) * np.float32(self.base_resolution)
                      - np.float32(1.0)) for level in range(self.levels)]

    def resolutions(self) -> list[int]:
        """Grid vertices per axis at each level: ``ceil(scale) + 1`` (N_min at level 0, N_max at the last)."""
        return [math.ceil(s) + 1 for s in self.scales()]

    def level_sizes(self) -> list[int]:
        """Rows each level uses: its dense grid rounded up to a multiple of 8, at most ``2**log2_table_size``."""
        table = 2**self.log2_table_size
        return [min(-(-r**3 // 8) * 8, table) for r in self.resolutions()]

    def level_offsets(self) -> list[int]:
        """Each level's first row in the grid's one table: the sizes of the levels before it."""
        sizes = self.level_sizes()
        return [sum(sizes[:level]) for level in range(self.levels)]

    @property
    def output_dim(self) -> int:
        return self.levels * self.features_per_level


class MLPConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden: int = Field(64, ge=8, description="hidden width")
    layers: int = Field(2, ge=1, le=8, description="hidden layers")
