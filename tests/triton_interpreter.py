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

from triton.runtime.interpreter import InterpretedFunction

INTERPRETER_READY = isinstance(triton.language.standard.zeros, InterpretedFunction)


def _index_one_element_scalars() -> None:
    """Triton 3.6's interpreter turns a run-time scalar into a Python int with ``int(data)``,
    which NumPy 2 refuses for an array of one element that is not 0-d, so ``for k in range(n)``
    over a kernel argument fails there ("only 0-dimensional arrays can be converted to Python
    scalars"; Triton 3.9 squeezes first). Every interpreted tensor's ``__index__`` squeezes here,
    as 3.9's does: nothing changes where the interpreter already did."""
    from triton.runtime import interpreter

    patch_tensor = getattr(interpreter, "_patch_lang_tensor", None)
    if patch_tensor is None or getattr(patch_tensor, "meshcast_squeezes", False):
        return

    def patched(tensor, scope):
        patch_tensor(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.squeeze()))

    patched.meshcast_squeezes = True
    interpreter._patch_lang_tensor = patched


if INTERPRETER_READY:
    _index_one_element_scalars()


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
