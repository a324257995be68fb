"""Paths and fixtures for the Houdini package tests (no Houdini needed)."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from houdini_paths import PDG_TYPES


@pytest.fixture
def fake_pdg(monkeypatch):
    import fake_pdg as fakes

    return fakes.install(monkeypatch)


@pytest.fixture
def meshcast_tops(fake_pdg, monkeypatch):
    """The real pdg/types/meshcast_tops.py, imported against the fake pdg module."""
    monkeypatch.syspath_prepend(str(PDG_TYPES))
    sys.modules.pop("meshcast_tops", None)
    module = importlib.import_module("meshcast_tops")
    yield module
    sys.modules.pop("meshcast_tops", None)


@pytest.fixture
def meshcast_python(monkeypatch) -> str:
    """The interpreter of the meshcast environment (the test's own), as $MESHCAST_PYTHON."""
    monkeypatch.setenv("MESHCAST_PYTHON", sys.executable)
    return sys.executable
