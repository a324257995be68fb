"""Profile training steps on the current device: top operators by self device time.

  python benchmarks/profile_step.py --scene DATA/lego_400 --method neus --steps 5
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from meshcast.scene import load_scene
from meshcast.scene.bounds import auto_region
from meshcast.scene.normalize import Similarity
from meshcast.train.config import preset_config
from meshcast.train.data import load_pixels
from meshcast.train.loop import apply_schedule, initialize_state, train_step, update_occupancy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", type=Path, required=True)
    parser.add_argument("--method", default="neus")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = preset_config(args.method, "preview", device.type)
    scene = load_scene(args.scene)
    sim = Similarity.from_region(scene.region or auto_region(scene))
    data = load_pixels(scene, scene.split("train"), sim, config.data.max_size).to(device)
    state = initialize_state(config, device, False)
    def step():
        sched = apply_schedule(config, state)
        if state.step % config.occupancy_every == 0:
            update_occupancy(config, state, sched["progress"])
        losses = train_step(config, state, data, sched)
        state.optimizer.step()
        state.step += 1
        return losses
    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.time()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    print(f"{args.method}: {(time.time() - t) / args.steps * 1000:.1f} ms/step", flush=True)
    activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(args.steps):
            step()
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=18, max_name_column_width=45))


if __name__ == "__main__":
    main()
