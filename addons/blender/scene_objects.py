"""Blender objects of an opened scene (adapter between scene_file/camera_model and bpy).

Opening a scene adds one new collection and touches nothing else in the file. In it, a root
empty whose local frame is the scene's own world frame (identity by default: move the root to
place the capture in your set; Save Region and mesh import work in its local frame), one camera
per frame parented to it, the region objects and the sparse points.
"""
from __future__ import annotations

import json
from pathlib import Path

import bpy
from mathutils import Matrix

from . import region_fit
from .camera_model import CameraSettings, Intrinsics, camera_from_intrinsics, intrinsics_from_camera
from .materials import enable_nodes
from .scene_file import Region, SceneFile, read_scene

INTRINSICS_KEY = "meshcast_intrinsics"  # [fl_x, fl_y, cx, cy, w, h] on each camera object
SCENE_KEY = "meshcast_scene"  # on the root: the scene folder
FILES_KEY = "meshcast_files"  # on the root: json list of the files the region is saved into


def apply_camera_settings(cam: bpy.types.Camera, s: CameraSettings) -> None:
    cam.type = "PERSP"
    cam.lens_unit = "MILLIMETERS"
    cam.sensor_fit = s.sensor_fit
    cam.sensor_width = s.sensor_width
    cam.sensor_height = s.sensor_height
    cam.lens = s.lens
    cam.shift_x = s.shift_x
    cam.shift_y = s.shift_y


def set_render_frame(scene: bpy.types.Scene, s: CameraSettings) -> None:
    render = scene.render
    render.resolution_x, render.resolution_y = s.resolution_x, s.resolution_y
    render.resolution_percentage = 100
    render.pixel_aspect_x, render.pixel_aspect_y = s.pixel_aspect_x, s.pixel_aspect_y


def camera_settings(obj: bpy.types.Object, scene: bpy.types.Scene) -> CameraSettings:
    """The settings Blender renders ``obj`` with in ``scene`` (resolution percentage applied)."""
    cam, render = obj.data, scene.render
    percent = render.resolution_percentage  # Blender truncates: x * percent // 100
    return CameraSettings(
        lens=cam.lens, sensor_width=cam.sensor_width, sensor_height=cam.sensor_height, sensor_fit=cam.sensor_fit,
        shift_x=cam.shift_x, shift_y=cam.shift_y, resolution_x=render.resolution_x * percent // 100,
        resolution_y=render.resolution_y * percent // 100, pixel_aspect_x=render.pixel_aspect_x,
        pixel_aspect_y=render.pixel_aspect_y,
    )


def rendered_intrinsics(obj: bpy.types.Object, scene: bpy.types.Scene) -> Intrinsics:
    return intrinsics_from_camera(camera_settings(obj, scene))


def stored_intrinsics(obj: bpy.types.Object) -> Intrinsics | None:
    """The intrinsics a camera was created from (each frame keeps its own resolution)."""
    values = obj.get(INTRINSICS_KEY)
    if values is None or len(values) != 6:
        return None
    fl_x, fl_y, cx, cy, w, h = (float(v) for v in values)
    return Intrinsics(fl_x, fl_y, cx, cy, int(w), int(h))


def use_camera(scene: bpy.types.Scene, obj: bpy.types.Object) -> None:
    """Make ``obj`` the scene camera and give the scene that frame's resolution and pixel aspect."""
    scene.camera = obj
    k = stored_intrinsics(obj)
    if k is not None:
        set_render_frame(scene, camera_from_intrinsics(k))


def _link_new_collection(parent: bpy.types.Collection, name: str) -> bpy.types.Collection:
    collection = bpy.data.collections.new(name)
    parent.children.link(collection)
    return collection


def _new_empty(name: str, collection, parent, display: str, size: float = 1.0) -> bpy.types.Object:
    obj = bpy.data.objects.new(name, None)
    obj.empty_display_type = display
    obj.empty_display_size = size
    collection.objects.link(obj)
    obj.parent = parent
    return obj


def make_region_objects(region: Region, collection, root) -> tuple[bpy.types.Object, bpy.types.Object | None]:
    """A sphere empty (display size 1, uniform scale = radius) and, when the region has a box, a
    cube empty (scale = half extents), both children of ``root``."""
    sphere = _new_empty("region sphere", collection, root, "SPHERE")
    sphere.location = region.center
    sphere.scale = (region.radius,) * 3
    box = None
    if region.aabb is not None:
        box = make_box_object(region.aabb, collection, root)
    return sphere, box


