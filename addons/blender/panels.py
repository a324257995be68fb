"""The "Meshcast" sidebar tab of the 3D viewport: panels only lay out properties and operators."""
from __future__ import annotations

import bpy
from bpy.types import Panel

from .job_view import format_eta


class _MeshcastPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Meshcast"


def draw_job(layout, job, kinds: tuple[str, ...]) -> None:
    """Progress, ETA, loss, message, Cancel and the log of the scene's job, when it is one of ``kinds``."""
    if job.kind not in kinds or job.status == "IDLE":
        return
    box = layout.box()
    head = box.row()
    head.label(text=f"{job.kind}: {job.status.lower()}", icon={"RUNNING": "TIME", "DONE": "CHECKMARK",
                                                             "FAILED": "ERROR"}.get(job.status, "CANCEL"))
    if job.status == "RUNNING":
        head.operator("meshcast.cancel_job", text="", icon="CANCEL")
        text = f"{job.stage} {job.step}/{job.total}" if job.total else f"{job.stage} {job.step}".strip()
        if job.total and hasattr(box, "progress"):  # Blender 4.0+
            box.progress(factor=job.progress, type="BAR", text=text)
        elif job.total:
            box.prop(job, "progress", text=text, slider=True)
        else:
            box.label(text=text)
        eta = format_eta(job.eta_s)
        if eta:
            box.label(text=f"ETA {eta}")
    if job.has_loss:
        box.label(text=f"loss {job.loss:.4g}" + (f", PSNR {job.psnr:.2f} dB" if job.psnr else ""))
    if job.message:
        for line in job.message.splitlines()[:4]:
            box.label(text=line)
    if job.log_path:
        box.operator("meshcast.open_log", icon="TEXT")


class MESHCAST_PT_capture(_MeshcastPanel, Panel):
    bl_label = "Capture"

    def draw(self, context):
        layout = self.layout
        capture = context.scene.meshcast.capture
        col = layout.column(align=True)
        col.label(text="Prepare from video or photos", icon="IMAGE_DATA")
        col.prop(capture, "input_path")
        col.prop(capture, "prepare_out")
        row = col.row(align=True)
        row.prop(capture, "mode", text="")
        row.prop(capture, "matcher", text="")
        row = col.row(align=True)
        row.prop(capture, "max_size")
        row = col.row(align=True)
        row.prop(capture, "frames")
        row.prop(capture, "fps")
        col.operator("meshcast.prepare", icon="PLAY")
        layout.separator()
        col = layout.column(align=True)
        col.label(text="Open a scene", icon="FILE_FOLDER")
        col.prop(capture, "scene_path", text="")
        col.prop(capture, "images")
        col.prop(capture, "load_points")
        col.operator("meshcast.open_scene", icon="IMPORT").filepath = capture.scene_path
        if capture.root is not None:
            layout.label(text=f"Scene root: {capture.root.name}", icon="EMPTY_AXIS")
            layout.operator("meshcast.use_camera", icon="VIEW_CAMERA")
        draw_job(layout, context.scene.meshcast.job, ("prepare", "convert"))


class MESHCAST_PT_region(_MeshcastPanel, Panel):
    bl_label = "Region"

    def draw(self, context):
        layout = self.layout
        region = context.scene.meshcast.region
        col = layout.column(align=True)
        col.prop(region, "sphere")
        col.prop(region, "box")
        if region.sphere is not None:
            s = region.sphere
            col.label(text=f"radius {max(s.scale) * s.empty_display_size:.3f}")
        row = layout.row(align=True)
        row.operator("meshcast.fit_region", text="Fit to Points").source = "POINTS"
        row.operator("meshcast.fit_region", text="Fit to Cameras").source = "CAMERAS"
        layout.operator("meshcast.toggle_box", text="Remove Box" if region.box else "Add Box", icon="CUBE")
        layout.operator("meshcast.save_region", icon="FILE_TICK")


class MESHCAST_PT_train(_MeshcastPanel, Panel):
    bl_label = "Train"

    def draw(self, context):
        layout = self.layout
        train = context.scene.meshcast.train
        col = layout.column(align=True)
        col.prop(train, "method")
        col.prop(train, "preset")
        row = col.row(align=True)
        row.prop(train, "budget", expand=True)
        col.prop(train, "max_steps" if train.budget == "STEPS" else "max_seconds")
        col.prop(train, "device")
        col.prop(train, "run_dir")
        col.prop(train, "extra_options")
        job = context.scene.meshcast.job
        running = job.status == "RUNNING"
        row = layout.row()
        row.enabled = not running
        row.operator("meshcast.train", icon="PLAY")
        draw_job(layout, job, ("train", "doctor"))


class MESHCAST_PT_extract(_MeshcastPanel, Panel):
    bl_label = "Extract & Import"

    def draw(self, context):
        layout = self.layout
        extract = context.scene.meshcast.extract
        col = layout.column(align=True)
        col.prop(extract, "run_dir")
        col.prop(extract, "resolution")
        col.prop(extract, "texture")
        col.prop(extract, "format")
        col.prop(extract, "keep_largest")
        layout.operator("meshcast.extract", icon="MESH_ICOSPHERE")
        row = layout.row(align=True)
        row.prop(extract, "mesh_path", text="")
        row.operator("meshcast.import_mesh", text="", icon="IMPORT").filepath = extract.mesh_path
        draw_job(layout, context.scene.meshcast.job, ("extract",))


class MESHCAST_PT_dataset(_MeshcastPanel, Panel):
    bl_label = "Dataset"
    bl_options = {"DEFAULT_CLOSED"}  # noqa: RUF012 (Blender reads a set)

    def draw(self, context):
        layout = self.layout
        d = context.scene.meshcast.dataset
        col = layout.column(align=True)
        col.prop(d, "out_dir")
        col.prop(d, "target")
        col.prop(d, "radius")
        col.prop(d, "hemisphere")
        col.prop(d, "spacing")
        if d.spacing == "RANDOM":
            col.prop(d, "seed")
        row = layout.row(align=True)
        row.prop(d, "train_count")
        row.prop(d, "val_count")
        row.prop(d, "test_count")
        row = layout.row(align=True)
        row.prop(d, "resolution_x")
        row.prop(d, "resolution_y")
        col = layout.column(align=True)
        col.prop(d, "lens")
        col.prop(d, "engine")
        col.prop(d, "samples")
        col.prop(d, "rgba")
        row = col.row(align=True)
        row.prop(d, "depth", toggle=True)
        row.prop(d, "normal", toggle=True)
        row.prop(d, "mask", toggle=True)
        layout.operator("meshcast.render_dataset", icon="RENDER_STILL")


CLASSES = (MESHCAST_PT_capture, MESHCAST_PT_region, MESHCAST_PT_train, MESHCAST_PT_extract, MESHCAST_PT_dataset)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
