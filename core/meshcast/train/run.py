"""A run folder: its resolved configuration, the trained field, and rendering from it.

``load_run(run_dir)`` rebuilds the field from ``config.json`` and loads ``model.safetensors`` (or
the newest checkpoint while training is unfinished). Nothing is unpickled.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, ValidationError

from meshcast import __version__
from meshcast.errors import BadInputError
from meshcast.fields.networks import BackgroundField, DensityField, SDFField
from meshcast.render.occupancy import OccupancyGrid
from meshcast.render.rays import image_rays
from meshcast.render.renderer import RenderSettings, render_rays
from meshcast.scene.model import Intrinsics
from meshcast.scene.normalize import Similarity
from meshcast.train.config import TrainConfig


class RunConfig(BaseModel):
    """RUN/config.json: everything needed to use the run without the command line."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    train: TrainConfig
    scene: str
    similarity: Similarity
    background_field: bool
    background_color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    version: str = __version__


def build_field(config: TrainConfig) -> torch.nn.Module:
    m = config.model
    if m.method == "neus":
        return SDFField(m.grid, m.geometry, m.color, init_radius=m.init_radius)
    return DensityField(m.grid, m.geometry, m.color, view_encoding=m.view_encoding)


def pick_device(requested: str) -> torch.device:
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise BadInputError("--device cuda was asked for but CUDA is not available",
                                hint="use --device cpu, or install a CUDA build of torch", code="device.unavailable")
        return torch.device("cuda")
    return torch.device("cpu")


def render_settings(config: TrainConfig, train: bool = False, cos_anneal: float = 1.0) -> RenderSettings:
    m = config.model
    if m.method == "nerf":
        return RenderSettings(samples=m.samples, importance=0, stratified=train, march_step=m.march_step,
                              early_stop=m.early_stop, kernels=m.render_backend)
    return RenderSettings(samples=m.samples, importance=m.importance, stratified=train, cos_anneal=cos_anneal)


@dataclass
class LoadedRun:
    run_dir: Path
    config: RunConfig
    field: torch.nn.Module  # a meshcast.fields.protocol.SurfaceField, eval mode
    background: BackgroundField | None
    similarity: Similarity
    scene_path: Path
    device: torch.device
    step: int
    occupancy: OccupancyGrid | None = None


def read_run_config(run_dir: Path) -> RunConfig:
    path = run_dir / "config.json"
    if not path.is_file():
        raise BadInputError(f"{run_dir}: not a meshcast run folder (no config.json)", code="run.missing")
    try:
        config = RunConfig.model_validate(_upgrade(json.loads(path.read_text())))
    except (ValidationError, ValueError) as exc:
        if not isinstance(exc, ValidationError):
            raise BadInputError(f"{path}: not valid JSON ({exc})", code="run.config_invalid") from exc
        raise BadInputError(f"{path}: invalid run configuration ({exc.errors()[0]['loc']}: {exc.errors()[0]['msg']})",
                            code="run.config_invalid") from exc
    if _release(config.version) < FIRST_TCNN_LAYOUT:
        raise BadInputError(
            f"{run_dir}: trained by meshcast {config.version}, whose hash grid indexed its tables differently "
            f"from meshcast {__version__} (which uses tiny-cuda-nn's layout): its weights would decode to another field",
            hint="train it again with this version, or extract it with the meshcast version that trained it",
            code="run.old_layout")
    return config


def _upgrade(raw):
    """Settings that a run written by an older meshcast left out get the values it used then
    (NeRF before 0.3: the view direction itself into the colour network, fixed samples per ray)."""
    if not isinstance(raw, dict) or _release(str(raw.get("version", "0"))) >= (0, 3):
        return raw
    train = raw.get("train")
    model = train.get("model") if isinstance(train, dict) else None
    if isinstance(model, dict) and model.get("method") == "nerf":
        model.setdefault("view_encoding", "direction")
        model.setdefault("march_step", 0.0)
        model.setdefault("density_threshold", 0.05)
    return raw


