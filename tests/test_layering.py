"""Import boundaries (STYLE.md 5): each import runs in a fresh interpreter and must not pull in
the heavy or host-specific modules named."""
from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    # (module, forbidden top-level modules)
    ("meshcast.jobs", ("torch", "numpy", "pydantic", "bpy", "hou")),
    ("meshcast.errors", ("torch", "numpy", "pydantic")),
    ("meshcast.cli", ("torch", "bpy", "hou")),  # --help stays fast
]


@pytest.mark.parametrize("module, forbidden", CASES)
def test_import_does_not_load(module, forbidden):
    code = (
        f"import sys, {module}\n"
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r}))\n"
        "print(','.join(bad))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"import {module} loaded {proc.stdout.strip()}"


def test_cli_parser_builds_without_torch():
    code = (
        "import sys\nfrom meshcast.cli import build_parser\nbuild_parser()\n"
        "print('torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr
