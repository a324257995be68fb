"""Profile training steps on the current device: top operators by self device time, and how
much of the step's wall time the device is busy.

  python benchmarks/profile_step.py --scene DATA/lego_400 --method neus --steps 5
  python benchmarks/profile_step.py --scene DATA/lego_400 --method nerf --warmup 600 --precision bf16

``--warmup`` trains that many steps first, so that a NeRF's occupancy grid has pruned empty
space and the profile is of the steady state rather than of the first steps.
"""
from __future__ import annotations

import argparse
import collections
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import torch

from meshcast.scene import load_scene
from meshcast.train.config import preset_config
from meshcast.train.data import load_pixels
from meshcast.train.loop import (
    apply_schedule,
    initialize_state,
    prepare_run,
    record_samples,
    step_finite,
    train_step,
    update_occupancy,
)


def sync_sites(step, steps: int) -> collections.Counter:
    """Where ``steps`` calls of ``step`` synchronise with the GPU: the innermost meshcast source
    line of each synchronising CUDA operation (torch.cuda.set_sync_debug_mode), counted."""
    sites: collections.Counter = collections.Counter()

    def record(message, category, filename, lineno, file=None, line=None):
        frames = [f for f in traceback.extract_stack()[:-1] if "meshcast" in f.filename or "profile_step" in f.filename]
        where = frames[-1] if frames else None
        sites[f"{Path(where.filename).name}:{where.lineno} {where.line}" if where else f"{filename}:{lineno}"] += 1

    with warnings.catch_warnings():  # restores the filters and showwarning on the way out
        warnings.simplefilter("always")
        warnings.showwarning = record
        torch.cuda.set_sync_debug_mode("warn")
        try:
            for _ in range(steps):
                step()
        finally:
            torch.cuda.set_sync_debug_mode(0)
    return sites


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", type=Path, required=True)
    parser.add_argument("--method", default="neus")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3, help="steps trained before timing")
    parser.add_argument("--precision", choices=["preset", "fp32", "bf16"], default="preset",
                        help="the preset's choice, float32 (TF32 matmuls) or bf16 autocast")
    parser.add_argument("--sort", choices=["device", "cpu"], default="device",
                        help="order the table by self device time or by self CPU time (host-bound steps)")
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--sync-debug", action="store_true",
                        help="also list where a step makes the host wait for the GPU (CUDA only)")
    parser.add_argument("--checks", action="store_true",
                        help="time the step as train() runs it: with its finiteness checks")
    parser.add_argument("--scatter", choices=["walk", "runs", "atomic"], default=None,
                        help="the Triton encoding backward's table-gradient scatter (default: the module's)")
    args = parser.parse_args()
    if args.scatter:
        from meshcast.fields import hashgrid_triton

        hashgrid_triton.DEFAULT_SCATTER = args.scatter
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = preset_config(args.method, "preview", device.type)
    if args.precision != "preset":
        config = config.model_copy(update={"mixed_precision": args.precision == "bf16"})
    scene = load_scene(args.scene)
    with tempfile.TemporaryDirectory() as tmp:  # the region and background field that training would use
        run = prepare_run(config, scene, args.scene, Path(tmp), resume=False)
    data = load_pixels(scene, scene.split("train"), run.similarity, config.data.max_size).to(device)
    state = initialize_state(config, device, run.background_field)
    print(f"background field: {'on' if run.background_field else 'off'}")
    torch.set_float32_matmul_precision("high")  # as train() does
    def step():
        sched = apply_schedule(config, state)
        if state.step % config.occupancy_every == 0:
            update_occupancy(config, state, sched["progress"])
        losses = train_step(config, state, data, sched)
        if args.checks and step_finite(state, losses["loss"]):
            raise RuntimeError("non-finite loss or gradients while profiling")
        state.optimizer.step()
        state.step += 1
        record_samples(state, losses)
        return losses
    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.time()
    samples = rays = 0
    for _ in range(args.steps):
        losses = step()
        samples += int(losses["samples"])
        rays += int(losses["rays"])
    if device.type == "cuda":
        torch.cuda.synchronize()
    ms = (time.time() - t) / args.steps * 1000
    print(f"{args.method}: {ms:.1f} ms/step, {samples / args.steps:.0f} samples and {rays / args.steps:.0f} rays "
          f"per step, {samples / args.steps / ms * 1000:.3g} samples/s, occupied {float(state.occupancy.occupied.float().mean()):.3f}",
          flush=True)
    if args.sync_debug and device.type == "cuda":
        sites = sync_sites(step, args.steps)
        print(f"{sum(sites.values()) / args.steps:.1f} synchronisations per step:")
        for where, count in sites.most_common():
            print(f"  {count / args.steps:5.1f}  {where}")
    activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(args.steps):
            step()
    key = "self_cuda_time_total" if device.type == "cuda" and args.sort == "device" else "self_cpu_time_total"
    averages = prof.key_averages()
    if device.type == "cuda":
        busy = sum(e.self_device_time_total for e in averages) / 1000 / args.steps
        print(f"device busy {busy:.1f} ms of each step (kernels' self time summed)")
    calls = sum(e.count for e in averages if e.key.startswith("aten::")) / args.steps
    print(f"{calls:.0f} aten operator calls per step")
    print(averages.table(sort_by=key, row_limit=args.rows, max_name_column_width=45))


if __name__ == "__main__":
    main()
