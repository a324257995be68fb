"""Command lines of the meshcast jobs the add-on starts (no bpy).

Every job is ``<env python> -m meshcast <command> ... --quiet`` as an argument list (never a
shell string); the job client appends ``--events -`` and, when a log file is given, the events
also go there (``--events`` given twice).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def meshcast_argv(python: str, *args: str) -> list[str]:
    return [str(python), "-m", "meshcast", *[str(a) for a in args]]


def with_events(argv: list[str], log_path: str | Path | None = None) -> list[str]:
    """``argv`` with the event stream on stdout and, optionally, appended to ``log_path``."""
    out = list(argv) + ["--events", "-"]
    if log_path:
        out += ["--events", str(log_path)]
    return out


@dataclass(frozen=True)
class PrepareOptions:
    input: str  # video file, photo folder or COLMAP workspace
    out: str  # scene folder to create
    mode: str = "object"  # object | scene
    matcher: str = "auto"  # auto | exhaustive | sequential
    max_size: int = 1600  # px, 0 keeps the original size
    frames: int = 150  # video frames to keep
    fps: float = 0.0  # > 0: the sharpest frame of every 1/fps seconds instead of ``frames``


def prepare_argv(python: str, o: PrepareOptions) -> list[str]:
    rate = ["--fps", repr(float(o.fps))] if o.fps > 0 else ["--frames", str(o.frames)]
    return meshcast_argv(python, "prepare", o.input, "--out", o.out, "--mode", o.mode, "--matcher", o.matcher,
                         "--max-size", str(o.max_size), *rate, "--quiet")


@dataclass(frozen=True)
class TrainOptions:
    scene: str
    out: str  # run folder
    method: str = "neus"  # neus | nerf
    preset: str = "preview"  # preview | quality
    max_steps: int | None = None
    max_seconds: float | None = None
    device: str = "auto"  # auto | cpu | cuda
    resume: bool = False
    extra: tuple[str, ...] = ()  # more options, e.g. ("--batch-rays", "1024")


def split_options(text: str) -> tuple[str, ...]:
    """User-typed extra options as arguments (shell-like quoting, but no shell ever runs them)."""
    import shlex

    return tuple(shlex.split(text))


def train_argv(python: str, o: TrainOptions) -> list[str]:
    argv = meshcast_argv(python, "train", o.scene, "--out", o.out, "--method", o.method, "--preset", o.preset,
                         "--device", o.device)
    if o.max_steps:
        argv += ["--max-steps", str(int(o.max_steps))]
    if o.max_seconds:
        argv += ["--max-seconds", f"{float(o.max_seconds):g}"]
    if o.resume:
        argv.append("--resume")
    return argv + list(o.extra) + ["--quiet"]


@dataclass(frozen=True)
class ExtractOptions:
    run: str
    out: str  # mesh file; its suffix is the format
    resolution: int = 512
    texture: str = "vertex"  # none | vertex | uv
    keep_largest: bool = False
    device: str = "auto"


def extract_argv(python: str, o: ExtractOptions) -> list[str]:
    fmt = Path(o.out).suffix.lstrip(".").lower()
    argv = meshcast_argv(python, "extract", o.run, "--resolution", str(int(o.resolution)), "--format", fmt,
                         "--texture", o.texture, "--device", o.device, "--out", o.out)
    if o.keep_largest:
        argv.append("--keep-largest")
    return argv + ["--quiet"]


def convert_argv(python: str, scene: str, out: str) -> list[str]:
    """COLMAP (or any readable scene) -> a transforms.json folder the add-on opens itself."""
    return meshcast_argv(python, "scene", "convert", scene, "--to", "transforms", "--out", out, "--quiet")


def scene_info_argv(python: str, scene: str) -> list[str]:
    return meshcast_argv(python, "scene", "info", scene, "--quiet")


def doctor_argv(python: str) -> list[str]:
    return meshcast_argv(python, "doctor", "--quiet")
