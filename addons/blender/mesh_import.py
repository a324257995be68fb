"""Importing an extracted mesh so that it lands on the cameras (adapter over Blender's importers).

meshcast writes PLY, OBJ and USD in the scene's own world coordinates, Z up, and GLB turned into
glTF's Y up (core/meshcast/mesh/export.py). Blender's PLY, OBJ (forward Y, up Z) and USD (upAxis
Z) importers keep the coordinates, and its glTF importer turns glTF's +Y up back into +Z up, so
every format lands in the scene's coordinates as they are. The new objects are parented to the
scene root (whose local frame is the scene's world) and moved into its collection.
"""
from __future__ import annotations

from pathlib import Path

import bpy
from mathutils import Matrix

from .materials import ensure_mesh_material


def _run_importer(path: Path) -> None:
    fmt = path.suffix.lower().lstrip(".")
    filepath = str(path)
    if fmt == "ply":
        if hasattr(bpy.ops.wm, "ply_import"):
            bpy.ops.wm.ply_import(filepath=filepath, forward_axis="Y", up_axis="Z")
        else:  # Blender < 3.6: the legacy add-on
            import addon_utils

            addon_utils.enable("io_mesh_ply", default_set=False)
            bpy.ops.import_mesh.ply(filepath=filepath)
    elif fmt == "obj":
        bpy.ops.wm.obj_import(filepath=filepath, forward_axis="Y", up_axis="Z")
    elif fmt in ("glb", "gltf"):
        bpy.ops.import_scene.gltf(filepath=filepath)
    elif fmt in ("usd", "usda", "usdc"):
        bpy.ops.wm.usd_import(filepath=filepath)
    else:
        raise ValueError(f"{path}: cannot import .{fmt} meshes (ply, obj, glb, usd)")


def import_mesh(context, path: str | Path, root: bpy.types.Object | None = None,
                collection: bpy.types.Collection | None = None) -> list[bpy.types.Object]:
    """Import ``path``; returns the new mesh objects, each with a colour material."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such mesh file")
    before = set(bpy.data.objects)
    _run_importer(path)
    new = [obj for obj in bpy.data.objects if obj not in before]
    tops = [obj for obj in new if obj.parent not in new]
    for obj in tops:
        basis = obj.matrix_world.copy()
        obj.parent = root
        obj.matrix_parent_inverse = Matrix.Identity(4)
        obj.matrix_basis = basis
    if collection is not None:
        for obj in new:
            for owner in list(obj.users_collection):
                owner.objects.unlink(obj)
            collection.objects.link(obj)
    meshes = [obj for obj in new if obj.type == "MESH"]
    for obj in meshes:
        ensure_mesh_material(obj)
        obj["meshcast_mesh"] = str(path)
    return meshes
