"""The add-on inside the real bpy 5.0.1: registration, opening scenes, cameras, region round
trip, mesh import alignment, the headless command line and the installable zip."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from blender_helpers import ADDON, ADDON_DIR, _raise, load_addon_package

bpy = pytest.importorskip("bpy")


def test_register_unregister_twice(bpy_module):
    import addon_utils

    load_addon_package()
    handlers_before = len(bpy.app.handlers.load_post)
    for _ in range(2):
        addon_utils.enable(ADDON, default_set=True, handle_error=_raise)
        assert hasattr(bpy.types.Scene, "meshcast")
        assert hasattr(bpy.types, "MESHCAST_PT_capture") and bpy.ops.meshcast.train.idname() == "MESHCAST_OT_train"
        assert bpy.context.preferences.addons[ADDON].preferences.device == "auto"
        assert bpy.context.scene.meshcast.job.status == "IDLE"
        assert len(bpy.app.handlers.load_post) == handlers_before + 1
        addon_utils.disable(ADDON, default_set=True, handle_error=_raise)
        assert not hasattr(bpy.types.Scene, "meshcast")
        assert not hasattr(bpy.types, "MESHCAST_PT_capture")
        assert ADDON not in bpy.context.preferences.addons
        assert len(bpy.app.handlers.load_post) == handlers_before


def _json_focal(data, w):
    return 0.5 * w / math.tan(0.5 * data["camera_angle_x"])


def test_open_lego_300_cameras(addon, shared_data):
    scene_dir = shared_data / "lego_400"
    bpy.ops.mesh.primitive_cube_add(location=(7, 7, 7))
    bpy.context.scene.camera = None
    before = {o.name: tuple(o.location) for o in bpy.data.objects}
    assert bpy.ops.meshcast.open_scene(filepath=str(scene_dir)) == {"FINISHED"}
    from meshcast_blender import scene_objects

    scene = bpy.context.scene
    root = scene.meshcast.capture.root
    cameras = scene_objects.scene_cameras(root)
    assert len(cameras) == 300
    assert {o.name: tuple(o.location) for o in bpy.data.objects if o.name in before} == before  # untouched
    assert len(root.users_collection) == 1 and root.users_collection[0].name in scene.collection.children
    by_name = {c.name: c for c in cameras}
    for split, count in (("train", 100), ("test", 200)):
        data = json.loads((scene_dir / f"transforms_{split}.json").read_text())
        assert sum(name.startswith(split + "/") for name in by_name) == count
        for frame in data["frames"][::7]:
            cam = by_name[f"{split}/{frame['file_path'].rsplit('/', 1)[-1]}"]
            scene_objects.use_camera(scene, cam)
            assert (scene.render.resolution_x, scene.render.resolution_y) == (400, 400)  # from the PNG header
            k = scene_objects.rendered_intrinsics(cam, scene)
            assert k.fl_x == pytest.approx(_json_focal(data, 400), rel=1e-6)
            assert (k.cx, k.cy) == (pytest.approx(200.0), pytest.approx(200.0))
            assert cam.data.lens == pytest.approx(50.0, abs=1e-4)
            got = [list(row) for row in cam.matrix_world]
            for row_got, row_json in zip(got, frame["transform_matrix"]):
                assert row_got == pytest.approx(row_json, abs=1e-5)
    assert scene.camera is not None and scene.camera.name in by_name


def _synthetic_scene(tmp_path, region=None):
    """Three cameras around the origin, off-centre principal point, portrait, extra keys."""
    from meshcast_blender import orbit

    poses = orbit.split_poses({"train": 3}, (0.1, 0.0, 0.2), 3.0, hemisphere=True)["train"]
    data = {"fl_x": 70.0, "fl_y": 70.0, "cx": 27.5, "cy": 44.0, "w": 48, "h": 80, "aabb_scale": 4,
            "frames": [{"file_path": f"images/{i}.png", "transform_matrix": m, "sharpness": 1.5 * i}
                       for i, m in enumerate(poses)], **(region or {})}
    (tmp_path / "scene").mkdir()
    path = tmp_path / "scene" / "transforms.json"
    path.write_text(json.dumps(data))
    return path


def test_principal_point_projects_like_the_pinhole(addon, tmp_path):
    """Blender's own projection of the opened camera equals the json's pinhole model."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    from meshcast_blender import scene_objects

    path = _synthetic_scene(tmp_path)
    bpy.ops.meshcast.open_scene(filepath=str(path))
    scene = bpy.context.scene
    cam = scene_objects.scene_cameras(scene.meshcast.capture.root)[1]
    scene_objects.use_camera(scene, cam)
    data = json.loads(path.read_text())
    c2w = cam.matrix_world
    for point in [(0.0, 0.0, 0.0), (0.3, -0.2, 0.5), (-0.4, 0.1, -0.1)]:
        ndc = world_to_camera_view(scene, cam, Vector(point))
        u, v = ndc.x * data["w"], (1.0 - ndc.y) * data["h"]  # pixels from the top-left corner
        local = c2w.inverted() @ Vector(point)  # OpenGL camera: looks down -Z, +Y up
        depth = -local.z
        assert u == pytest.approx(data["cx"] + data["fl_x"] * local.x / depth, abs=1e-4)
        assert v == pytest.approx(data["cy"] - data["fl_y"] * local.y / depth, abs=1e-4)


