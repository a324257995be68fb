"""Add-on preferences: the meshcast Python environment, its check, the default device."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy.types import AddonPreferences

from . import environment


class MeshcastPreferences(AddonPreferences):
    bl_idname = __package__

    python: StringProperty(
        name="meshcast Python", subtype="FILE_PATH",
        description="The Python interpreter of the environment where meshcast is installed "
        "(empty: MESHCAST_PYTHON, a meshcast script on PATH, or this Python)")
    device: EnumProperty(name="Default device", items=[("auto", "Auto", "CUDA when available"),
                                                       ("cpu", "CPU", ""), ("cuda", "CUDA", "")])
    doctor_report: StringProperty(name="Check result", default="")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "python")
        candidates = environment.candidate_pythons(self.python)
        layout.label(text=f"Using: {candidates[0][1]} ({candidates[0][0]})" if candidates
                     else "No meshcast environment found", icon="CHECKMARK" if candidates else "ERROR")
        layout.prop(self, "device")
        layout.operator("meshcast.check_environment", icon="VIEWZOOM")
        box = layout.box()
        for line in (self.doctor_report or "Press Check to run 'meshcast doctor'.").splitlines():
            box.label(text=line)


def addon_preferences(context) -> MeshcastPreferences | None:
    """The preferences when the add-on is enabled through Blender (None when only registered)."""
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon else None


def meshcast_python(context) -> str:
    prefs = addon_preferences(context)
    return environment.find_python(prefs.python if prefs else "")


def default_device(context) -> str:
    prefs = addon_preferences(context)
    return prefs.device if prefs else "auto"


CLASSES = (MeshcastPreferences,)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