def make_box_object(aabb, collection, root) -> bpy.types.Object:
    box = _new_empty("region box", collection, root, "CUBE")
    box.location = [0.5 * (lo + hi) for lo, hi in aabb]
    box.scale = [0.5 * (hi - lo) for lo, hi in aabb]
    return box


def read_region(root, sphere, box) -> Region:
    """The region the objects show, in the root's local frame (the scene's own coordinates).
    The sphere's radius is its largest scale; the box is axis-aligned in that frame."""
    to_scene = root.matrix_world.inverted() if root is not None else Matrix.Identity(4)
    m = to_scene @ sphere.matrix_world
    center = tuple(float(v) for v in m.translation)
    radius = float(max(abs(v) for v in m.to_scale())) * sphere.empty_display_size
    aabb = None
    if box is not None:
        b = to_scene @ box.matrix_world
        half = [abs(v) * box.empty_display_size for v in b.to_scale()]
        aabb = tuple((float(c - e), float(c + e)) for c, e in zip(b.translation, half))
    return Region(center=center, radius=radius, aabb=aabb)  # type: ignore[arg-type]


def _add_background_image(cam: bpy.types.Camera, path: Path) -> None:
    image = bpy.data.images.load(str(path), check_existing=True)
    background = cam.background_images.new()
    background.image = image
    cam.show_background_images = True