def test_region_save_and_reopen_round_trip(addon, tmp_path):
    from meshcast_blender import region_fit, scene_objects

    path = _synthetic_scene(tmp_path)
    assert bpy.ops.meshcast.open_scene(filepath=str(path)) == {"FINISHED"}
    settings = bpy.context.scene.meshcast
    root = settings.capture.root
    assert bpy.ops.meshcast.fit_region(source="CAMERAS") == {"FINISHED"}
    cams = scene_objects.scene_cameras(root)
    expected, radius = region_fit.sphere_from_cameras([[list(r) for r in c.matrix_world] for c in cams],
                                                      [scene_objects.stored_intrinsics(c) for c in cams])
    assert tuple(settings.region.sphere.location) == pytest.approx(expected, abs=1e-5)
    assert settings.region.sphere.scale[0] == pytest.approx(radius, rel=1e-6)
    root.location = (5.0, -2.0, 1.0)  # the capture placed in a set: the saved region stays in scene units
    root.rotation_euler = (0.0, 0.0, 0.7)
    sphere = settings.region.sphere
    sphere.location, sphere.scale = (0.25, -0.5, 0.75), (0.6, 0.6, 0.6)
    assert bpy.ops.meshcast.toggle_box() == {"FINISHED"}
    settings.region.box.location, settings.region.box.scale = (0.1, 0.2, 0.3), (0.5, 0.4, 0.3)
    assert bpy.ops.meshcast.save_region() == {"FINISHED"}
    data = json.loads(path.read_text())
    assert data["sphere_center"] == pytest.approx([0.25, -0.5, 0.75], abs=1e-6)
    assert data["sphere_radius"] == pytest.approx(0.6, abs=1e-6)
    assert [v for pair in data["aabb_range"] for v in pair] == pytest.approx([-0.4, 0.6, -0.2, 0.6, 0.0, 0.6], abs=1e-6)
    assert data["aabb_scale"] == 4 and [f["sharpness"] for f in data["frames"]] == [0.0, 1.5, 3.0]

    bpy.ops.wm.read_factory_settings(use_empty=True)  # a fresh file; the add-on stays enabled
    import addon_utils

    addon_utils.enable(ADDON, default_set=True, handle_error=_raise)
    assert bpy.ops.meshcast.open_scene(filepath=str(path)) == {"FINISHED"}
    region = bpy.context.scene.meshcast.region
    assert tuple(region.sphere.matrix_world.translation) == pytest.approx((0.25, -0.5, 0.75), abs=1e-6)
    assert tuple(region.sphere.scale) == pytest.approx((0.6,) * 3, abs=1e-6)
    assert tuple(region.box.location) == pytest.approx((0.1, 0.2, 0.3), abs=1e-6)
    assert tuple(region.box.scale) == pytest.approx((0.5, 0.4, 0.3), abs=1e-6)


