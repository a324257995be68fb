"""Meshcast for Blender: capture, region of interest, train, extract and import, datasets.

The add-on drives the meshcast core as a subprocess in the user's meshcast environment through
the job protocol; Blender's own Python never imports torch. Pure logic (camera_model,
scene_file, region_fit, orbit, commands, environment, job_view, image_size, ply_points) never
imports bpy; scene_objects, mesh_import, materials, dataset_render and job_runner adapt it to
bpy; ops_* hold the operators and panels only lay out.
"""

bl_info = {
    "name": "Meshcast",
    "author": "meshcast developers",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "View3D > Sidebar > Meshcast",
    "description": "Capture, region of interest, train, extract and import neural meshes, render datasets",
    "doc_url": "https://github.com/meshcast/meshcast/blob/main/docs/blender.md",
    "category": "3D View",
}

if "bpy" in locals():  # Blender's "Reload Scripts": rebind the submodules
    import importlib

    for _name in ("props", "prefs", "job_runner", "ops_capture", "ops_region", "ops_jobs", "ops_dataset", "panels"):
        if _name in locals():
            importlib.reload(locals()[_name])

import bpy

from . import job_runner, ops_capture, ops_dataset, ops_jobs, ops_region, panels, prefs, props

OPERATORS = ops_capture.CLASSES + ops_region.CLASSES + ops_jobs.CLASSES + ops_dataset.CLASSES


def register() -> None:
    props.register()
    prefs.register()
    for cls in OPERATORS:
        bpy.utils.register_class(cls)
    panels.register()
    job_runner.register()


def unregister() -> None:
    job_runner.unregister()
    panels.unregister()
    for cls in reversed(OPERATORS):
        bpy.utils.unregister_class(cls)
    prefs.unregister()
    props.unregister()
