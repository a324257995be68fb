"""Capture panel operators: prepare a scene (background job), open a scene, use a frame's camera."""
from __future__ import annotations

import functools
from pathlib import Path

import bpy
from bpy.props import StringProperty
from bpy.types import Operator

from . import commands, prefs, scene_file, scene_objects
from .job_runner import JobBusyError, start_job


def _abspath(path: str) -> Path:
    return Path(bpy.path.abspath(path)).expanduser().resolve()


def _open_after_job(scene_dir: str, scene: bpy.types.Scene, outcome) -> str:
    """After prepare/convert: open what the job wrote (the job's own answer wins)."""
    path = (outcome.result or {}).get("scene") or scene_dir
    capture = scene.meshcast.capture
    context = bpy.context
    window_scene = getattr(context, "scene", None)
    if window_scene is not None and window_scene != scene:
        raise RuntimeError(f"the active scene changed; open {path} from the Capture panel")
    _, spec = scene_objects.open_scene(context, path, capture.images, capture.load_points)
    return f"opened {len(spec.frames)} cameras from {path}"


def run_job(operator: Operator, context, kind: str, argv: list[str], on_done=None, log_path: str = "") -> set[str]:
    """Start a job and report; the common tail of every job operator's execute."""
    try:
        outcome = start_job(context.scene, kind, argv, on_done, log_path)
    except (JobBusyError, OSError) as exc:
        operator.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    if outcome is None:
        operator.report({"INFO"}, f"meshcast {kind} started")
        return {"FINISHED"}
    job = context.scene.meshcast.job
    if job.status != "DONE":
        operator.report({"ERROR"}, job.message)
        return {"CANCELLED"}
    operator.report({"INFO"}, job.message)
    return {"FINISHED"}


def python_or_report(operator: Operator, context) -> str | None:
    try:
        return prefs.meshcast_python(context)
    except LookupError as exc:
        operator.report({"ERROR"}, str(exc))
        return None


class MESHCAST_OT_prepare(Operator):
    """Pose a video or a folder of photos with structure from motion (meshcast prepare) and open
    the scene it makes"""

    bl_idname = "meshcast.prepare"
    bl_label = "Prepare Scene"

    def execute(self, context):
        capture = context.scene.meshcast.capture
        if not capture.input_path or not capture.prepare_out:
            self.report({"ERROR"}, "set the input (video or photo folder) and the scene folder")
            return {"CANCELLED"}
        python = python_or_report(self, context)
        if python is None:
            return {"CANCELLED"}
        out = _abspath(capture.prepare_out)
        options = commands.PrepareOptions(input=str(_abspath(capture.input_path)), out=str(out), mode=capture.mode,
                                          matcher=capture.matcher, max_size=capture.max_size, frames=capture.frames,
                                          fps=capture.fps)
        log = out.parent / f"{out.name}_prepare.events.jsonl"
        argv = commands.with_events(commands.prepare_argv(python, options), log)
        return run_job(self, context, "prepare", argv, functools.partial(_open_after_job, str(out)), str(log))


class MESHCAST_OT_open_scene(Operator):
    """Open a scene (transforms.json, NeRF-synthetic splits or a COLMAP model) into a new
    collection of cameras, region and points; nothing else in the file changes"""

    bl_idname = "meshcast.open_scene"
    bl_label = "Open Scene"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    filepath: StringProperty(name="Scene", subtype="FILE_PATH", default="")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        capture = context.scene.meshcast.capture
        path = _abspath(self.filepath or capture.scene_path)
        try:
            kind, _ = scene_file.detect_scene(path)
        except FileNotFoundError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if kind == "colmap":
            return self._convert_colmap(context, path)
        try:
            _, spec = scene_objects.open_scene(context, path, capture.images, capture.load_points)
        except (ValueError, OSError, KeyError) as exc:
            self.report({"ERROR"}, f"{path}: {exc}")
            return {"CANCELLED"}
        missing = f", {spec.missing_images} images missing" if spec.missing_images else ""
        self.report({"INFO"}, f"opened {len(spec.frames)} cameras from {spec.root}{missing}")
        return {"FINISHED"}

    def _convert_colmap(self, context, path: Path):
        python = python_or_report(self, context)
        if python is None:
            return {"CANCELLED"}
        out = path.parent / f"{path.name}_transforms"
        argv = commands.with_events(commands.convert_argv(python, str(path), str(out)))
        return run_job(self, context, "convert", argv, functools.partial(_open_after_job, str(out)))


class MESHCAST_OT_use_camera(Operator):
    """Look through the active camera with its frame's own resolution and pixel aspect"""

    bl_idname = "meshcast.use_camera"
    bl_label = "Use Frame Camera"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "CAMERA"

    def execute(self, context):
        scene_objects.use_camera(context.scene, context.active_object)
        return {"FINISHED"}


CLASSES = (MESHCAST_OT_prepare, MESHCAST_OT_open_scene, MESHCAST_OT_use_camera)
