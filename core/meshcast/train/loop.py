"""The training loop: a frozen config, a state object, one ``train_step`` per batch.

Resumable from any checkpoint (``--resume``), safe against NaN/inf (roll back to the last good
state with half the learning rate), and stoppable with Ctrl-C/SIGTERM (checkpoint, then stop).
"""
from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from meshcast.errors import BadInputError, JobFailedError
from meshcast.fields.networks import BackgroundField
from meshcast.render.occupancy import OccupancyGrid
from meshcast.render.rays import pixel_rays
from meshcast.render.renderer import render_rays
from meshcast.reporting import Reporter
from meshcast.scene.model import Scene
from meshcast.train.checkpoint import (
    load_optimizer,
    optimizer_tensors,
    read_latest,
    save_json_atomic,
    save_tensors_atomic,
    write_checkpoint,
)
from meshcast.train.config import TrainConfig
from meshcast.train.data import PixelData, load_pixels
from meshcast.train.run import RunConfig, build_field, pick_device, render_settings, render_view

MAX_ROLLBACKS = 3
BACKGROUNDS = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0), "random": (1.0, 1.0, 1.0)}


@dataclass
class TrainState:
    field: torch.nn.Module
    background: BackgroundField | None
    optimizer: torch.optim.Optimizer
    occupancy: OccupancyGrid
    generator: torch.Generator
    step: int = 0
    elapsed: float = 0.0
    lr_scale: float = 1.0
    rollbacks: int = 0
    samples_per_ray: float | None = None  # running mean, sets the marching NeRF's rays per step
    good: dict[str, Any] = dc_field(default_factory=dict)  # in-memory copy of the last good state


def initialize_state(config: TrainConfig, device: torch.device, background_field: bool) -> TrainState:
    torch.manual_seed(config.seed)
    field = build_field(config).to(device)
    background = BackgroundField().to(device) if background_field else None
    grid_params = list(field.encoding.parameters())
    grid_ids = {id(p) for p in grid_params}
    net_params = [p for p in field.parameters() if id(p) not in grid_ids]
    if background is not None:
        net_params += list(background.parameters())
    optimizer = torch.optim.Adam(
        [{"params": grid_params, "lr": config.optim.lr_grid, "base_lr": config.optim.lr_grid},
         {"params": net_params, "lr": config.optim.lr_net, "base_lr": config.optim.lr_net}],
        betas=(0.9, 0.99), eps=1e-15,
        # one kernel for all tensors: multi-tensor Adam took 1.0 ms of an 18 ms NeRF step on an H100,
        # fused 0.25 ms (benchmarks/RESULTS.md)
        fused=device.type == "cuda",
    )
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    return TrainState(field, background, optimizer, OccupancyGrid(config.occupancy_resolution, device), generator)


def progress_of(config: TrainConfig, state: TrainState) -> float:
    """Fraction of the budget used: the larger of steps and wall clock."""
    p = state.step / config.max_steps
    if config.max_seconds:
        p = max(p, state.elapsed / config.max_seconds)
    return min(p, 1.0)


def apply_schedule(config: TrainConfig, state: TrainState) -> dict[str, float]:
    """Learning rate (warm-up, exponential decay), coarse-to-fine levels, numerical step."""
    p = progress_of(config, state)
    warm = min(1.0, (state.step + 1) / max(1, config.optim.warmup_steps))
    factor = warm * config.optim.decay_to**p * state.lr_scale
    for group in state.optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
    out = {"progress": p, "lr_factor": factor}
    m = config.model
    if m.method == "neus":
        levels = m.grid.levels
        active = levels
        if m.coarse_to_fine:
            active = min(levels, m.start_levels + int(p / 0.5 * (levels - m.start_levels + 1)))
        state.field.encoding.set_active_levels(active)
        if m.numerical_gradients:
            finest = m.grid.resolutions()[active - 1]
            state.field.numerical_eps = 2.0 / finest  # one cell of the finest active level, unit frame
        out["active_levels"] = active
        out["cos_anneal"] = 1.0 if m.cos_anneal_fraction == 0 else min(1.0, p / m.cos_anneal_fraction)
    return out


