"""Region panel operators: fit the sphere to points or cameras, add/remove the box, save."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty
from bpy.types import Operator

from . import region_fit, scene_file, scene_objects


def _root_or_report(operator, context):
    root = context.scene.meshcast.capture.root
    if root is None:
        operator.report({"ERROR"}, "open a scene first (Capture panel)")
    return root


def _ensure_sphere(context, root) -> bpy.types.Object:
    region = context.scene.meshcast.region
    if region.sphere is None:
        collection = root.users_collection[0]
        region.sphere, _ = scene_objects.make_region_objects(scene_file.Region((0.0, 0.0, 0.0), 1.0), collection, root)
    return region.sphere


def _scene_matrix(root, obj):
    """``obj``'s world matrix in the scene's own frame (the root's local frame), as lists."""
    m = root.matrix_world.inverted() @ obj.matrix_world
    return [list(row) for row in m]


class MESHCAST_OT_fit_region(Operator):
    """Fit the region sphere to the sparse points or to where the cameras look"""

    bl_idname = "meshcast.fit_region"
    bl_label = "Fit Region"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    source: EnumProperty(name="Fit to", items=[("POINTS", "Points", "Median centre, 95th-percentile radius"),
                                               ("CAMERAS", "Cameras", "Where the optical axes meet")])

    def execute(self, context):
        root = _root_or_report(self, context)
        if root is None:
            return {"CANCELLED"}
        try:
            center, radius = self._fit(root)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        sphere = _ensure_sphere(context, root)
        sphere.empty_display_size = 1.0
        sphere.rotation_mode = "XYZ"
        sphere.rotation_euler = (0.0, 0.0, 0.0)
        sphere.location, sphere.scale = center, (radius,) * 3
        self.report({"INFO"}, f"region: centre ({', '.join(f'{c:.3f}' for c in center)}), radius {radius:.3f}")
        return {"FINISHED"}

    def _fit(self, root):
        if self.source == "POINTS":
            points = [c for c in root.children if c.type == "MESH" and c.name.startswith("sparse points")]
            if not points:
                raise ValueError("this scene has no sparse points (points.ply)")
            obj = points[0]
            to_scene = root.matrix_world.inverted() @ obj.matrix_world
            return region_fit.sphere_from_points([tuple(to_scene @ v.co) for v in obj.data.vertices])
        cameras = scene_objects.scene_cameras(root)
        intrinsics = [scene_objects.stored_intrinsics(c) for c in cameras]
        if not cameras or any(k is None for k in intrinsics):
            raise ValueError("this scene has no meshcast cameras")
        return region_fit.sphere_from_cameras([_scene_matrix(root, c) for c in cameras], intrinsics)


class MESHCAST_OT_toggle_box(Operator):
    """Add an axis-aligned box around the sphere to the region, or remove it"""

    bl_idname = "meshcast.toggle_box"
    bl_label = "Region Box"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    def execute(self, context):
        region = context.scene.meshcast.region
        root = _root_or_report(self, context)
        if root is None:
            return {"CANCELLED"}
        if region.box is not None:
            bpy.data.objects.remove(region.box)
            region.box = None
            return {"FINISHED"}
        sphere = scene_objects.read_region(root, _ensure_sphere(context, root), None)
        box = region_fit.box_around_sphere(sphere.center, sphere.radius)
        region.box = scene_objects.make_box_object(box, root.users_collection[0], root)
        return {"FINISHED"}


class MESHCAST_OT_save_region(Operator):
    """Write sphere_center, sphere_radius and aabb_range into the scene's json (scene coordinates),
    keeping every other key"""

    bl_idname = "meshcast.save_region"
    bl_label = "Save Region"

    def execute(self, context):
        settings = context.scene.meshcast
        root = _root_or_report(self, context)
        if root is None or settings.region.sphere is None:
            self.report({"ERROR"}, "no region sphere to save")
            return {"CANCELLED"}
        region = scene_objects.read_region(root, settings.region.sphere, settings.region.box)
        files = scene_objects.scene_files(root)
        try:
            written = scene_file.write_region(files, region)
        except OSError as exc:
            self.report({"ERROR"}, f"cannot write the region: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"region saved into {', '.join(p.name for p in written)}")
        return {"FINISHED"}


CLASSES = (MESHCAST_OT_fit_region, MESHCAST_OT_toggle_box, MESHCAST_OT_save_region)
