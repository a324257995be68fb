"""Mesh files written by meshcast are read back by trimesh and usd-core."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from meshcast.mesh.export import gltf_to_scene, read_mesh, write_mesh


@pytest.fixture(scope="module")
def sphere():
    mesh = trimesh.creation.icosphere(subdivisions=3)
    colors = (mesh.vertices * 0.5 + 0.5).clip(0, 1)
    return mesh, colors


@pytest.mark.parametrize("suffix", ["ply", "obj", "glb"])
def test_vertex_colored_round_trip(tmp_path, sphere, suffix):
    mesh, colors = sphere
    path = write_mesh(tmp_path / f"m.{suffix}", mesh.vertices, mesh.faces, vertex_colors=colors)
    back = trimesh.load(path, process=False, force="mesh")
    assert len(back.vertices) == len(mesh.vertices) and len(back.faces) == len(mesh.faces)
    # glTF is Y up: trimesh reads the file as written; meshcast's reader turns it back
    raw = gltf_to_scene(back.vertices) if suffix == "glb" else back.vertices
    np.testing.assert_allclose(raw, mesh.vertices, atol=1e-5)
    np.testing.assert_allclose(read_mesh(path).vertices, mesh.vertices, atol=1e-5)
    got = np.asarray(back.visual.vertex_colors)[:, :3]
    np.testing.assert_allclose(got, np.round(colors * 255), atol=1)
    assert not list(tmp_path.glob(".*")), "temporary files left behind"


@pytest.mark.parametrize("suffix", ["obj", "glb"])
def test_textured_round_trip(tmp_path, sphere, suffix):
    mesh, _ = sphere
    uv = (mesh.vertices[:, :2] * 0.5 + 0.5)
    texture = np.zeros((16, 16, 3), np.float32)
    texture[:, 8:] = 1.0
    path = write_mesh(tmp_path / f"t.{suffix}", mesh.vertices, mesh.faces, uv=uv, texture=texture)
    if suffix == "obj":
        assert (tmp_path / "t.mtl").is_file() and list(tmp_path.glob("*.png"))
    back = trimesh.load(path, process=False, force="mesh")
    assert len(back.vertices) == len(mesh.vertices)
    np.testing.assert_allclose(back.visual.uv, uv, atol=1e-5)


@pytest.mark.parametrize("textured", [False, True])
def test_usd_read_back_by_pxr(tmp_path, sphere, textured):
    pytest.importorskip("pxr")
    from pxr import Usd, UsdGeom

    mesh, colors = sphere
    kwargs = {"uv": mesh.vertices[:, :2] * 0.5 + 0.5, "texture": np.ones((4, 4, 3))} if textured else {"vertex_colors": colors}
    path = write_mesh(tmp_path / "m.usda", mesh.vertices, mesh.faces, **kwargs)
    stage = Usd.Stage.Open(str(path))
    prim = UsdGeom.Mesh(stage.GetPrimAtPath("/meshcast/mesh"))
    points = np.array(prim.GetPointsAttr().Get())
    assert points.shape == mesh.vertices.shape
    assert UsdGeom.GetStageUpAxis(stage) == "Z" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    if textured:
        assert UsdGeom.PrimvarsAPI(prim).GetPrimvar("st").Get() is not None
    else:
        np.testing.assert_allclose(np.array(prim.GetDisplayColorAttr().Get()), colors, atol=1e-6)


def test_read_mesh_names_missing_file(tmp_path):
    from meshcast.errors import BadInputError

    with pytest.raises(BadInputError, match="nope.ply: mesh file not found"):
        read_mesh(tmp_path / "nope.ply")


def test_glb_is_written_y_up(tmp_path):
    """A point above the origin in the Z-up scene is above it in glTF's Y-up world too, and the
    faces keep their orientation (a proper rotation, no mirror)."""
    vertices = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    path = write_mesh(tmp_path / "tet.glb", vertices, faces)
    back = trimesh.load(path, process=False, force="mesh")
    np.testing.assert_allclose(back.vertices[3], [0.0, 2.0, 0.0], atol=1e-6)  # +Z up -> +Y up
    np.testing.assert_allclose(back.vertices[2], [0.0, 0.0, -1.0], atol=1e-6)  # +Y forward -> -Z
    assert np.isclose(back.volume, trimesh.Trimesh(vertices, faces).volume)
