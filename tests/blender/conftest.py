"""Fixtures for the Blender add-on tests: the real bpy module, the add-on from the source tree.

The add-on directory (addons/blender) is loaded as the package ``meshcast_blender`` (the name
the built zip uses) and enabled through Blender's own addon_utils, so its preferences exist.
"""
from __future__ import annotations

import sys

import pytest
from blender_helpers import ADDON, _raise, load_addon_package


@pytest.fixture
def bpy_module():
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy


@pytest.fixture
def addon(bpy_module):
    """Factory settings, then the add-on enabled; disabled again afterwards."""
    import addon_utils

    load_addon_package()
    addon_utils.enable(ADDON, default_set=True, handle_error=_raise)
    assert hasattr(bpy_module.types.Scene, "meshcast"), "the add-on did not register"
    yield sys.modules[ADDON]
    addon_utils.disable(ADDON, default_set=True, handle_error=_raise)



@pytest.fixture(scope="session")
def meshcast_python() -> str:
    """The interpreter jobs run with: this one (meshcast is installed in the test environment)."""
    return sys.executable