def test_sparse_points_open_with_colours_and_fit_the_region(addon, tmp_path):
    """points.ply as meshcast prepare writes it: one point per vertex under the scene root, at
    the file's coordinates, with its colour (sRGB bytes to scene-linear, as Blender's PLY importer
    does for meshes); Fit to Points uses them."""
    np = pytest.importorskip("numpy")
    pipeline = pytest.importorskip("meshcast.prepare.pipeline")
    from meshcast_blender import region_fit

    path = _synthetic_scene(tmp_path)
    rng = np.random.default_rng(3)
    xyz = rng.normal(size=(200, 3)) * [0.3, 0.2, 0.1] + [0.1, -0.2, 0.4]
    rgb = rng.integers(0, 256, size=(200, 3)).astype(np.uint8)
    pipeline._write_points(path.parent / "points.ply", xyz, rgb)
    assert bpy.ops.meshcast.open_scene(filepath=str(path)) == {"FINISHED"}
    root = bpy.context.scene.meshcast.capture.root
    root.location = (1.0, 2.0, 3.0)  # points move with the capture
    bpy.context.view_layer.update()
    (points,) = [o for o in root.children if o.name.startswith("sparse points")]
    assert len(points.data.vertices) == 200
    got = np.array([tuple(root.matrix_world.inverted() @ (points.matrix_world @ v.co)) for v in points.data.vertices])
    np.testing.assert_allclose(got, xyz, atol=1e-5)
    colours = np.array([tuple(c.color)[:3] for c in points.data.color_attributes["Col"].data])
    srgb = rgb / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(colours, linear, atol=1e-5)
    assert bpy.ops.meshcast.fit_region(source="POINTS") == {"FINISHED"}
    center, radius = region_fit.sphere_from_points(xyz.tolist())
    sphere = bpy.context.scene.meshcast.region.sphere
    assert tuple(root.matrix_world.inverted() @ sphere.matrix_world.translation) == pytest.approx(center, abs=1e-4)
    assert sphere.scale[0] == pytest.approx(radius, rel=1e-4)


@pytest.mark.parametrize("fmt", ["ply", "obj", "glb"])
def test_imported_mesh_lands_in_scene_coordinates(addon, tmp_path, fmt):
    """meshcast's own exporter writes an asymmetric tetrahedron; the add-on imports it under a
    moved scene root: every vertex sits at root @ the written coordinates (no axis swap)."""
    np = pytest.importorskip("numpy")
    export = pytest.importorskip("meshcast.mesh.export")
    from mathutils import Vector

    vertices = np.array([[0.1, 0.2, 0.3], [1.5, 0.2, 0.3], [0.1, 0.9, 0.3], [0.1, 0.2, 2.4]])
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    colors = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    mesh_path = export.write_mesh(tmp_path / f"mesh.{fmt}", vertices, faces, vertex_colors=colors)
    bpy.ops.meshcast.open_scene(filepath=str(_synthetic_scene(tmp_path)))
    root = bpy.context.scene.meshcast.capture.root
    root.location, root.rotation_euler = (2.0, 1.0, -1.0), (0.0, 0.3, 0.0)
    bpy.context.view_layer.update()
    assert bpy.ops.meshcast.import_mesh(filepath=str(mesh_path)) == {"FINISHED"}
    objs = [o for o in root.children if o.type == "MESH"]
    assert len(objs) == 1 and objs[0].users_collection[0] == root.users_collection[0]
    bpy.context.view_layer.update()
    got = sorted(tuple(round(c, 4) for c in objs[0].matrix_world @ v.co) for v in objs[0].data.vertices)
    want = sorted({tuple(round(c, 4) for c in root.matrix_world @ Vector(v)) for v in vertices.tolist()})
    assert sorted(set(got)) == want
    material = objs[0].data.materials[0]
    attribute_nodes = [n for n in material.node_tree.nodes if n.bl_idname == "ShaderNodeAttribute"]
    assert attribute_nodes and attribute_nodes[0].attribute_name in objs[0].data.color_attributes


