"""Check the meshcast package inside Houdini and write the binary mesh import asset (hython).

    HOUDINI_PACKAGE_DIR=/path/to/meshcast/hda/houdini hython hda/houdini/build/build_assets.py [OUT.hda]

The repository keeps ``otls/meshcast_mesh_import.hda`` in expanded (directory) form so that it
can be reviewed and diffed; this script has Houdini load it, checks what the tests could only
check without Houdini (the TOP node types register from their JSON templates, the asset loads,
declares the parameters ``sop_import.cook`` reads and cooks a small mesh into Y-up), and copies
the definition into one binary ``.hda`` file for studios that prefer it. Exits 1 with a list of
what failed.
"""
from __future__ import annotations

import os
import sys
import tempfile

import hou

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(PACKAGE, "scripts", "python"))

from meshcast_houdini import parms
from meshcast_houdini.sop_import import ASSET_TYPE

EXPANDED = os.path.join(PACKAGE, "otls", "meshcast_mesh_import.hda")
ASSET_PARMS = ("file", "up_axis", "scale")
# A right triangle in the Z-up capture world: after the importer it must lie in Y-up.
TRIANGLE_PLY = """ply
format ascii 1.0
element vertex 3
property float x
property float y
property float z
element face 1
property list uchar int vertex_indices
end_header
0 0 0
1 0 0
0 0 1
3 0 1 2
"""


def check_top_types() -> list[str]:
    """Every meshcast TOP node type is registered (PDG accepted its template JSON)."""
    category = hou.topNodeTypeCategory()
    return [f"TOP node type {name} is not registered (is HOUDINI_PACKAGE_DIR set?)"
            for name in parms.NODE_TYPE_NAMES.values() if hou.nodeType(category, name) is None]


def check_asset() -> list[str]:
    """The expanded asset loads, has the parameters the cook reads and cooks into Y-up."""
    hou.hda.installFile(EXPANDED)
    node_type = hou.nodeType(hou.sopNodeTypeCategory(), ASSET_TYPE)
    if node_type is None:
        return [f"{EXPANDED}: Houdini did not load {ASSET_TYPE}"]
    obj = hou.node("/obj")
    if not isinstance(obj, hou.OpNode):
        return ["no /obj network in this session"]
    geo_object = obj.createNode("geo", "meshcast_build_check", run_init_scripts=False)
    try:
        importer = geo_object.createNode(ASSET_TYPE, "import_mesh")
        missing = [name for name in ASSET_PARMS if importer.parm(name) is None]
        if missing:
            return [f"{ASSET_TYPE} lacks parameters {', '.join(missing)}"]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "triangle.ply")
            with open(path, "w", encoding="ascii") as f:
                f.write(TRIANGLE_PLY)
            parm = importer.parm("file")
            assert parm is not None
            parm.set(path)
            if not isinstance(importer, hou.SopNode):
                return [f"{ASSET_TYPE} is not a SOP"]
            importer.cook(force=True)
            geo = importer.geometry()
            if geo is None:
                return [f"{ASSET_TYPE} cooked no geometry"]
            points = [tuple(p.position()) for p in geo.points()]
        # Z-up (0, 0, 1) becomes Y-up (0, 1, 0) after the -90 degree turn about X.
        if len(points) != 3 or max(abs(a - b) for a, b in zip(points[2], (0.0, 1.0, 0.0))) > 1e-5:
            return [f"{ASSET_TYPE} cooked {points}, expected the third point at (0, 1, 0)"]
        return []
    finally:
        geo_object.destroy()


def write_binary(out_path: str) -> str:
    """Copy every definition of the expanded asset into one binary .hda file."""
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    partial = f"{out_path}.partial"
    if os.path.exists(partial):
        os.remove(partial)
    for definition in hou.hda.definitionsInFile(EXPANDED):
        definition.copyToHDAFile(partial)
    os.replace(partial, out_path)
    return out_path


def main(argv: list[str]) -> int:
    out = argv[0] if argv else os.path.join(PACKAGE, "..", "..", "build", "meshcast_mesh_import.hda")
    problems = check_top_types() + check_asset()
    if problems:
        print("meshcast package check failed:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"package checked; wrote {write_binary(os.path.normpath(out))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
