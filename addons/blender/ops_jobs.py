"""Train, Extract & Import operators, job control (cancel, log) and the environment check."""
from __future__ import annotations

import functools
import time
from pathlib import Path

import bpy
from bpy.props import StringProperty
from bpy.types import Operator

from . import commands, mesh_import, prefs
from .ops_capture import _abspath, python_or_report, run_job


def default_run_dir(scene_path: Path, method: str, preset: str) -> Path:
    """``<scene>_runs/<method>-<preset>-<YYYYmmdd-HHMMSS>`` beside the scene folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return scene_path.parent / f"{scene_path.name}_runs" / f"{method}-{preset}-{stamp}"


def _device(context, choice: str) -> str:
    return prefs.default_device(context) if choice == "PREFS" else choice


def _after_train(scene: bpy.types.Scene, outcome) -> str:
    run = (outcome.result or {}).get("run")
    if run:
        scene.meshcast.extract.run_dir = str(run)
    steps = (outcome.result or {}).get("steps")
    return f"trained {steps} steps: {run}"


def _after_extract(mesh_path: str, scene: bpy.types.Scene, outcome) -> str:
    path = (outcome.result or {}).get("mesh") or mesh_path
    scene.meshcast.extract.mesh_path = str(path)
    objects = import_into_capture(bpy.context, scene, path)
    return f"imported {len(objects)} mesh object(s) from {Path(path).name}"


def import_into_capture(context, scene, path) -> list:
    root = scene.meshcast.capture.root
    collection = root.users_collection[0] if root is not None else scene.collection
    return mesh_import.import_mesh(context, path, root, collection)


class MESHCAST_OT_train(Operator):
    """Train a neural field on the opened scene in the background (meshcast train)"""

    bl_idname = "meshcast.train"
    bl_label = "Train"

    def execute(self, context):
        settings = context.scene.meshcast
        if not settings.capture.scene_path:
            self.report({"ERROR"}, "open or prepare a scene first (Capture panel)")
            return {"CANCELLED"}
        python = python_or_report(self, context)
        if python is None:
            return {"CANCELLED"}
        train = settings.train
        scene_path = _abspath(settings.capture.scene_path)
        run = _abspath(train.run_dir) if train.run_dir else default_run_dir(scene_path, train.method, train.preset)
        options = commands.TrainOptions(
            scene=str(scene_path), out=str(run), method=train.method, preset=train.preset,
            max_steps=train.max_steps if train.budget == "STEPS" else None,
            max_seconds=train.max_seconds if train.budget == "SECONDS" else None,
            device=_device(context, train.device), extra=commands.split_options(train.extra_options))
        argv = commands.with_events(commands.train_argv(python, options))
        return run_job(self, context, "train", argv, _after_train, str(run / "events.jsonl"))


class MESHCAST_OT_extract(Operator):
    """Extract a mesh from the run (meshcast extract) and import it onto the scene's cameras"""

    bl_idname = "meshcast.extract"
    bl_label = "Extract & Import"

    def execute(self, context):
        extract = context.scene.meshcast.extract
        if not extract.run_dir:
            self.report({"ERROR"}, "set the run folder (or train first)")
            return {"CANCELLED"}
        python = python_or_report(self, context)
        if python is None:
            return {"CANCELLED"}
        run = _abspath(extract.run_dir)
        out = run / f"mesh_{extract.resolution}_{extract.texture}.{extract.format}"
        options = commands.ExtractOptions(run=str(run), out=str(out), resolution=extract.resolution,
                                          texture=extract.texture, keep_largest=extract.keep_largest,
                                          device=_device(context, context.scene.meshcast.train.device))
        log = run / "extract.events.jsonl"
        argv = commands.with_events(commands.extract_argv(python, options), log)
        return run_job(self, context, "extract", argv, functools.partial(_after_extract, str(out)), str(log))


class MESHCAST_OT_import_mesh(Operator):
    """Import a meshcast mesh (PLY, OBJ, GLB, USD) into the opened scene, aligned with its cameras"""

    bl_idname = "meshcast.import_mesh"
    bl_label = "Import Mesh"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    filepath: StringProperty(name="Mesh", subtype="FILE_PATH", default="")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        path = self.filepath or context.scene.meshcast.extract.mesh_path
        try:
            objects = import_into_capture(context, context.scene, _abspath(path))
        except (OSError, ValueError, RuntimeError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"imported {len(objects)} mesh object(s)")
        return {"FINISHED"}


class MESHCAST_OT_cancel_job(Operator):
    """Stop the running job (training keeps its last checkpoint)"""

    bl_idname = "meshcast.cancel_job"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return context.scene.meshcast.job.status == "RUNNING"

    def execute(self, context):
        context.scene.meshcast.job.cancel_requested = True
        return {"FINISHED"}


class MESHCAST_OT_open_log(Operator):
    """Open the job's event log"""

    bl_idname = "meshcast.open_log"
    bl_label = "Open Log"

    def execute(self, context):
        log = context.scene.meshcast.job.log_path
        if not log or not Path(log).is_file():
            self.report({"ERROR"}, "this job has no log file yet")
            return {"CANCELLED"}
        bpy.ops.wm.path_open(filepath=log)
        return {"FINISHED"}


def _after_doctor(scene: bpy.types.Scene, outcome) -> str:
    data = outcome.result or {}
    lines = [f"Python {data.get('python', '?')} on {data.get('platform', '?')}",
             f"GPU: {data.get('gpu') or 'none'}"]
    lines += [f"{name}: {path}" for name, path in (data.get("paths") or {}).items()]
    found = prefs.addon_preferences(bpy.context)
    if found is not None:
        found.doctor_report = "\n".join(lines)
    return lines[0]


class MESHCAST_OT_check_environment(Operator):
    """Run 'meshcast doctor' in the meshcast environment and show its answer"""

    bl_idname = "meshcast.check_environment"
    bl_label = "Check"

    def execute(self, context):
        python = python_or_report(self, context)
        if python is None:
            return {"CANCELLED"}
        argv = commands.with_events(commands.doctor_argv(python))
        return run_job(self, context, "doctor", argv, _after_doctor)


CLASSES = (MESHCAST_OT_train, MESHCAST_OT_extract, MESHCAST_OT_import_mesh, MESHCAST_OT_cancel_job,
           MESHCAST_OT_open_log, MESHCAST_OT_check_environment)