def test_headless_command_line(tmp_path):
    """A pipeline step in a plain Python with bpy: open a scene, fit, save the region and the .blend."""
    path = _synthetic_scene(tmp_path)
    blend = tmp_path / "capture.blend"
    script = ADDON_DIR / "headless.py"
    first = subprocess.run([sys.executable, str(script), "--save", str(blend), "open", str(path)],
                           check=False, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    answer = json.loads(first.stdout.strip().splitlines()[-1])
    assert answer["result"] == ["FINISHED"] and answer["scene"] == str(path.parent)
    second = subprocess.run([sys.executable, str(script), "--blend", str(blend), "save-region"],
                            check=False, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    data = json.loads(path.read_text())
    assert data["sphere_radius"] > 0 and len(data["sphere_center"]) == 3  # the fitted region, saved


def test_build_zip_validates_installs_and_has_no_torch(tmp_path):
    build = subprocess.run([sys.executable, str(ADDON_DIR / "build.py"), "--out", str(tmp_path)],
                           check=False, capture_output=True, text=True, timeout=60)
    assert build.returncode == 0, build.stderr
    archive = tmp_path / "meshcast_blender-0.1.0.zip"
    names = zipfile.ZipFile(archive).namelist()
    assert all(n.startswith("meshcast_blender/") for n in names)
    assert "meshcast_blender/jobs_protocol/client.py" in names and "meshcast_blender/build.py" not in names
    assert not [n for n in names if "torch" in n or n.endswith(".pyc") or "/tools/" in n]
    blender_ext = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    assert blender_ext.is_file()  # Blender's own extension tool, as bundled with the bpy module
    for target in (archive, ADDON_DIR):
        validate = subprocess.run([sys.executable, str(blender_ext), "validate", str(target)],
                                  check=False, capture_output=True, text=True, timeout=60)
        assert validate.returncode == 0 and "Success" in validate.stdout, validate.stdout + validate.stderr
    repo = tmp_path / "repo"
    repo.mkdir()
    install = subprocess.run([sys.executable, str(blender_ext), "install-files", str(archive), "--local-dir",
                              str(repo), "--blender-version", bpy.app.version_string.split()[0],
                              "--python-version", ".".join(map(str, sys.version_info[:3]))],
                             check=False, capture_output=True, text=True, timeout=60)
    assert install.returncode == 0, install.stdout + install.stderr
    code = (
        "import sys, bpy, addon_utils\n"
        f"bpy.context.preferences.extensions.repos.new(name='t', module='t', custom_directory={str(repo)!r}, source='USER')\n"
        "def fail(e): raise e\n"
        "addon_utils.enable('bl_ext.t.meshcast', default_set=True, handle_error=fail)\n"
        "m = sys.modules['bl_ext.t.meshcast']\n"
        "print(bpy.ops.meshcast.open_scene.idname(), m.protocol.JobClient.__module__,\n"
        "      sorted({n.split('.')[0] for n in sys.modules} & {'torch', 'meshcast'}))\n"
    )
    enabled = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert enabled.returncode == 0, enabled.stderr[-2000:]
    assert enabled.stdout.split()[-3:] == ["MESHCAST_OT_open_scene", "bl_ext.t.meshcast.jobs_protocol.client", "[]"]
