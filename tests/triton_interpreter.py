"""Triton kernels on the CPU in tests: Triton decides when a function is decorated (its own
``triton.language`` helpers at its import) whether to interpret, so importing this module sets
``TRITON_INTERPRET=1`` before Triton is first imported. A kernels module is then loaded a second
time under a private name, so that the interpreted copy never replaces the package's own module.
If something imported Triton earlier in this process, the tests that need the interpreter skip and
``rerun_in_fresh_process`` runs their file again in a process of its own."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

if "triton" not in sys.modules:
    os.environ["TRITON_INTERPRET"] = "1"
triton = pytest.importorskip("triton")

from triton.runtime.interpreter import InterpretedFunction  # noqa: E402

INTERPRETER_READY = isinstance(triton.language.standard.zeros, InterpretedFunction)


def load_interpreted(source: Path, name: str) -> ModuleType:
    """The module at ``source`` loaded as ``name``, its kernels decorated for the interpreter;
    remove ``sys.modules[name]`` when done."""
    if not INTERPRETER_READY:
        pytest.skip("Triton was imported before TRITON_INTERPRET=1; see test_in_a_fresh_process")
    spec = importlib.util.spec_from_file_location(name, source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the interpreter finds the kernels' helpers through it
    spec.loader.exec_module(module)
    return module


def rerun_in_fresh_process(test_file: str) -> None:
    """Run ``test_file`` under the interpreter in a new process; all but this test must pass."""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file],
                          check=False, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "skipped" in proc.stdout


def run_cuda_check(script: str, expected: str) -> None:
    """Run ``script`` in a new process without the interpreter (compiled kernels on CUDA)."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, "-c", script], check=False, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert expected in proc.stdout
