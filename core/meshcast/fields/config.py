"""Field settings (pydantic, no torch: the CLI builds its options from them without loading torch)."""
from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class HashGridConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: int = Field(16, ge=1, le=32, description="number of resolution levels L")
    features_per_level: int = Field(2, ge=1, le=8, description="features per level F")
    log2_table_size: int = Field(19, ge=8, le=24, description="log2 of rows per level table T")
    base_resolution: int = Field(16, ge=2, description="coarsest resolution N_min")
    finest_resolution: int = Field(2048, ge=2, description="finest resolution N_max")
    backend: Literal["auto", "torch", "triton"] = Field(
        "auto", description="auto: the Triton kernels on CUDA when Triton is installed, else PyTorch; "
        "torch: always the PyTorch reference; triton: the kernels or an error")

    @property
    def growth(self) -> float:
        if self.levels == 1:
            return 1.0
        return math.exp((math.log(self.finest_resolution) - math.log(self.base_resolution)) / (self.levels - 1))

    def resolutions(self) -> list[int]:
        return [int(math.floor(self.base_resolution * self.growth**level)) for level in range(self.levels)]

    @property
    def output_dim(self) -> int:
        return self.levels * self.features_per_level


class MLPConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden: int = Field(64, ge=8, description="hidden width")
    layers: int = Field(2, ge=1, le=8, description="hidden layers")
