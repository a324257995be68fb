"""The add-on's state: one PropertyGroup at ``Scene.meshcast`` (saved with the .blend)."""
from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)
from bpy.types import PropertyGroup

JOB_STATUS = [(s, s.title(), "") for s in ("IDLE", "RUNNING", "DONE", "FAILED", "CANCELLED")]


class MESHCAST_PG_job(PropertyGroup):
    """The last or current background job of this scene (what the panels show)."""

    kind: StringProperty(name="Job")
    status: EnumProperty(name="Status", items=JOB_STATUS, default="IDLE")
    stage: StringProperty(name="Stage")
    step: IntProperty(name="Step", default=0)
    total: IntProperty(name="Total", default=0)
    progress: FloatProperty(name="Progress", min=0.0, max=1.0, subtype="FACTOR", default=0.0)
    eta_s: FloatProperty(name="ETA (s)", default=-1.0)
    loss: FloatProperty(name="Loss", default=0.0)
    has_loss: BoolProperty(default=False)
    psnr: FloatProperty(name="PSNR (dB)", default=0.0)
    message: StringProperty(name="Message")
    log_path: StringProperty(name="Log", subtype="FILE_PATH")
    returncode: IntProperty(name="Exit code", default=0)
    pid: IntProperty(name="Process id", default=0)
    started: IntProperty(name="Started (unix s)", default=0)  # whole seconds: FloatProperty is float32
    cancel_requested: BoolProperty(default=False)


class MESHCAST_PG_capture(PropertyGroup):
    input_path: StringProperty(name="Input", subtype="FILE_PATH",
                               description="Video file, folder of photos or COLMAP workspace to prepare")
    prepare_out: StringProperty(name="Scene folder", subtype="DIR_PATH",
                                description="Folder the prepared scene is written to")
    mode: EnumProperty(name="Mode", items=[("object", "Object", "A sphere around the central object"),
                                           ("scene", "Scene", "A sphere holding every camera")])
    matcher: EnumProperty(name="Matcher", items=[(m, m.title(), "") for m in ("auto", "exhaustive", "sequential")])
    max_size: IntProperty(name="Max size (px)", default=1600, min=0, description="Longest image side; 0 keeps it")
    frames: IntProperty(name="Video frames", default=150, min=3)
    fps: FloatProperty(name="Frames per second", default=0.0, min=0.0,
                       description="Video: the sharpest frame of every 1/fps seconds instead of a frame count; "
                                   "0 uses Video frames")
    scene_path: StringProperty(name="Scene", subtype="FILE_PATH",
                               description="transforms.json, a NeRF-synthetic folder or a COLMAP model")
    images: EnumProperty(name="Images", items=[("NONE", "None", "Cameras only"),
                                               ("BACKGROUND", "Camera backgrounds", "Each camera shows its photo"),
                                               ("PLANES", "Image planes", "A textured plane in front of each camera")])
    load_points: BoolProperty(name="Sparse points", default=True)
    root: PointerProperty(name="Scene root", type=bpy.types.Object,
                          description="The empty that holds the opened scene (its local frame is the scene's world)")


class MESHCAST_PG_region(PropertyGroup):
    sphere: PointerProperty(name="Sphere", type=bpy.types.Object)
    box: PointerProperty(name="Box", type=bpy.types.Object)


class MESHCAST_PG_train(PropertyGroup):
    method: EnumProperty(name="Method", items=[("neus", "NeuS (SDF)", "Neural SDF, best meshes"),
                                               ("nerf", "NeRF", "Hash-grid NeRF, fastest views")])
    preset: EnumProperty(name="Preset", items=[("preview", "Preview", ""), ("quality", "Quality", "")])
    budget: EnumProperty(name="Budget", items=[("SECONDS", "Time", "Stop after a wall-clock time"),
                                               ("STEPS", "Steps", "Stop after a number of steps")])
    max_steps: IntProperty(name="Steps", default=2000, min=1)
    max_seconds: FloatProperty(name="Seconds", default=300.0, min=1.0)
    device: EnumProperty(name="Device", items=[("PREFS", "Default", "The device set in the preferences"),
                                               ("auto", "Auto", ""), ("cpu", "CPU", ""), ("cuda", "CUDA", "")])
    run_dir: StringProperty(name="Run folder", subtype="DIR_PATH",
                            description="Where training writes; empty: beside the scene")
    extra_options: StringProperty(name="Extra options",
                                  description="More 'meshcast train' options, e.g. --batch-rays 1024 "
                                  "--data.max-size 400 (split like a command line, never run by a shell)")


class MESHCAST_PG_extract(PropertyGroup):
    run_dir: StringProperty(name="Run", subtype="DIR_PATH", description="A trained run folder")
    resolution: IntProperty(name="Resolution", default=512, min=8, max=4096)
    texture: EnumProperty(name="Texture", items=[("vertex", "Vertex colours", ""), ("uv", "Baked texture", ""),
                                                 ("none", "None", "")])
    format: EnumProperty(name="Format", items=[("ply", "PLY", ""), ("obj", "OBJ", ""), ("glb", "glTF (GLB)", ""),
                                               ("usd", "USD", "")])
    keep_largest: BoolProperty(name="Largest piece only", default=False)
    mesh_path: StringProperty(name="Mesh", subtype="FILE_PATH", description="The mesh file to import")


class MESHCAST_PG_dataset(PropertyGroup):
    out_dir: StringProperty(name="Output", subtype="DIR_PATH")
    target: PointerProperty(name="Target", type=bpy.types.Object, description="Look at this object (else the 3D cursor)")
    radius: FloatProperty(name="Distance", default=4.0, min=0.001, unit="LENGTH")
    hemisphere: BoolProperty(name="Upper hemisphere", default=True)
    spacing: EnumProperty(name="Spacing", items=[("EVEN", "Even", "A Fibonacci lattice"), ("RANDOM", "Random", "")])
    seed: IntProperty(name="Seed", default=0)
    train_count: IntProperty(name="Train", default=100, min=1)
    val_count: IntProperty(name="Val", default=0, min=0)
    test_count: IntProperty(name="Test", default=20, min=0)
    resolution_x: IntProperty(name="Width", default=400, min=4)
    resolution_y: IntProperty(name="Height", default=400, min=4)
    lens: FloatProperty(name="Focal length (mm)", default=50.0, min=1.0)
    samples: IntProperty(name="Samples", default=32, min=1)
    engine: EnumProperty(name="Engine", items=[("CYCLES", "Cycles", ""), ("SCENE", "Scene's engine", "")])
    rgba: BoolProperty(name="Transparent background (RGBA)", default=True)
    depth: BoolProperty(name="Depth", default=False)
    normal: BoolProperty(name="Normals", default=False)
    mask: BoolProperty(name="Masks", default=False)


class MESHCAST_PG_settings(PropertyGroup):
    capture: PointerProperty(type=MESHCAST_PG_capture)
    region: PointerProperty(type=MESHCAST_PG_region)
    train: PointerProperty(type=MESHCAST_PG_train)
    extract: PointerProperty(type=MESHCAST_PG_extract)
    dataset: PointerProperty(type=MESHCAST_PG_dataset)
    job: PointerProperty(type=MESHCAST_PG_job)


CLASSES = (MESHCAST_PG_job, MESHCAST_PG_capture, MESHCAST_PG_region, MESHCAST_PG_train, MESHCAST_PG_extract,
           MESHCAST_PG_dataset, MESHCAST_PG_settings)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.meshcast = PointerProperty(type=MESHCAST_PG_settings)


def unregister() -> None:
    del bpy.types.Scene.meshcast
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
