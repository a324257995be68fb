"""Shared test fixtures: where the repository and the public evaluation data are."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DATA.exists():
        pytest.skip(f"public evaluation data not found at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def meshcast_argv() -> list[str]:
    """How tests start the real CLI: the current interpreter, ``-m meshcast``."""
    return [sys.executable, "-m", "meshcast"]
