"""Which Python runs meshcast, and the environment variables a work item exports.

The meshcast environment (its Python, CUDA) reaches the work items as work-item attributes
that PDG exports to the job's environment, never through Houdini's own ``PYTHONPATH``: putting
a virtual environment there breaks Houdini, and Houdini's ``PYTHONPATH``/``PYTHONHOME`` break
the meshcast Python. So the job wrapper is started with ``python -E`` (ignores ``PYTHON*``
variables) and starts meshcast with both variables removed (``child_environment``).
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

from meshcast_houdini.settings import EnvironmentSettings, SettingsError

PYTHON_ATTRIBUTE = "meshcast_python"
PYTHON_VARIABLE = "MESHCAST_PYTHON"
FORBIDDEN_VARIABLES = ("PYTHONPATH", "PYTHONHOME")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def exported_variables(settings: EnvironmentSettings) -> dict[str, str]:
    """Environment variables (name -> value) the environment node exports to its work items."""
    out: dict[str, str] = {}
    if settings.cuda_home:
        out["CUDA_HOME"] = settings.cuda_home
    if settings.cuda_visible_devices:
        devices = settings.cuda_visible_devices.replace(" ", "")
        if not re.fullmatch(r"(-1|[0-9]+(,[0-9]+)*|(GPU|MIG)-[A-Za-z0-9,/-]+)", devices):
            raise SettingsError(f"cuda_visible_devices: {settings.cuda_visible_devices!r} is not a "
                                "list of GPU indices such as 0 or 0,1")
        out["CUDA_VISIBLE_DEVICES"] = devices
    out.update(parse_extra_env(settings.extra_env))
    return out


def parse_extra_env(text: str) -> dict[str, str]:
    """``NAME=VALUE`` lines (blank lines and lines starting with # skipped) as a dict."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise SettingsError(f"extra_env: line {number}: expected NAME=VALUE, got {line!r}")
        if name.upper() in FORBIDDEN_VARIABLES:
            raise SettingsError(f"extra_env: line {number}: {name} is not allowed; the meshcast "
                                "Python finds its own packages, set the interpreter instead")
        out[name] = value.strip()
    return out


def resolve_python(node_python: str, upstream_python: str | None,
                   environ: Mapping[str, str]) -> str:
    """The meshcast interpreter for a work item: the node's own parameter, else the upstream
    environment node's attribute, else ``$MESHCAST_PYTHON``. Raises when none is set."""
    for candidate in (node_python, upstream_python or "", environ.get(PYTHON_VARIABLE, "")):
        if candidate.strip():
            return candidate.strip()
    raise SettingsError(
        "python: no meshcast Python set. Put a meshcast Environment node upstream, fill in this "
        f"node's meshcast Python, or set {PYTHON_VARIABLE} to the interpreter of the environment "
        "where meshcast is installed (e.g. /opt/meshcast/.venv/bin/python)")


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for the meshcast process: the job's own, without PYTHONPATH/PYTHONHOME."""
    return {k: v for k, v in environ.items() if k.upper() not in FORBIDDEN_VARIABLES}


def job_environment(base: Mapping[str, str], exported: Mapping[str, str]) -> dict[str, str]:
    """What a scheduler gives a job: its own environment with the exported variables on top."""
    env = dict(base)
    env.update(exported)
    return env


def default_environ() -> Mapping[str, str]:
    return os.environ