def rays_per_step(config: TrainConfig, state: TrainState) -> int:
    """``batch_rays``, or for a marching NeRF as many rays as make ``target_samples`` samples
    (Instant-NGP's rule: the step's sample count stays constant while empty space is pruned)."""
    m = config.model
    if m.method != "nerf" or m.march_step <= 0:
        return config.batch_rays
    if state.samples_per_ray is None:  # the first step: nothing measured yet
        return min(config.batch_rays, 1024)
    return int(min(config.batch_rays, max(64, m.target_samples / max(state.samples_per_ray, 1e-3))))


def record_samples(state: TrainState, losses: dict[str, torch.Tensor]) -> int:
    """Fold a step's samples per ray into the running mean ``rays_per_step`` uses; returns the
    step's sample count (host tensors: no synchronisation)."""
    n = int(losses["samples"])
    per_ray = n / max(int(losses["rays"]), 1)
    state.samples_per_ray = per_ray if state.samples_per_ray is None else 0.9 * state.samples_per_ray + 0.1 * per_ray
    return n


@functools.cache
def background_color(name: str, device: torch.device) -> torch.Tensor:
    """(1, 3) colour on ``device``, made once: a tensor copied from the host at every step makes
    the host wait for the GPU there."""
    return torch.tensor([BACKGROUNDS[name]], device=device)


def batch_rays(config: TrainConfig, state: TrainState, data: PixelData):
    n = rays_per_step(config, state)
    frame, u, v, rgba = data.sample(n, state.generator)
    origins, dirs = pixel_rays(u, v, data.K[frame], data.c2w[frame],
                                 None if data.dist is None else data.dist[frame])
    if config.data.background == "random":
        bg = torch.rand(n, 3, device=rgba.device, generator=state.generator)
    else:
        bg = background_color(config.data.background, rgba.device).expand(n, 3)
    alpha = rgba[:, 3:]
    target = rgba[:, :3] * alpha + bg * (1 - alpha)
    return origins, dirs, bg, target, alpha[:, 0]


def train_step(config: TrainConfig, state: TrainState, data: PixelData, sched: dict[str, float]) -> dict[str, torch.Tensor]:
    """One optimisation step; returns the losses (not yet checked for finiteness)."""
    origins, dirs, bg, target, alpha = batch_rays(config, state, data)
    m = config.model
    settings = render_settings(config, train=True, cos_anneal=sched.get("cos_anneal", 1.0))
    use_amp = config.mixed_precision and origins.is_cuda
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
        out = render_rays(state.field, origins, dirs, bg, settings, state.occupancy, state.background, train=True)
    rgb = out["rgb"].float()
    mse = F.mse_loss(rgb, target)
    losses = {"mse": mse}
    loss = F.l1_loss(rgb, target) if m.method == "neus" else F.smooth_l1_loss(rgb, target, beta=0.05) * 20
    if m.method == "neus" and "gradients" in out:
        eik = ((out["gradients"].float().norm(dim=-1) - 1.0) ** 2).mean()
        loss = loss + m.eikonal_weight * eik
        losses["eikonal"] = eik
        if "laplacian" in out and m.curvature_weight > 0:
            curv = out["laplacian"].float().abs().mean()
            loss = loss + m.curvature_weight * curv
            losses["curvature"] = curv
    if data.has_mask and config.data.mask_weight > 0:
        opacity = out["opacity"].float().clamp(1e-4, 1 - 1e-4)
        mask_loss = F.binary_cross_entropy(opacity, alpha)
        loss = loss + config.data.mask_weight * mask_loss
        losses["mask"] = mask_loss
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    losses["loss"] = loss
    losses["samples"] = out["samples"]
    losses["rays"] = torch.tensor(origins.shape[0])
    return losses


def compile_kernels(config: TrainConfig, state: TrainState, data: PixelData) -> float:
    """Run one step's forward and backward and throw them away, so that Triton compiles the
    kernels a step uses before the time budget's clock starts; nothing of the run changes (no
    update, gradients cleared, random generators restored). Returns the seconds it took.

    On an H100 whose Triton cache was empty this took 7.1 s (1.2 s with the cache filled), which a
    60 s lego NeRF budget used to pay in steps: 31.75 dB on such a machine before, 33.19 dB with
    this (benchmarks/RESULTS.md)."""
    t = time.monotonic()
    generator = state.generator.get_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    cpu = torch.get_rng_state()
    train_step(config, state, data, apply_schedule(config, state))
    state.optimizer.zero_grad(set_to_none=True)
    state.generator.set_state(generator)
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)
        torch.cuda.synchronize()
    return time.monotonic() - t


