"""Typed, validated settings of each meshcast node, read from its parameter values.

``read_settings(kind, values)`` takes the raw values (as Houdini evaluates them: strings,
ints, floats) by parameter name, coerces them by the parameter's kind, checks menus and
numbers, and returns the frozen dataclass of that node. A bad value raises ``SettingsError``
naming the parameter, which the node shows as its error.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from meshcast_houdini.parms import PARMS, Kind, Parm, Value


class SettingsError(ValueError):
    """A parameter value a node cannot use; the message names the parameter."""


@dataclass(frozen=True)
class JobSettings:
    """Parameters every meshcast job node has (see ``parms._common``)."""

    input: str = ""
    input_pattern: str = ""
    output_root: str = ""
    python: str = ""
    one_at_a_time: bool = False
    extra_args: str = ""


@dataclass(frozen=True)
class EnvironmentSettings:
    python: str = ""
    cuda_home: str = ""
    cuda_visible_devices: str = ""
    extra_env: str = ""


@dataclass(frozen=True)
class PrepareSettings(JobSettings):
    mode: str = "object"
    frames: int = 150
    fps: float | None = None
    max_size: int = 1600
    matcher: str = "auto"
    camera: str = "auto"
    camera_model: str = "SIMPLE_RADIAL"
    overwrite: bool = False
    keep_inputs: bool = False
    pass_posed: bool = True


@dataclass(frozen=True)
class TrainSettings(JobSettings):
    method: str = "neus"
    preset: str = "preview"
    device: str = "auto"
    max_steps: int | None = None
    max_seconds: float | None = None
    batch_rays: int | None = None
    seed: int | None = None
    data_max_size: int | None = None
    samples: int | None = None
    importance: int | None = None
    resume: bool = False


@dataclass(frozen=True)
class ExtractSettings(JobSettings):
    resolution: int = 512
    block_res: int = 128
    format: str = "ply"
    texture: str = "vertex"
    texture_size: int = 1024
    keep_largest: bool = False
    level: float | None = None
    device: str = "auto"


@dataclass(frozen=True)
class RenderSettings(JobSettings):
    orbit: int = 0
    video: str = "gif"
    max_size: int = 400
    device: str = "auto"


@dataclass(frozen=True)
class EvalSettings(JobSettings):
    gt: str = ""
    samples: int = 200000
    tau: float = 0.01


AnyJobSettings = PrepareSettings | TrainSettings | ExtractSettings | RenderSettings | EvalSettings
NodeSettings = EnvironmentSettings | AnyJobSettings

SETTINGS_TYPES: dict[Kind, type] = {
    "environment": EnvironmentSettings, "prepare": PrepareSettings, "train": TrainSettings,
    "extract": ExtractSettings, "render": RenderSettings, "eval": EvalSettings,
}

# Lower bounds of numeric parameters (the CLI's own checks, said earlier and by parameter name).
_MINIMUM: dict[str, float] = {
    "frames": 3, "resolution": 8, "block_res": 4, "texture_size": 16, "max_steps": 1,
    "batch_rays": 16, "data_max_size": 8, "samples": 4, "importance": 0, "orbit": 0,
    "max_size": 0, "tau": 0.0,
}
_POSITIVE = {"max_seconds", "tau", "fps"}
# String parameters that hold an optional number (empty: the preset's or the CLI's default).
_OPTIONAL_INTS = {"max_steps", "batch_rays", "seed", "data_max_size", "samples", "importance"}
_OPTIONAL_FLOATS = {"max_seconds", "level", "fps"}


def read_settings(kind: Kind, values: Mapping[str, Value]) -> NodeSettings:
    """Settings of a ``kind`` node from its parameter values; missing values take defaults."""
    coerced: dict[str, object] = {}
    for parm in PARMS[kind]:
        raw = values.get(parm.name, parm.default)
        coerced[parm.name] = _coerce(parm, raw)
    settings = SETTINGS_TYPES[kind](**coerced)
    assert {f.name for f in fields(settings)} == set(coerced), "settings and parameters differ"
    return settings


def _coerce(parm: Parm, raw: Value) -> object:
    if parm.type == "toggle":
        return bool(int(raw))
    if parm.type == "menu":
        value = str(raw).strip()
        if value not in parm.menu:
            raise SettingsError(f"{parm.name}: {value!r} is not one of {', '.join(parm.menu)}")
        return value
    if parm.type in ("int", "float"):
        number = _number(parm.name, raw, float if parm.type == "float" else int)
        _check_range(parm.name, number)
        return number
    text = str(raw).strip()
    if parm.type == "string" and parm.name in _OPTIONAL_INTS | _OPTIONAL_FLOATS:
        return _optional_number(parm.name, text)
    return text


def _optional_number(name: str, text: str) -> int | float | None:
    if text == "":
        return None
    number = _number(name, text, float if name in _OPTIONAL_FLOATS else int)
    _check_range(name, number)
    return number


def _number(name: str, raw: Value, kind: type) -> int | float:
    try:
        if kind is int:
            as_float = float(raw)
            if as_float != int(as_float):
                raise ValueError
            return int(as_float)
        return float(raw)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name}: {raw!r} is not {what}") from None


def _check_range(name: str, number: float) -> None:
    if name in _POSITIVE and number <= 0:
        raise SettingsError(f"{name}: must be greater than 0, got {number}")
    if name in _MINIMUM and number < _MINIMUM[name]:
        raise SettingsError(f"{name}: must be at least {_MINIMUM[name]:g}, got {number}")