def _image_material(path: Path) -> bpy.types.Material:
    material = bpy.data.materials.new(f"meshcast {path.name}")
    enable_nodes(material)
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = bpy.data.images.load(str(path), check_existing=True)
    nodes.active = texture  # solid shading's Texture colour shows the active image node
    emission = nodes.new("ShaderNodeEmission")
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(texture.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return material


def _add_image_plane(cam_obj, k: Intrinsics, path: Path, depth: float, collection) -> bpy.types.Object:
    """A plane in the camera's frame at ``depth`` that exactly covers its image (OpenGL camera:
    -Z forward, +Y up; pixel (0, 0) is the top-left corner)."""
    x0, x1 = -k.cx / k.fl_x * depth, (k.w - k.cx) / k.fl_x * depth
    y0, y1 = -(k.h - k.cy) / k.fl_y * depth, k.cy / k.fl_y * depth
    mesh = bpy.data.meshes.new(f"{cam_obj.name} image")
    mesh.from_pydata([(x0, y0, -depth), (x1, y0, -depth), (x1, y1, -depth), (x0, y1, -depth)], [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    for loop, coord in zip(uv.data, ((0, 0), (1, 0), (1, 1), (0, 1))):
        loop.uv = coord
    mesh.materials.append(_image_material(path))
    plane = bpy.data.objects.new(mesh.name, mesh)
    collection.objects.link(plane)
    plane.parent = cam_obj
    return plane


def _points_group(radius: float) -> bpy.types.NodeTree:
    """Geometry nodes that draw a vertex-only mesh as points (3.x and 4.x/5.x socket APIs)."""
    group = bpy.data.node_groups.new("meshcast points", "GeometryNodeTree")
    if hasattr(group, "interface"):
        group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
        group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    else:
        group.inputs.new("NodeSocketGeometry", "Geometry")
        group.outputs.new("NodeSocketGeometry", "Geometry")
    source, sink = group.nodes.new("NodeGroupInput"), group.nodes.new("NodeGroupOutput")
    to_points = group.nodes.new("GeometryNodeMeshToPoints")
    to_points.inputs["Radius"].default_value = radius
    group.links.new(source.outputs[0], to_points.inputs["Mesh"])
    group.links.new(to_points.outputs["Points"], sink.inputs[0])
    return group


def make_points_object(path: Path, collection, root, radius: float) -> bpy.types.Object:
    from .materials import attribute_material
    from .ply_points import read_ply_points, srgb_to_linear

    positions, colors = read_ply_points(path)
    mesh = bpy.data.meshes.new("sparse points")
    mesh.vertices.add(len(positions))
    mesh.vertices.foreach_set("co", [v for p in positions for v in p])
    if colors:
        attribute = mesh.color_attributes.new("Col", "FLOAT_COLOR", "POINT")
        attribute.data.foreach_set("color", [v for c in colors for v in (*map(srgb_to_linear, c), 1.0)])
        mesh.materials.append(attribute_material("meshcast points", "Col"))
    mesh.update()
    obj = bpy.data.objects.new("sparse points", mesh)
    collection.objects.link(obj)
    obj.parent = root
    modifier = obj.modifiers.new("points", "NODES")
    modifier.node_group = _points_group(radius)
    if colors:
        set_material = modifier.node_group.nodes.new("GeometryNodeSetMaterial")
        set_material.inputs["Material"].default_value = mesh.materials[0]
        links = modifier.node_group.links
        sink = next(n for n in modifier.node_group.nodes if n.bl_idname == "NodeGroupOutput")
        points = next(n for n in modifier.node_group.nodes if n.bl_idname == "GeometryNodeMeshToPoints")
        links.new(points.outputs["Points"], set_material.inputs["Geometry"])
        links.new(set_material.outputs["Geometry"], sink.inputs[0])
    return obj


def scene_region(spec: SceneFile) -> tuple[Region, bool]:
    """The scene's region, or one fitted to its cameras (object mode); True when it was given."""
    if spec.region is not None:
        return spec.region, True
    center, radius = region_fit.sphere_from_cameras([f.c2w for f in spec.frames],
                                                    [f.intrinsics for f in spec.frames])
    return Region(center=center, radius=radius), False


def build_scene(context, spec: SceneFile, images: str = "NONE", load_points: bool = True) -> bpy.types.Object:
    """Create the collection, root, cameras, region and points of ``spec``; returns the root."""
    scene = context.scene
    collection = _link_new_collection(scene.collection, f"meshcast {spec.root.name}")
    root = _new_empty(f"{spec.root.name} scene", collection, None, "PLAIN_AXES", 0.2)
    root[SCENE_KEY] = str(spec.root)
    root[FILES_KEY] = json.dumps([str(f) for f in spec.files])
    region, _ = scene_region(spec)
    camera_size = 0.15 * region.radius
    splits = sorted({f.split for f in spec.frames}, key=lambda s: ("train", "val", "test", "").index(s)
                    if s in ("train", "val", "test", "") else 9)
    camera_collections = {s: _link_new_collection(collection, f"cameras {s}".strip()) for s in splits}
    first = None
    for frame in spec.frames:
        settings = camera_from_intrinsics(frame.intrinsics)
        cam = bpy.data.cameras.new(frame.name)
        apply_camera_settings(cam, settings)
        cam.display_size = camera_size
        obj = bpy.data.objects.new(frame.name, cam)
        camera_collections[frame.split].objects.link(obj)
        obj.parent = root
        obj.matrix_basis = Matrix(frame.c2w)
        k = frame.intrinsics
        obj[INTRINSICS_KEY] = [k.fl_x, k.fl_y, k.cx, k.cy, float(k.w), float(k.h)]
        if frame.image_path is not None:
            obj["meshcast_image"] = str(frame.image_path)
            if images == "BACKGROUND":
                _add_background_image(cam, frame.image_path)
            elif images == "PLANES":
                _add_image_plane(obj, k, frame.image_path, camera_size, camera_collections[frame.split])
        first = first or obj
    sphere, box = make_region_objects(region, collection, root)
    if load_points and spec.points_path is not None:
        make_points_object(spec.points_path, collection, root, 0.005 * region.radius)
    if first is not None:
        set_render_frame(scene, camera_from_intrinsics(stored_intrinsics(first)))
        if scene.camera is None:
            scene.camera = first
    settings = scene.meshcast
    settings.capture.root = root
    settings.capture.scene_path = str(spec.root)
    settings.region.sphere, settings.region.box = sphere, box
    return root


def open_scene(context, path: str | Path, images: str = "NONE", load_points: bool = True) -> tuple[bpy.types.Object, SceneFile]:
    spec = read_scene(path)
    return build_scene(context, spec, images, load_points), spec


def scene_cameras(root: bpy.types.Object) -> list[bpy.types.Object]:
    return [child for child in root.children if child.type == "CAMERA"]


def scene_files(root: bpy.types.Object) -> list[Path]:
    return [Path(p) for p in json.loads(root.get(FILES_KEY, "[]"))]