def step_finite(state: TrainState, loss: torch.Tensor) -> str | None:
    """What is not finite after a step's backward ("loss", "gradients") or None; the loss and
    every gradient are checked on the device and read back in one transfer (each read makes the
    host wait for the GPU)."""
    flags = [torch.isfinite(loss).all()]
    flags += [torch.isfinite(p.grad).all() for g in state.optimizer.param_groups for p in g["params"]
              if p.grad is not None]
    loss_ok, *grads_ok = torch.stack(flags).tolist()
    if not loss_ok:
        return "loss"
    return None if all(grads_ok) else "gradients"


def snapshot(state: TrainState) -> dict[str, Any]:
    return {"field": copy.deepcopy(state.field.state_dict()),
            "background": copy.deepcopy(state.background.state_dict()) if state.background else None,
            "optimizer": copy.deepcopy(state.optimizer.state_dict())}


def roll_back(state: TrainState, reporter: Reporter | None, what: str) -> None:
    state.rollbacks += 1
    if state.rollbacks > MAX_ROLLBACKS:
        raise JobFailedError(
            f"training diverged: {what} at step {state.step} after {MAX_ROLLBACKS} rollbacks with lower learning rates",
            hint="lower --optim.lr-grid/--optim.lr-net, check the cameras (meshcast scene info) and the region",
            code="train.diverged",
        )
    state.field.load_state_dict(state.good["field"])
    if state.background is not None:
        state.background.load_state_dict(state.good["background"])
    state.optimizer.load_state_dict(state.good["optimizer"])
    state.lr_scale *= 0.5
    if reporter:
        reporter.warning(f"{what} at step {state.step}: rolled back to the last good state, learning rate x{state.lr_scale:g}",
                         code="train.rollback")


def state_tensors(state: TrainState) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {f"field.{k}": v for k, v in state.field.state_dict().items()}
    if state.background is not None:
        tensors.update({f"background.{k}": v for k, v in state.background.state_dict().items()})
    opt, groups = optimizer_tensors(state.optimizer)
    tensors.update(opt)
    tensors.update(state.occupancy.state())
    tensors["rng"] = state.generator.get_state()
    tensors.update(meta_tensors(state))
    info = {"elapsed": state.elapsed, "lr_scale": state.lr_scale, "rollbacks": state.rollbacks,
            "param_groups": [{k: v for k, v in g.items() if k != "params"} | {"params": g["params"]} for g in groups]}
    return tensors, info


def meta_tensors(state: TrainState) -> dict[str, torch.Tensor]:
    eps = getattr(state.field, "numerical_eps", None)
    out = {"meta.numerical_eps": torch.tensor(float(eps or 0.0))}
    if hasattr(state.field.encoding, "level_mask"):
        out["meta.active_levels"] = torch.tensor(int(state.field.encoding.level_mask.sum()))
    return out


def restore(state: TrainState, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
    device = state.occupancy.values.device
    tensors = old_grid_moments_flattened(state, tensors)
    state.field.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("field.")})
    if state.background is not None:
        state.background.load_state_dict({k[11:]: v for k, v in tensors.items() if k.startswith("background.")})
    load_optimizer(state.optimizer, {k: v.to(device) for k, v in tensors.items()}, info["param_groups"])
    state.occupancy.load(tensors)
    state.generator.set_state(tensors["rng"].to(torch.uint8).cpu())  # generator states live on the CPU
    state.step, state.elapsed = int(info["step"]), float(info["elapsed"])
    state.lr_scale, state.rollbacks = float(info["lr_scale"]), int(info["rollbacks"])


