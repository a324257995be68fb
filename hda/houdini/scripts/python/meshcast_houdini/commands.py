"""meshcast command lines from node settings: argument lists, never shell strings.

``build_command(settings, source, target)`` returns the arguments after ``meshcast`` for one
work item (``["train", SCENE, "--out", RUN, ...]``). Options equal to the CLI's default are left
out, so the CLI's own defaults (and the training presets) apply; a test checks every option
name and default against the real meshcast parser. ``join_command`` quotes a list for PDG,
whose work-item command is one string, with the standard library's quoting for the platform.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence

from meshcast_houdini.settings import (
    AnyJobSettings,
    EvalSettings,
    ExtractSettings,
    PrepareSettings,
    RenderSettings,
    SettingsError,
    TrainSettings,
)


def build_command(settings: AnyJobSettings, source: str, target: str) -> list[str]:
    """Arguments after ``meshcast`` that turn ``source`` into ``target``.

    prepare: capture -> scene folder; train: scene -> run folder; extract: run -> mesh file;
    render: run -> frames folder; eval: run -> (metrics are read from the result event).
    """
    if isinstance(settings, PrepareSettings):
        args = _prepare_args(settings, source, target)
    elif isinstance(settings, TrainSettings):
        args = _train_args(settings, source, target)
    elif isinstance(settings, ExtractSettings):
        args = _extract_args(settings, source, target)
    elif isinstance(settings, RenderSettings):
        args = _render_args(settings, source, target)
    elif isinstance(settings, EvalSettings):
        args = _eval_args(settings, source)
    else:
        raise TypeError(f"not a meshcast job node's settings: {type(settings).__name__}")
    return args + split_extra_args(settings.extra_args)


def _option(args: list[str], flag: str, value: object, default: object = None) -> None:
    if value is not None and value != default:
        args += [flag, _text(value)]


def _flag(args: list[str], flag: str, on: bool) -> None:
    if on:
        args.append(flag)


def _text(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _prepare_args(s: PrepareSettings, source: str, target: str) -> list[str]:
    args = ["prepare", source, "--out", target]
    _option(args, "--mode", s.mode, "object")
    if s.fps is not None:  # the CLI takes one of the two
        _option(args, "--fps", s.fps)
    else:
        _option(args, "--frames", s.frames, 150)
    _option(args, "--max-size", s.max_size, 1600)
    _option(args, "--matcher", s.matcher, "auto")
    _option(args, "--camera", s.camera, "auto")
    _option(args, "--camera-model", s.camera_model or None, "SIMPLE_RADIAL")
    _flag(args, "--overwrite", s.overwrite)
    _flag(args, "--keep-inputs", s.keep_inputs)
    return args


def _train_args(s: TrainSettings, source: str, target: str) -> list[str]:
    args = ["train", source, "--out", target]
    _option(args, "--method", s.method, "neus")
    _option(args, "--preset", s.preset, "preview")
    _option(args, "--device", s.device, "auto")
    _option(args, "--max-steps", s.max_steps)
    _option(args, "--max-seconds", s.max_seconds)
    _option(args, "--batch-rays", s.batch_rays)
    _option(args, "--seed", s.seed)
    _option(args, "--data.max-size", s.data_max_size)
    _option(args, "--model.samples", s.samples)
    if s.importance is not None and s.method == "nerf":
        raise SettingsError("importance: only the neus method has importance samples")
    _option(args, "--model.importance", s.importance)
    _flag(args, "--resume", s.resume)
    return args


def _extract_args(s: ExtractSettings, source: str, target: str) -> list[str]:
    args = ["extract", source, "--out", target]
    _option(args, "--resolution", s.resolution, 512)
    _option(args, "--block-res", s.block_res, 128)
    _option(args, "--format", s.format, "ply")
    _option(args, "--texture", s.texture, "vertex")
    _option(args, "--texture-size", s.texture_size, 1024)
    _flag(args, "--keep-largest", s.keep_largest)
    _option(args, "--level", s.level)
    _option(args, "--device", s.device, "auto")
    return args


def _render_args(s: RenderSettings, source: str, target: str) -> list[str]:
    args = ["render", source, "--out", target]
    _option(args, "--orbit", s.orbit or None)
    _option(args, "--video", s.video, "gif")
    _option(args, "--max-size", s.max_size, 400)
    _option(args, "--device", s.device, "auto")
    return args


def _eval_args(s: EvalSettings, source: str) -> list[str]:
    args = ["eval", source]
    _option(args, "--gt", s.gt or None)
    _option(args, "--samples", s.samples, 200000)
    _option(args, "--tau", s.tau, 0.01)
    return args


def split_extra_args(text: str) -> list[str]:
    """The node's Extra Arguments as a list, split by command-line rules (POSIX quoting)."""
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:
        raise SettingsError(f"extra_args: {exc}") from None


def join_command(argv: Sequence[str], platform: str | None = None) -> str:
    """One command string for PDG from an argument list: ``shlex.join`` on Linux and macOS,
    ``subprocess.list2cmdline`` (the CreateProcess rules) on Windows."""
    if (platform or sys.platform) == "win32":
        return subprocess.list2cmdline(list(argv))
    return shlex.join(argv)
