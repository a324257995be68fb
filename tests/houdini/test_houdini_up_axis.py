"""The capture-world -> Houdini Y-up change used by the mesh import SOP and shelf tool."""
from __future__ import annotations

import math

import numpy as np
import pytest
from meshcast_houdini import sop_import, up_axis


def test_z_up_capture_stands_upright_in_houdini():
    m = up_axis.to_houdini_matrix("z")
    assert up_axis.apply_row_matrix((0.0, 0.0, 1.0), m) == (0.0, 1.0, 0.0)    # up stays up
    assert up_axis.apply_row_matrix((0.0, 1.0, 0.0), m) == (0.0, 0.0, -1.0)   # +Y (away) -> -Z
    assert up_axis.apply_row_matrix((2.0, -0.5, 0.75), m) == (2.0, 0.75, 0.5)
    a = np.array(m)
    assert np.allclose(a[:3, :3] @ a[:3, :3].T, np.eye(3)) and np.isclose(np.linalg.det(a[:3, :3]), 1.0)


def test_matrix_equals_the_transform_sop_rotation_the_shelf_tool_sets():
    angle = math.radians(up_axis.rotate_x_degrees("z"))
    c, s = math.cos(angle), math.sin(angle)
    # Houdini row-vector rotation about X by `angle`: p' = p * R
    rx = np.array([[1, 0, 0], [0, c, s], [0, -s, c]])
    assert np.allclose(np.array(up_axis.to_houdini_matrix("z"))[:3, :3], rx)
    assert up_axis.rotate_x_degrees("y") == 0.0
    assert np.allclose(np.array(up_axis.to_houdini_matrix("y")), np.eye(4))
    with pytest.raises(ValueError, match="up axis"):
        up_axis.to_houdini_matrix("x")  # type: ignore[arg-type]


def test_mesh_path_problems_are_explained(tmp_path):
    mesh = tmp_path / "mesh.ply"
    assert sop_import.check_mesh_path("") == "no mesh file set"
    assert "reads .ply and .obj" in sop_import.check_mesh_path(str(tmp_path / "mesh.glb"))
    assert "has the meshcast Extract work item cooked?" in sop_import.check_mesh_path(str(mesh))
    mesh.write_text("ply\n")
    assert sop_import.check_mesh_path(str(mesh)) is None
