"""Training: NaN rollback, a clear failure when it keeps diverging, and kill -9 then resume."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from meshcast.errors import JobFailedError
from meshcast.jobs import parse_event
from meshcast.reporting import Reporter
from meshcast.scene import load_scene
from meshcast.train.config import preset_config
from meshcast.train.loop import compile_kernels, initialize_state, train
from meshcast.train.run import load_run, render_frame


@pytest.fixture(scope="module")
def tiny_scene(tmp_path_factory) -> Path:
    from meshcast.demo import make_demo_scene

    return make_demo_scene(tmp_path_factory.mktemp("tiny") / "scene", n_views=12, resolution=32, n_test=2)


def tiny_config(steps: int):
    return preset_config("neus", "preview", "cpu").model_copy(
        update={"max_steps": steps, "batch_rays": 128, "validate_every": 10_000, "checkpoint_every": 10_000,
                "log_every": 5, "device": "cpu", "data": preset_config("neus", "preview", "cpu").data.model_copy(update={"max_size": 32})})


class Recorder(Reporter):
    def __init__(self):
        super().__init__(None)
        self.codes: list[str] = []

    def warning(self, message, code="warning"):
        self.codes.append(code)
        super().warning(message, code)


def test_nan_rolls_back_with_lower_lr(tiny_scene, tmp_path):
    reporter = Recorder()
    poison = {7, 8}
    fault = lambda step, loss: loss * float("nan") if step in poison and not poison.discard(step) else loss
    result = train(tiny_config(30), load_scene(tiny_scene), tiny_scene, tmp_path / "run", reporter, fault=fault)
    assert result["steps"] == 30
    assert reporter.codes.count("train.rollback") == 2
    weights = load_run(tmp_path / "run", "cpu").field.state_dict()
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def test_persistent_nan_fails_clearly(tiny_scene, tmp_path):
    with pytest.raises(JobFailedError, match="training diverged: non-finite loss"):
        train(tiny_config(30), load_scene(tiny_scene), tiny_scene, tmp_path / "run", Recorder(),
              fault=lambda step, loss: loss * float("nan") if step >= 3 else loss)
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_killed_run_resumes_to_the_end(tiny_scene, tmp_path, meshcast_argv):
    run = tmp_path / "run"
    argv = [*meshcast_argv, "train", str(tiny_scene), "--out", str(run), "--device", "cpu", "--max-steps", "120",
            "--checkpoint-every", "10", "--batch-rays", "128", "--data.max-size", "32", "--validate-every", "1000",
            "--events", "-", "--quiet"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    checkpoints = 0
    for line in proc.stdout:
        event = parse_event(line)
        if event["type"] == "artifact" and event["kind"] == "checkpoint":
            checkpoints += 1
            if checkpoints == 2:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == 20 and not (run / "model.safetensors").exists()
    done = subprocess.run([*argv, "--resume"], capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    events = [parse_event(l) for l in done.stdout.splitlines()]
    steps = [e["step"] for e in events if e["type"] == "progress" and e["stage"] == "train"]
    assert steps[0] > 20 and events[-1]["data"]["steps"] == 120
    assert (run / "model.safetensors").is_file()
    run_log = [parse_event(l) for l in (run / "events.jsonl").read_text().splitlines()]
    assert run_log[-1]["type"] == "result"


def test_checkpoint_with_old_per_level_tables_resumes(tiny_scene, tmp_path):
    """A checkpoint whose hash grid table and its Adam moments are (L, T, F) tables (meshcast 0.3)
    resumes: weights and moments are laid out as the one table of today, values unchanged."""
    from safetensors.torch import load_file, save_file

    from meshcast.fields.hashgrid import HashGrid

    run = tmp_path / "run"
    config = tiny_config(20).model_copy(update={"checkpoint_every": 10})
    train(config, load_scene(tiny_scene), tiny_scene, run, None)
    # as if killed after step 10's checkpoint
    (run / "checkpoints" / "latest.json").write_text(json.dumps({"step": 10, "name": "step_0000010"}))
    (run / "model.safetensors").unlink()
    grid = next(m for m in load_run(run, "cpu").field.modules() if isinstance(m, HashGrid))
    sizes, offsets, width = grid.config.level_sizes(), grid.config.level_offsets(), 2**grid.config.log2_table_size
    path = run / "checkpoints" / "step_0000010.safetensors"
    tensors = load_file(str(path))
    flat = {k: v for k, v in tensors.items() if v.dim() == 2 and v.shape[0] == sum(sizes)}
    assert "field.encoding.table" in flat and len(flat) == 3  # the table and its two moments
    for name, value in flat.items():  # back to one T-row table per level, unused rows zero
        old = torch.zeros(len(sizes), width, value.shape[1])
        for level, (start, rows) in enumerate(zip(offsets, sizes)):
            old[level, :rows] = value[start:start + rows]
        tensors[name] = old
    save_file(tensors, str(path))
    result = train(config, load_scene(tiny_scene), tiny_scene, run, None, resume=True)
    assert result["steps"] == 20
    resumed = next(m for m in load_run(run, "cpu").field.modules() if isinstance(m, HashGrid))
    assert resumed.table.shape == (sum(sizes), 2) and torch.isfinite(resumed.table).all()


def test_render_frame_shapes_and_world_depth(tiny_scene, tmp_path):
    train(tiny_config(5), load_scene(tiny_scene), tiny_scene, tmp_path / "run", None)
    loaded = load_run(tmp_path / "run", "cpu")
    frame = load_scene(tiny_scene).frames[0]
    out = render_frame(loaded, frame.c2w_array(), frame.intrinsics.scaled(0.5))
    assert out["rgb"].shape == (16, 16, 3) and out["opacity"].shape == (16, 16)
    assert out["rgb"].min() >= 0 and out["rgb"].max() <= 1


def test_run_from_before_the_tcnn_layout_is_refused_clearly(tiny_scene, tmp_path):
    """A run trained by meshcast 0.1 (another hash-grid indexing) is not silently decoded wrong."""
    from meshcast.errors import BadInputError
    from meshcast.train.run import load_run

    run = tmp_path / "run"
    train(tiny_config(2), load_scene(tiny_scene), tiny_scene, run, None)
    assert load_run(run, "cpu").step >= -1  # this version's own run loads
    config = json.loads((run / "config.json").read_text())
    config["version"] = "0.1.0"
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(BadInputError, match="trained by meshcast 0.1.0") as info:
        load_run(run, "cpu")
    assert info.value.code == "run.old_layout" and "train it again" in info.value.hint



def nerf_config(steps: int, **model):
    base = preset_config("nerf", "preview", "cpu")
    return base.model_copy(update={"max_steps": steps, "validate_every": 10_000, "checkpoint_every": 10_000,
                                   "device": "cpu", "model": base.model.model_copy(update=model),
                                   "data": base.data.model_copy(update={"max_size": 64})})


def test_marched_nerf_learns_the_demo_object(tmp_path):
    """The NeRF preset (occupancy-grid marching, spherical-harmonics view encoding) fits held-out
    views: measured 22.1 dB test PSNR after 400 steps (22.5 dB for the fixed-samples path)."""
    from meshcast.demo import make_demo_scene
    from meshcast.evaluate import evaluate_run

    scene = make_demo_scene(tmp_path / "scene", n_views=24, resolution=64, n_test=3)
    config = nerf_config(400)
    assert config.model.march_step > 0 and config.model.view_encoding == "sh4"
    train(config, load_scene(scene), scene, tmp_path / "run", None)
    assert evaluate_run(tmp_path / "run")["psnr"] > 20.0


def test_nerf_run_from_meshcast_0_2_loads_with_its_own_settings(tiny_scene, tmp_path):
    """A 0.2 NeRF run's config.json lacks the marching and view-encoding settings; it loads with
    the values 0.2 used (not 0.3's defaults, which would not fit its weights)."""
    run = tmp_path / "run"
    train(nerf_config(2, march_step=0.0, view_encoding="direction", density_threshold=0.05),
          load_scene(tiny_scene), tiny_scene, run, None)
    config = json.loads((run / "config.json").read_text())
    config["version"] = "0.2.0"
    for key in ("march_step", "early_stop", "target_samples", "view_encoding", "density_threshold"):
        del config["train"]["model"][key]
    (run / "config.json").write_text(json.dumps(config))
    loaded = load_run(run, "cpu")
    model = loaded.config.train.model
    assert (model.view_encoding, model.march_step, model.occupancy_threshold()) == ("direction", 0.0, 0.05)
    frame = load_scene(tiny_scene).frames[0]
    assert render_frame(loaded, frame.c2w_array(), frame.intrinsics.scaled(0.25))["rgb"].shape == (8, 8, 3)


def test_compiling_the_kernels_changes_nothing_of_the_run(tiny_scene):
    """The throw-away step that makes Triton compile before the clock starts (run on CUDA) leaves
    the parameters, the optimizer, the gradients and the random generators as they were."""
    from meshcast.scene.normalize import Similarity
    from meshcast.train.data import load_pixels

    config = tiny_config(10)
    scene = load_scene(tiny_scene)
    data = load_pixels(scene, scene.split("train"), Similarity.from_region(scene.region), 32)
    state = initialize_state(config, torch.device("cpu"), False)
    params = {k: v.clone() for k, v in state.field.state_dict().items()}
    generator, cpu = state.generator.get_state(), torch.get_rng_state()
    assert compile_kernels(config, state, data) > 0
    assert all(torch.equal(params[k], v) for k, v in state.field.state_dict().items())
    assert all(p.grad is None for p in state.field.parameters()) and not state.optimizer.state
    assert torch.equal(state.generator.get_state(), generator) and torch.equal(torch.get_rng_state(), cpu)


def test_step_finite_names_what_is_not_finite():
    """The loss and every gradient are checked in one read-back; the loss is named first."""
    from meshcast.train.loop import step_finite

    state = initialize_state(tiny_config(1), torch.device("cpu"), False)
    params = [p for g in state.optimizer.param_groups for p in g["params"]]
    for p in params:
        p.grad = torch.zeros_like(p)
    assert step_finite(state, torch.tensor(1.0)) is None
    params[-1].grad.view(-1)[0] = float("inf")
    assert step_finite(state, torch.tensor(1.0)) == "gradients"
    assert step_finite(state, torch.tensor(float("nan"))) == "loss"
