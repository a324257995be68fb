"""Rendering a NeRF training set from the open Blender scene (adapter over bpy's renderer).

Cameras on a sphere or an upper hemisphere around a target (orbit.py), one image per view per
split into ``OUT/{split}/r_{i}.png`` and ``OUT/transforms_{split}.json`` (NeRF-synthetic layout:
``file_path`` without suffix, ``camera_angle_x``, plus ``fl_x fl_y cx cy w h`` from the camera
that rendered them, and the region ``sphere_center``/``sphere_radius`` around the visible
meshes). Optional passes: ``{stem}_mask.png`` (the alpha, white = object; ``mask_path``) and a
multilayer EXR ``{stem}_passes.exr`` with Blender's Depth (distance along the view axis, world
units) and Normal (world space) passes (``passes_file_path``). Everything is rendered into a
folder beside OUT and renamed into place when complete. Render settings, the scene camera and
the view layer passes are restored afterwards; the temporary camera is removed.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bpy
from mathutils import Matrix, Vector

from . import orbit
from .camera_model import angle_from_focal
from .scene_file import write_json_atomic
from .scene_objects import rendered_intrinsics


@dataclass(frozen=True)
class DatasetOptions:
    out: str
    counts: dict  # split -> number of views, e.g. {"train": 100, "test": 20}
    radius: float  # camera distance from the target, world units
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hemisphere: bool = True
    spacing: str = "EVEN"  # EVEN | RANDOM
    seed: int = 0
    resolution: tuple[int, int] = (400, 400)
    lens: float = 50.0  # mm on a 36 mm sensor
    samples: int = 32
    engine: str = "CYCLES"  # CYCLES or SCENE (keep the scene's engine)
    rgba: bool = True
    depth: bool = False
    normal: bool = False
    mask: bool = False


@contextmanager
def _saved(obj, names: tuple[str, ...]):
    old = {name: getattr(obj, name) for name in names}
    try:
        yield obj
    finally:
        for name, value in old.items():
            try:
                setattr(obj, name, value)
            except (AttributeError, TypeError):
                pass


def region_around_meshes(scene: bpy.types.Scene, target, margin: float = 1.1) -> float | None:
    """Radius of the sphere around ``target`` that holds the bounding boxes of the visible meshes."""
    radius = 0.0
    for obj in scene.objects:
        if obj.type != "MESH" or obj.hide_render:
            continue
        for corner in obj.bound_box:
            radius = max(radius, (obj.matrix_world @ Vector(corner) - Vector(target)).length)
    return radius * margin if radius > 0 else None


def _set_multilayer(settings) -> None:
    if hasattr(settings, "media_type"):  # Blender 5.0
        settings.media_type = "MULTI_LAYER_IMAGE"
    settings.file_format = "OPEN_EXR_MULTILAYER"


def _set_png(settings, rgba: bool) -> None:
    if hasattr(settings, "media_type"):
        settings.media_type = "IMAGE"
    settings.file_format = "PNG"
    settings.color_mode = "RGBA" if rgba else "RGB"
    settings.color_depth = "8"


def _write_mask(rgba_png: Path, mask_png: Path) -> None:
    """A white-on-black PNG of the rendered alpha."""
    image = bpy.data.images.load(str(rgba_png))
    try:
        pixels = list(image.pixels[:])
        alpha = pixels[3::4]
        for channel in range(3):
            pixels[channel::4] = alpha
        pixels[3::4] = [1.0] * len(alpha)
        image.pixels[:] = pixels
        image.filepath_raw = str(mask_png)
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)


def _render_view(scene, path_png: Path, options: DatasetOptions) -> dict:
    settings = scene.render.image_settings
    _set_png(settings, options.rgba)
    scene.render.filepath = str(path_png)
    bpy.ops.render.render(write_still=True)
    extra = {}
    stem = path_png.with_suffix("")
    if options.depth or options.normal:
        passes = stem.parent / f"{stem.name}_passes.exr"
        _set_multilayer(settings)
        bpy.data.images["Render Result"].save_render(str(passes), scene=scene)
        extra["passes_file_path"] = passes.name
    if options.mask:
        mask = stem.parent / f"{stem.name}_mask.png"
        _write_mask(path_png, mask)
        extra["mask_path"] = mask.name
    return extra


def render_dataset(context, options: DatasetOptions) -> dict:
    """Render every split; returns {"out": folder, "frames": {split: count}, "intrinsics": {...}}."""
    scene = context.scene
    out = Path(bpy.path.abspath(options.out)).resolve()
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: the folder is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    cam_data = bpy.data.cameras.new("meshcast dataset camera")
    cam_obj = bpy.data.objects.new("meshcast dataset camera", cam_data)
    scene.collection.objects.link(cam_obj)
    render, layer = scene.render, context.view_layer
    image_names = ("file_format", "color_mode", "color_depth") + (("media_type",) if hasattr(
        render.image_settings, "media_type") else ())
    try:
        with _saved(render, ("resolution_x", "resolution_y", "resolution_percentage", "pixel_aspect_x",
                             "pixel_aspect_y", "film_transparent", "engine", "filepath")), \
                _saved(render.image_settings, image_names), \
                _saved(layer, ("use_pass_z", "use_pass_normal")), \
                _saved(scene, ("camera",)), \
                _saved(scene.cycles, ("samples", "use_denoising", "device")) if hasattr(scene, "cycles") \
                else _saved(scene, ()):
            result = _render_all(scene, layer, cam_obj, staging, options)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        bpy.data.objects.remove(cam_obj)
        bpy.data.cameras.remove(cam_data)
    result["out"] = str(out)
    return result


def _render_all(scene, layer, cam_obj, staging: Path, options: DatasetOptions) -> dict:
    render = scene.render
    render.resolution_x, render.resolution_y = options.resolution
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    render.film_transparent = options.rgba
    if options.engine == "CYCLES":
        render.engine = "CYCLES"
        scene.cycles.samples = options.samples
        scene.cycles.use_denoising = False
        scene.cycles.device = "CPU"
    layer.use_pass_z = options.depth
    layer.use_pass_normal = options.normal
    cam = cam_obj.data
    cam.sensor_fit, cam.sensor_width, cam.lens = "AUTO", 36.0, options.lens
    cam.clip_end = max(cam.clip_end, 4.0 * options.radius)
    scene.camera = cam_obj
    k = rendered_intrinsics(cam_obj, scene)
    header = {"camera_angle_x": angle_from_focal(k.fl_x, k.w), "fl_x": k.fl_x, "fl_y": k.fl_y, "cx": k.cx,
              "cy": k.cy, "w": k.w, "h": k.h}
    radius = region_around_meshes(scene, options.target)
    if radius is not None:
        header.update(sphere_center=[float(v) for v in options.target], sphere_radius=radius)
    counts = {split: n for split, n in options.counts.items() if n > 0}
    poses = orbit.split_poses(counts, options.target, options.radius, options.hemisphere, options.spacing,
                              options.seed)
    for split, split_poses in poses.items():
        (staging / split).mkdir()
        frames = []
        for index, c2w in enumerate(split_poses):
            cam_obj.matrix_world = Matrix(c2w)
            extra = _render_view(scene, staging / split / f"r_{index}.png", options)
            frame = {"file_path": f"./{split}/r_{index}", "transform_matrix": c2w}
            frame.update({key: f"./{split}/{name}" for key, name in extra.items()})
            frames.append(frame)
        write_json_atomic(staging / f"transforms_{split}.json", {**header, "frames": frames})
    return {"frames": {split: len(p) for split, p in poses.items()},
            "intrinsics": {key: header[key] for key in ("fl_x", "fl_y", "cx", "cy", "w", "h")},
            "sphere_radius": radius, "field_of_view_deg": math.degrees(header["camera_angle_x"])}