def old_grid_moments_flattened(state: TrainState, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A checkpoint of meshcast 0.3 holds the optimizer moments of each hash grid as (L, T, F)
    tables: laid out as the grid's one table now is (the weights convert on loading, ``HashGrid``)."""
    from meshcast.fields.hashgrid import HashGrid, flatten_level_tables

    modules = [state.field, *([state.background] if state.background is not None else [])]
    grids = {id(m.table): m for module in modules for m in module.modules() if isinstance(m, HashGrid)}
    params = [p for group in state.optimizer.param_groups for p in group["params"]]
    out = dict(tensors)
    for name, value in tensors.items():
        parts = name.split(".")
        if parts[0] == "optim" and value.dim() == 3 and parts[1].isdigit() and int(parts[1]) < len(params):
            grid = grids.get(id(params[int(parts[1])]))
            if grid is not None:
                out[name] = flatten_level_tables(value, grid.config.level_sizes())
    return out


def update_occupancy(config: TrainConfig, state: TrainState, p: float) -> None:
    m = config.model
    if m.method == "neus":
        band = max(0.3 * (1.0 - 2.0 * p), 0.0)  # wide early, so the surface can still move far
        state.occupancy.update(state.field.geometry, "sdf", band)
    elif state.step >= 256:  # let the density field form before pruning
        state.occupancy.update(state.field.geometry, "density", m.occupancy_threshold())


def validate(config: TrainConfig, state: TrainState, run: RunConfig, run_dir: Path,
             reporter: Reporter | None, val_frame) -> float | None:
    """Render one held-out frame at <= 200 px; write RUN/validation/step_N.png; return its PSNR."""
    from PIL import Image

    from meshcast.metrics.image import psnr
    from meshcast.train.data import load_frame_rgba, scale_for

    if val_frame is None:
        return None
    size = min(200, config.data.max_size or 200)
    k = val_frame.intrinsics.scaled(scale_for(val_frame, size))
    settings = render_settings(config)
    state.field.eval()
    out = render_view(state.field, state.background, run.similarity, val_frame.c2w_array(), k, settings,
                      run.background_color, state.occupancy.values.device, occupancy=state.occupancy)
    state.field.train()
    gt = load_frame_rgba(val_frame, size)
    gt_rgb = gt[..., :3] * gt[..., 3:] + np.asarray(run.background_color) * (1 - gt[..., 3:])
    value = psnr(out["rgb"], gt_rgb)
    folder = run_dir / "validation"
    folder.mkdir(exist_ok=True)
    path = folder / f"step_{state.step:07d}.png"
    Image.fromarray((np.concatenate([gt_rgb, out["rgb"]], 1) * 255 + 0.5).clip(0, 255).astype(np.uint8)).save(path)
    if reporter:
        reporter.artifact(path, "image")
        reporter.metric("val_psnr", value, state.step)
    return value


def prepare_run(config: TrainConfig, scene: Scene, scene_path: Path, run_dir: Path, resume: bool) -> RunConfig:
    """Write (or, on resume, read and check) RUN/config.json."""
    from meshcast.scene.bounds import auto_region
    from meshcast.scene.normalize import Similarity
    from meshcast.train.run import read_run_config

    if resume and (run_dir / "config.json").is_file():
        return read_run_config(run_dir)
    if not resume and (run_dir / "checkpoints" / "latest.json").is_file():
        raise BadInputError(f"{run_dir}: already holds a training run",
                            hint="add --resume to continue it, or choose another --out", code="run.exists")
    region = scene.region or auto_region(scene, "object")
    has_alpha = any(f.mask_path for f in scene.frames) or _first_image_has_alpha(scene)
    use_bg = config.data.background_field == "on" or (config.data.background_field == "auto" and not has_alpha)
    run = RunConfig(train=config, scene=str(scene_path.resolve()), similarity=Similarity.from_region(region),
                    background_field=use_bg, background_color=BACKGROUNDS[config.data.background])
    run_dir.mkdir(parents=True, exist_ok=True)
    save_json_atomic(run.model_dump(mode="json"), run_dir / "config.json")
    return run


def _first_image_has_alpha(scene: Scene) -> bool:
    from PIL import Image

    with Image.open(scene.frames[0].image_path) as im:
        return "A" in im.mode


def train(config: TrainConfig, scene: Scene, scene_path: Path, run_dir: Path, reporter: Reporter | None = None,
          resume: bool = False, fault: Callable[[int, torch.Tensor], torch.Tensor] | None = None) -> dict[str, Any]:
    """Train until the step or time budget is used; returns a summary. ``fault`` lets tests
    corrupt the loss of a step."""
    device = pick_device(config.device)
    run = prepare_run(config, scene, scene_path, run_dir, resume)
    config = run.train
    state = initialize_state(config, device, run.background_field)
    if resume:
        latest = read_latest(run_dir)
        if latest is not None:
            restore(state, *latest)
            if reporter:
                reporter.log(f"resuming {run_dir} at step {state.step}")
    train_frames = scene.split("train")
    val_frames = scene.split("test") or scene.split("val") or train_frames
    data = load_pixels(scene, train_frames, run.similarity, config.data.max_size, reporter).to(device)
    state.good = snapshot(state)
    if device.type == "cuda":  # Triton's just-in-time compilation is not training time
        seconds = compile_kernels(config, state, data)
        if reporter:
            reporter.log(f"GPU kernels ready in {seconds:.1f} s (compiled on a machine's first run, then cached)")
    last_ckpt_time = time.monotonic()
    stats: dict[str, float] = {}
    t_start = time.monotonic() - state.elapsed
    samples_seen, t_window = 0, time.monotonic()
    matmul_precision = torch.get_float32_matmul_precision()
    # float32 matmuls on tensor cores (TF32) while training: the small MLPs' products took 1.1 ms
    # of an 18 ms NeRF step on an H100 as full float32 (benchmarks/RESULTS.md); no effect on a CPU
    torch.set_float32_matmul_precision("high")
    try:
        while progress_of(config, state) < 1.0:
            sched = apply_schedule(config, state)
            if state.step % config.occupancy_every == 0:
                update_occupancy(config, state, sched["progress"])
            losses = train_step(config, state, data, sched)
            loss = losses["loss"] if fault is None else fault(state.step, losses["loss"])
            bad = step_finite(state, loss)
            if bad:
                roll_back(state, reporter, f"non-finite {bad}")
                continue
            state.optimizer.step()
            state.step += 1
            state.elapsed = time.monotonic() - t_start
            samples_seen += record_samples(state, losses)
            if state.step % 100 == 0:
                state.good, state.rollbacks = snapshot(state), 0
            if state.step % config.log_every == 0 or state.step == 1:
                stats = {k: float(v.detach()) for k, v in losses.items() if k not in ("samples", "rays")}
                stats["psnr"] = -10 * math.log10(max(stats["mse"], 1e-10))
                stats["samples_per_s"] = samples_seen / max(time.monotonic() - t_window, 1e-6)
                samples_seen, t_window = 0, time.monotonic()
                if reporter:
                    total = config.max_steps if not config.max_seconds else None
                    reporter.progress("train", state.step, total, f"loss {stats['loss']:.4f} psnr {stats['psnr']:.2f}")
                    for name in ("loss", "psnr", "samples_per_s"):
                        reporter.metric(name, stats[name], state.step)
            if state.step % config.validate_every == 0:
                validate(config, state, run, run_dir, reporter, val_frames[0])
            if state.step % config.checkpoint_every == 0 or time.monotonic() - last_ckpt_time > config.checkpoint_seconds:
                path = write_checkpoint(run_dir, state.step, *state_tensors(state), keep=config.keep_checkpoints)
                last_ckpt_time = time.monotonic()
                if reporter:
                    reporter.artifact(path, "checkpoint")
    except KeyboardInterrupt:
        write_checkpoint(run_dir, state.step, *state_tensors(state), keep=config.keep_checkpoints)
        raise
    finally:
        torch.set_float32_matmul_precision(matmul_precision)
    write_checkpoint(run_dir, state.step, *state_tensors(state), keep=config.keep_checkpoints)
    final = {f"field.{k}": v for k, v in state.field.state_dict().items()}
    if state.background is not None:
        final.update({f"background.{k}": v for k, v in state.background.state_dict().items()})
    final.update(meta_tensors(state))
    final.update(state.occupancy.state())
    save_tensors_atomic(final, run_dir / "model.safetensors", metadata={"format": "meshcast-run-1"})
    val_psnr = validate(config, state, run, run_dir, reporter, val_frames[0])
    if reporter:
        reporter.artifact(run_dir / "model.safetensors", "run")
    return {"run": str(run_dir.resolve()), "steps": state.step, "seconds": round(state.elapsed, 2),
            "train_psnr": stats.get("psnr"), "val_psnr": val_psnr, "device": device.type,
            "model": str((run_dir / "model.safetensors").resolve())}
