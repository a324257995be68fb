"""Load an extracted meshcast mesh into SOPs, turned into Houdini's Y-up world.

Used by the ``meshcast::mesh_import`` SOP asset (its PythonCook section is one call to
``cook``) and by the "Import meshcast Mesh" shelf tool (``shelf_import_mesh``). ``hou`` is
imported inside the functions so that this module imports anywhere.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from meshcast_houdini.up_axis import UpAxis, rotate_x_degrees, to_houdini_matrix

if TYPE_CHECKING:
    import hou

ASSET_TYPE = "meshcast::mesh_import"
LOADABLE_EXTENSIONS = (".ply", ".obj")
FILE_PATTERN = "*.ply *.obj"


def check_mesh_path(path: str) -> str | None:
    """Why ``path`` cannot be loaded, or None when it can."""
    if not path:
        return "no mesh file set"
    if os.path.splitext(path)[1].lower() not in LOADABLE_EXTENSIONS:
        return (f"{path}: the importer reads .ply and .obj (meshcast extract --format ply or obj); "
                "load .glb/.usd with a File SOP or a USD import")
    if not os.path.isfile(path):
        return f"{path}: no such file (has the meshcast Extract work item cooked?)"
    return None


def cook(node: hou.SopNode) -> None:
    """PythonCook of ``meshcast::mesh_import``: load the file, move it into Y-up, scale."""
    import hou

    path = _parm(node, "file").evalAsString()
    problem = check_mesh_path(path)
    if problem:
        raise hou.NodeError(problem)
    up = cast(UpAxis, _parm(node, "up_axis").evalAsString())
    scale = _parm(node, "scale").evalAsFloat()
    geo = node.geometry()
    if geo is None:
        raise hou.NodeError("no geometry to write to")
    geo.loadFromFile(path)
    rows = to_houdini_matrix(up)
    matrix = hou.Matrix4([list(row) for row in rows]) * hou.hmath.buildScale(scale, scale, scale)
    geo.transform(matrix)


def shelf_import_mesh(kwargs: dict[str, Any]) -> hou.Node | None:
    """Shelf tool: pick a mesh, make /obj/<name> with the importer in it (or, without the
    asset installed, a File SOP and a Transform SOP rotating X by -90 degrees)."""
    import hou

    path = hou.ui.selectFile(title="meshcast mesh", pattern=FILE_PATTERN,
                             file_type=hou.fileType.Geometry)
    if not path:
        return None
    path = hou.text.expandString(path)
    name = os.path.splitext(os.path.basename(path))[0] or "meshcast_mesh"
    obj = hou.node("/obj")
    if not isinstance(obj, hou.OpNode):
        return None
    geo_object = obj.createNode("geo", f"meshcast_{name}", run_init_scripts=False)
    if hou.nodeType(hou.sopNodeTypeCategory(), ASSET_TYPE) is not None:
        last = _create_sop(geo_object, ASSET_TYPE, "import_mesh")
        _parm(last, "file").set(path)
    else:
        file_sop = _create_sop(geo_object, "file", "import_mesh")
        _parm(file_sop, "file").set(path)
        last = _create_sop(geo_object, "xform", "to_y_up")
        last.setFirstInput(file_sop)
        _parm(last, "rx").set(rotate_x_degrees("z"))
    last.setDisplayFlag(True)
    last.setRenderFlag(True)
    geo_object.layoutChildren()
    return last


def _parm(node: hou.OpNode, name: str) -> hou.Parm:
    import hou

    parm = node.parm(name)
    if parm is None:
        raise hou.NodeError(f"{node.path()} has no parameter {name!r}")
    return parm


def _create_sop(parent: hou.OpNode, type_name: str, name: str) -> hou.SopNode:
    import hou

    node = parent.createNode(type_name, name)
    if not isinstance(node, hou.SopNode):
        raise hou.OperationFailed(f"{type_name} is not a SOP type")
    return node
