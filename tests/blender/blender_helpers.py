"""Helpers shared by the Blender add-on tests (a module with a unique name: several test
folders have a conftest.py, so tests import from here, never from ``conftest``).

The add-on directory (addons/blender) is loaded as the package ``meshcast_blender`` (the name
the built zip uses) and enabled through Blender's own addon_utils, so its preferences exist.
"""
from __future__ import annotations

import importlib
import sys
import tempfile
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADDON_DIR = REPO / "addons" / "blender"
ADDON = "meshcast_blender"
PURE = "meshcast_blender_pure"


def load_addon_package():
    """Make addons/blender importable as ``meshcast_blender`` (a symlink in a temporary folder
    on sys.path, as if installed) and import it (its __init__ imports bpy)."""
    if ADDON not in sys.modules:
        folder = Path(tempfile.mkdtemp(prefix="meshcast_addon_path_"))
        (folder / ADDON).symlink_to(ADDON_DIR, target_is_directory=True)
        sys.path.append(str(folder))
    return importlib.import_module(ADDON)


def pure_module(name: str):
    """A bpy-free module of the add-on, imported without running the package's __init__."""
    if PURE not in sys.modules:
        package = types.ModuleType(PURE)
        package.__path__ = [str(ADDON_DIR)]
        sys.modules[PURE] = package
    return importlib.import_module(f"{PURE}.{name}")



def _raise(exc):
    raise exc
