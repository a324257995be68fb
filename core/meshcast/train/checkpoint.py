"""Checkpoints: safetensors for tensors, JSON for the rest; every file written atomically.

RUN/checkpoints/step_NNNNNNN.safetensors   model, background, optimizer moments, occupancy, RNG
RUN/checkpoints/step_NNNNNNN.json          step, elapsed seconds, lr scale, optimizer groups
RUN/checkpoints/latest.json                {"step": N, "name": "step_NNNNNNN"}, written last
RUN/model.safetensors                      final weights (written when training finished)
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from meshcast.errors import BadInputError
from meshcast.scene.transforms import write_json_atomic


def save_tensors_atomic(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_json_atomic(data: Any, path: Path) -> None:
    write_json_atomic(path, data)


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    state = optimizer.state_dict()
    tensors = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            tensors[f"optim.{index}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return tensors, state["param_groups"]


def load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def write_checkpoint(run_dir: Path, step: int, tensors: dict[str, torch.Tensor], info: dict[str, Any], keep: int) -> Path:
    folder = run_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"step_{step:07d}"
    save_tensors_atomic(tensors, folder / f"{name}.safetensors")
    save_json_atomic({**info, "step": step}, folder / f"{name}.json")
    save_json_atomic({"step": step, "name": name}, folder / "latest.json")
    for old in sorted(folder.glob("step_*.safetensors"))[:-keep]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
    return folder / f"{name}.safetensors"


def read_latest(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """The newest complete checkpoint, or None when the run has none."""
    pointer = run_dir / "checkpoints" / "latest.json"
    if not pointer.is_file():
        return None
    try:
        name = json.loads(pointer.read_text())["name"]
        info = json.loads((run_dir / "checkpoints" / f"{name}.json").read_text())
        tensors = load_file(str(run_dir / "checkpoints" / f"{name}.safetensors"))
    except (OSError, ValueError, KeyError) as exc:
        raise BadInputError(f"{pointer}: checkpoint unreadable ({exc})",
                            hint="delete the run folder's checkpoints/ to start over", code="run.checkpoint_corrupt") from exc
    return tensors, info
