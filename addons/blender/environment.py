"""Finding the Python environment where meshcast is installed (no bpy).

Blender's own Python never imports meshcast's heavy parts: jobs run in the user's meshcast
environment as subprocesses. Candidates, first hit wins: the path set in the preferences, the
``MESHCAST_PYTHON`` variable, the interpreter behind a ``meshcast`` script on PATH, the current
interpreter when it can import meshcast (bpy installed into the meshcast environment).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path


def python_of_script(script: str | Path) -> Path | None:
    """The interpreter of a console script: its ``#!`` line, or ``python`` beside it (venvs)."""
    script = Path(script)
    try:
        first = script.read_bytes()[:256].splitlines()[0].decode("utf-8", "replace")
    except (OSError, IndexError):
        first = ""
    if first.startswith("#!"):
        candidate = Path(first[2:].strip().split()[0])
        if candidate.name != "env" and candidate.is_file():
            return candidate
    for name in ("python", "python3", "python.exe"):
        sibling = script.parent / name
        if sibling.is_file():
            return sibling
    return None


def candidate_pythons(configured: str = "") -> list[tuple[str, Path]]:
    """(where it came from, interpreter path) for every candidate that exists, best first."""
    found: list[tuple[str, Path]] = []
    if configured:
        found.append(("preferences", Path(configured).expanduser()))
    if os.environ.get("MESHCAST_PYTHON"):
        found.append(("MESHCAST_PYTHON", Path(os.environ["MESHCAST_PYTHON"]).expanduser()))
    script = shutil.which("meshcast")
    if script:
        python = python_of_script(script)
        if python:
            found.append(("meshcast on PATH", python))
    if importlib.util.find_spec("meshcast") is not None and "blender" not in Path(sys.executable).name.lower():
        found.append(("this Python", Path(sys.executable)))
    return [(origin, path) for origin, path in found if path.is_file()]


def find_python(configured: str = "") -> str:
    """The interpreter to run ``-m meshcast`` with; raises LookupError with a hint when none."""
    candidates = candidate_pythons(configured)
    if candidates:
        return str(candidates[0][1])
    if configured:
        raise LookupError(f"{configured}: no such Python interpreter")
    raise LookupError("no meshcast environment found: set its Python in the add-on preferences "
                      "(e.g. /path/to/venv/bin/python) or the MESHCAST_PYTHON variable")
