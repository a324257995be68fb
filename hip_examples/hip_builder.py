"""Build an example's .hip file with hython (``hou``): the TOP network and the SOP import.

Needs the meshcast package loaded (its PDG node types and the mesh import asset), e.g.
``HOUDINI_PACKAGE_DIR=/path/to/meshcast/hda/houdini hython hip_examples/build_....py``.
"""
from __future__ import annotations

import os

import hou
from examples import Example

SOP_IMPORTER = "meshcast::mesh_import"


def _require_types(example: Example) -> None:
    missing = [n.type for n in example.top_nodes
               if hou.nodeType(hou.topNodeTypeCategory(), n.type) is None]
    if example.mesh_file and hou.nodeType(hou.sopNodeTypeCategory(), SOP_IMPORTER) is None:
        missing.append(SOP_IMPORTER)
    if missing:
        raise RuntimeError(f"node types not found: {', '.join(missing)}; start hython with "
                           "HOUDINI_PACKAGE_DIR set to the meshcast hda/houdini folder")


def _set_parms(node: hou.OpNode, parms: dict[str, str | int | float]) -> None:
    for name, value in parms.items():
        parm = node.parm(name)
        if parm is None:
            raise RuntimeError(f"{node.path()} has no parameter {name!r}")
        parm.set(value)


def build(example: Example, hip_path: str) -> str:
    """Clear the session, build ``example`` and save it to ``hip_path``; returns the path."""
    _require_types(example)
    hou.hipFile.clear(suppress_save_prompt=True)
    obj = hou.node("/obj")
    assert isinstance(obj, hou.OpNode), "a Houdini session always has /obj"
    topnet = obj.createNode("topnet", f"{example.name}_tops")
    previous: hou.OpNode | None = None
    for spec in example.top_nodes:
        node = topnet.createNode(spec.type, spec.name)
        _set_parms(node, dict(spec.parms))
        if previous is not None:
            node.setFirstInput(previous)
        previous = node
    topnet.layoutChildren()
    if example.mesh_file:
        geo = obj.createNode("geo", f"{example.name}_mesh", run_init_scripts=False)
        importer = geo.createNode(SOP_IMPORTER, "import_mesh")
        _set_parms(importer, {"file": example.mesh_file, "up_axis": "z"})
        if isinstance(importer, hou.SopNode):
            importer.setDisplayFlag(True)
            importer.setRenderFlag(True)
    os.makedirs(os.path.dirname(os.path.abspath(hip_path)), exist_ok=True)
    hou.hipFile.save(hip_path)
    return hip_path