# meshcast 0.2 adopted tiny-cuda-nn's hash-grid function (scale - 1, + 0.5 offset, 8-aligned levels)
FIRST_TCNN_LAYOUT = (0, 2)


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def load_run(run_dir: str | Path, device: str | torch.device | None = None) -> LoadedRun:
    from safetensors.torch import load_file

    from meshcast.train.checkpoint import read_latest

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    dev = pick_device("auto") if device is None else torch.device(device) if not isinstance(device, str) or device != "auto" else pick_device("auto")
    field = build_field(config.train)
    background = BackgroundField() if config.background_field else None
    final = run_dir / "model.safetensors"
    if final.is_file():
        tensors, step = load_file(str(final)), -1
    else:
        latest = read_latest(run_dir)
        if latest is None:
            raise BadInputError(f"{run_dir}: the run has no weights yet (no model.safetensors, no checkpoint)",
                                hint="train first: meshcast train SCENE --out RUN", code="run.no_weights")
        tensors, step = latest[0], int(latest[1]["step"])
    field.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("field.")})
    if background is not None:
        background.load_state_dict({k[11:]: v for k, v in tensors.items() if k.startswith("background.")})
        background.to(dev).eval()
    if "meta.numerical_eps" in tensors and hasattr(field, "numerical_eps"):
        eps = float(tensors["meta.numerical_eps"])
        field.numerical_eps = eps if eps > 0 else None
    if "meta.active_levels" in tensors:
        field.encoding.set_active_levels(int(tensors["meta.active_levels"]))
    field.to(dev).eval()
    occupancy = None
    if "occupancy.values" in tensors:
        occupancy = OccupancyGrid(config.train.occupancy_resolution, dev)
        occupancy.load(tensors)
    return LoadedRun(run_dir, config, field, background, config.similarity, Path(config.scene), dev, step, occupancy)


def render_frame(loaded: LoadedRun, c2w_world: np.ndarray, intrinsics: Intrinsics,
                 background: tuple[float, float, float] | None = None, chunk: int = 4096) -> dict[str, np.ndarray]:
    """Render one image: rgb (h, w, 3) in [0, 1], opacity (h, w), depth (h, w) in world units."""
    return render_view(loaded.field, loaded.background, loaded.similarity, c2w_world, intrinsics,
                       render_settings(loaded.config.train), background or loaded.config.background_color,
                       loaded.device, chunk * 16 if loaded.device.type == "cuda" else chunk, loaded.occupancy)


def render_view(field, background_field, similarity: Similarity, c2w_world: np.ndarray, intrinsics: Intrinsics,
                settings: RenderSettings, background, device, chunk: int = 4096,
                occupancy: OccupancyGrid | None = None) -> dict[str, np.ndarray]:
    c2w = torch.tensor(similarity.c2w_to_unit(c2w_world), dtype=torch.float32, device=device)
    k = intrinsics
    origins, dirs = image_rays((k.fl_x, k.fl_y, k.cx, k.cy), c2w, k.w, k.h, (k.k1, k.k2, k.p1, k.p2))
    outputs: dict[str, list[torch.Tensor]] = {"rgb": [], "opacity": [], "depth": []}
    bg = torch.tensor(background, dtype=torch.float32, device=device)
    with torch.no_grad():
        for o, d in zip(torch.split(origins, chunk), torch.split(dirs, chunk)):
            out = render_rays(field, o, d, bg.expand(o.shape[0], 3), settings, occupancy, background_field, train=False)
            for key, parts in outputs.items():
                parts.append(out[key].detach().float())
    rgb = torch.cat(outputs["rgb"]).reshape(k.h, k.w, 3).clamp(0, 1).cpu().numpy()
    opacity = torch.cat(outputs["opacity"]).reshape(k.h, k.w).cpu().numpy()
    depth = torch.cat(outputs["depth"]).reshape(k.h, k.w).cpu().numpy() * similarity.radius
    return {"rgb": rgb, "opacity": opacity, "depth": depth}
