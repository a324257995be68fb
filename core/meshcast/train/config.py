"""Training configuration: frozen pydantic models, presets as named copies.

``TrainConfig.model`` is a discriminated union on ``method`` (``neus`` | ``nerf``); presets are
built with ``model_copy(update=...)`` and never mutated. Every field is a command-line option
(``--optim.lr-grid 0.01``, ``--model.eikonal-weight 0.05``, ``--max-seconds 60``).
"""
from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from meshcast.fields.config import HashGridConfig, MLPConfig

Method = Literal["neus", "nerf"]
Preset = Literal["preview", "quality"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NeusConfig(Frozen):
    method: Literal["neus"] = "neus"
    grid: HashGridConfig = HashGridConfig(levels=16, log2_table_size=19, base_resolution=16, finest_resolution=2048)
    geometry: MLPConfig = MLPConfig(hidden=64, layers=2)
    color: MLPConfig = MLPConfig(hidden=64, layers=2)
    init_radius: float = Field(0.5, gt=0, lt=1, description="radius of the initial SDF sphere (unit frame)")
    samples: int = Field(64, ge=4, description="uniform samples per ray")
    importance: int = Field(32, ge=0, description="importance samples per ray")
    eikonal_weight: float = Field(0.1, ge=0)
    curvature_weight: float = Field(0.0, ge=0, description="Neuralangelo curvature loss (needs numerical gradients)")
    numerical_gradients: bool = Field(False, description="finite-difference gradients with a shrinking step")
    coarse_to_fine: bool = Field(False, description="enable hash levels progressively (Neuralangelo)")
    start_levels: int = Field(4, ge=1)
    cos_anneal_fraction: float = Field(0.1, ge=0, le=1, description="fraction of training to anneal the NeuS cosine")


# Instant-NGP's NeRF step, sqrt(3) / 1024 of its unit cube, in meshcast's unit frame (a cube of side 2)
MARCH_STEP = math.sqrt(3) / 512


class NerfConfig(Frozen):
    method: Literal["nerf"] = "nerf"
    grid: HashGridConfig = HashGridConfig(levels=16, log2_table_size=19, base_resolution=16, finest_resolution=2048)
    geometry: MLPConfig = MLPConfig(hidden=64, layers=1)
    color: MLPConfig = MLPConfig(hidden=64, layers=2)
    samples: int = Field(192, ge=4, description="samples per ray inside the unit sphere (when march_step is 0)")
    march_step: float = Field(MARCH_STEP, ge=0, description="step of the ray march through the occupancy grid "
                              "(unit frame; 0: a fixed number of samples per ray instead)")
    early_stop: float = Field(1e-4, ge=0, lt=1, description="marching: skip samples behind surfaces once less than "
                              "this much light reaches them (0: never)")
    target_samples: int = Field(2**18, ge=256, description="marching: samples per training step; the number of rays "
                                "adapts to it, up to batch_rays")
    render_backend: Literal["auto", "torch", "triton"] = Field(
        "auto", description="ray marching and compositing: auto: Triton kernels on CUDA when Triton is installed, "
        "else PyTorch; torch: always the PyTorch reference; triton: the kernels or an error")
    view_encoding: Literal["direction", "sh4"] = Field("sh4", description="input of the colour network: the view "
                                                      "direction or its spherical harmonics (bands 0-3)")
    density_threshold: float | None = Field(None, gt=0, description="occupancy: a cell is empty when its density "
                                            "(unit frame) stays below this and below the grid's mean; default "
                                            "0.01 / march_step (optical thickness 0.01 per step), 0.05 without marching")

    def occupancy_threshold(self) -> float:
        if self.density_threshold is not None:
            return self.density_threshold
        return 0.01 / self.march_step if self.march_step > 0 else 0.05


class OptimConfig(Frozen):
    lr_grid: float = Field(1e-2, gt=0, description="learning rate of the hash tables")
    lr_net: float = Field(1e-3, gt=0, description="learning rate of the MLPs")
    warmup_steps: int = Field(200, ge=0)
    decay_to: float = Field(0.1, gt=0, le=1, description="final learning rate as a fraction of the start")


class DataConfig(Frozen):
    max_size: int | None = Field(800, ge=8, description="downscale images so the longer side is at most this")
    background: Literal["white", "black", "random"] = Field("white", description="for images with alpha")
    mask_weight: float = Field(0.1, ge=0, description="mask loss weight (when images have alpha or masks)")
    background_field: Literal["auto", "on", "off"] = Field("auto", description="auto: on for captures without masks")


class TrainConfig(Frozen):
    model: Annotated[NeusConfig | NerfConfig, Field(discriminator="method")] = NeusConfig()
    optim: OptimConfig = OptimConfig()
    data: DataConfig = DataConfig()
    preset: Preset = "preview"
    batch_rays: int = Field(4096, ge=16)
    max_steps: int = Field(20000, ge=1)
    max_seconds: float | None = Field(None, gt=0, description="wall-clock budget (training time only)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = 0
    mixed_precision: bool = Field(True, description="autocast to fp16 on CUDA (ignored on CPU)")
    occupancy_resolution: int = Field(64, ge=8)
    occupancy_every: int = Field(16, ge=1)
    checkpoint_every: int = Field(1000, ge=1)
    checkpoint_seconds: float = Field(120.0, gt=0, description="also checkpoint at least this often")
    keep_checkpoints: int = Field(3, ge=1)
    validate_every: int = Field(1000, ge=1)
    log_every: int = Field(50, ge=1)


def preset_config(method: Method, preset: Preset, device: str) -> TrainConfig:
    """The named starting configurations. CPU presets use smaller grids and batches so that a
    preview finishes in minutes on two cores."""
    model = NeusConfig() if method == "neus" else NerfConfig()
    config = TrainConfig(model=model, preset=preset)
    if device == "cpu":
        small = HashGridConfig(levels=8, log2_table_size=15, base_resolution=16, finest_resolution=256)
        model = model.model_copy(update={"grid": small, "geometry": MLPConfig(hidden=32, layers=1 if method == "nerf" else 2),
                                         "color": MLPConfig(hidden=32, layers=1)})
        if method == "neus":
            model = model.model_copy(update={"samples": 32, "importance": 16})
        else:
            model = model.model_copy(update={"samples": 64, "march_step": math.sqrt(3) / 48, "target_samples": 2**14})
        config = config.model_copy(update={"model": model, "batch_rays": 512, "max_steps": 2000,
                                           "occupancy_resolution": 32, "validate_every": 200,
                                           "log_every": 10, "checkpoint_every": 200,
                                           "data": DataConfig(max_size=200),
                                           "optim": OptimConfig(lr_grid=1e-2, lr_net=5e-3, warmup_steps=50)})
    elif method == "nerf":
        # 16384 rays: on an H100 the step rate stayed the same as with 8192 (3302 vs 3374 steps in
        # 60 s), so twice the samples per second (benchmarks/lego_nerf_sweep_60s_h100.json)
        # float32 throughout: bf16 autocast was both slower and 0.9 dB worse at 60 s on lego
        # (benchmarks/lego_nerf_march_sweep_h100.json)
        # checkpoints by time (checkpoint_seconds) rather than every 1000 steps: at ~100 steps/s
        # that was one 200 MB write every 10 s
        config = config.model_copy(update={"batch_rays": 16384, "mixed_precision": False, "checkpoint_every": 20000,
                                           "optim": OptimConfig(lr_grid=1e-2, lr_net=1e-2, warmup_steps=100)})
    if preset == "quality" and method == "neus":
        model = config.model.model_copy(update={"coarse_to_fine": True, "numerical_gradients": True,
                                                "curvature_weight": 5e-4})
        config = config.model_copy(update={"model": model, "max_steps": config.max_steps * 3})
    elif preset == "quality":
        config = config.model_copy(update={"max_steps": config.max_steps * 3})
    return config
