"""The add-on's bpy-free logic: intrinsics <-> camera, scene json, region fits, orbits, argv, events."""
from __future__ import annotations

import json
import math
import struct
import subprocess
import sys

import pytest
from blender_helpers import ADDON_DIR, pure_module

camera_model = pure_module("camera_model")
scene_file = pure_module("scene_file")
region_fit = pure_module("region_fit")
orbit = pure_module("orbit")
commands = pure_module("commands")
job_view = pure_module("job_view")
ply_points = pure_module("ply_points")
image_size = pure_module("image_size")

PURE = ["camera_model", "scene_file", "region_fit", "orbit", "commands", "environment", "job_view",
        "ply_points", "image_size", "build"]


def test_pure_modules_import_no_bpy():
    code = (
        "import sys, types, importlib\n"
        f"p = types.ModuleType('mb'); p.__path__ = [{str(ADDON_DIR)!r}]; sys.modules['mb'] = p\n"
        f"for name in {PURE!r}: importlib.import_module('mb.' + name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'bpy', 'mathutils', 'torch', 'numpy'}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_lego_focal_length_in_mm_by_hand():
    # lego: camera_angle_x 0.6911112 rad at 400 px -> fl = 200 / tan(0.3455556) = 555.555 px;
    # on a 36 mm sensor across 400 px that is 555.555 * 36 / 400 = 50.0 mm (Blender's default lens).
    fl = camera_model.focal_from_angle(0.6911112070083618, 400)
    assert fl == pytest.approx(555.5555, abs=1e-3)
    s = camera_model.camera_from_intrinsics(camera_model.Intrinsics(fl, fl, 200.0, 200.0, 400, 400))
    assert (s.lens, s.sensor_fit, s.shift_x, s.shift_y) == (pytest.approx(50.0, abs=1e-4), "HORIZONTAL", 0.0, 0.0)


def test_shift_by_hand():
    # 640x480, principal point 32 px left of and 24 px above the centre: shift_x = 32/640 = +0.05
    # (the image window moves right of the optical axis), shift_y = (216 - 240)/640 = -0.0375.
    s = camera_model.camera_from_intrinsics(camera_model.Intrinsics(500.0, 500.0, 288.0, 216.0, 640, 480))
    assert s.shift_x == pytest.approx(0.05) and s.shift_y == pytest.approx(-0.0375)
    assert s.lens == pytest.approx(500.0 * 36 / 640)


@pytest.mark.parametrize("k", [
    (555.5, 555.5, 200.0, 200.0, 400, 400),
    (1450.2, 1451.7, 531.0, 968.4, 1080, 1920),  # portrait phone, fox-like
    (800.0, 700.0, 300.5, 260.25, 640, 480),  # non-square pixels
    (600.0, 900.0, 350.0, 200.0, 480, 640),  # non-square pixels, portrait
])
def test_intrinsics_round_trip(k):
    k = camera_model.Intrinsics(*k)
    back = camera_model.intrinsics_from_camera(camera_model.camera_from_intrinsics(k))
    for name in ("fl_x", "fl_y", "cx", "cy"):
        assert getattr(back, name) == pytest.approx(getattr(k, name), rel=1e-9, abs=1e-9), name
    assert (back.w, back.h) == (k.w, k.h)


def test_auto_fit_read_back_matches_blender_rule():
    s = camera_model.CameraSettings(lens=50, sensor_width=36, sensor_height=24, sensor_fit="AUTO", shift_x=0,
                                    shift_y=0, resolution_x=480, resolution_y=640)
    k = camera_model.intrinsics_from_camera(s)
    assert k.fl_y == pytest.approx(50 * 640 / 36)  # AUTO fits the sensor width along the longer side


def _write_scene(tmp_path, extra=None):
    data = {"fl_x": 100.0, "fl_y": 100.0, "cx": 40.0, "cy": 30.0, "w": 80, "h": 60, "sharpness": 12.5,
            "frames": [{"file_path": "images/a.png", "transform_matrix": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 3],
                                                                        [0, 0, 0, 1]], "colmap_im_id": 7},
                       {"file_path": "images/b.png", "fl_x": 120.0, "fl_y": 121.0,
                        "transform_matrix": [[0, 0, 1, 3], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]}],
            **(extra or {})}
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps(data))
    return path


def test_read_scene_per_frame_intrinsics(tmp_path):
    scene = scene_file.read_scene(_write_scene(tmp_path).parent)
    assert scene.source == "transforms" and len(scene.frames) == 2 and scene.missing_images == 2
    assert scene.frames[0].intrinsics == camera_model.Intrinsics(100.0, 100.0, 40.0, 30.0, 80, 60)
    assert (scene.frames[1].intrinsics.fl_x, scene.frames[1].intrinsics.fl_y) == (120.0, 121.0)
    assert scene.region is None


def test_write_region_keeps_unknown_keys(tmp_path):
    path = _write_scene(tmp_path, {"aabb_range": [[0, 1], [0, 1], [0, 1]]})
    region = scene_file.Region((0.5, -1.0, 2.0), 1.25)
    scene_file.write_region([path], region)
    data = json.loads(path.read_text())
    assert data["sphere_center"] == [0.5, -1.0, 2.0] and data["sphere_radius"] == 1.25
    assert "aabb_range" not in data  # the new region has no box
    assert data["sharpness"] == 12.5 and data["frames"][0]["colmap_im_id"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["transforms.json"]  # no temporary file left
    boxed = scene_file.Region((0.0, 0.0, 0.0), 1.0, ((-1.0, 1.0), (-2.0, 2.0), (-0.5, 0.5)))
    scene_file.write_region([path], boxed)
    assert scene_file.read_scene(path).region == boxed


def test_sphere_from_cameras_finds_where_they_look():
    target, dist = (0.3, -0.2, 0.5), 4.0
    poses = orbit.split_poses({"train": 12}, target, dist, hemisphere=True)["train"]
    k = camera_model.Intrinsics(100.0, 100.0, 50.0, 50.0, 100, 100)
    center, radius = region_fit.sphere_from_cameras(poses, [k] * len(poses))
    assert center == pytest.approx(target, abs=1e-9)
    assert radius == pytest.approx(dist * 0.5)  # tan(half fov) = 50 / 100
    _, scene_radius = region_fit.sphere_from_cameras(poses, [k] * len(poses), "scene")
    assert scene_radius == pytest.approx(dist * 1.1)


def test_sphere_from_points_matches_numpy():
    np = pytest.importorskip("numpy")
    points = np.random.default_rng(0).normal(size=(501, 3)) * [1.0, 2.0, 0.5] + [1, 2, 3]
    center, radius = region_fit.sphere_from_points(points.tolist())
    expected_center = np.median(points, axis=0)
    assert center == pytest.approx(expected_center.tolist())
    expected = np.percentile(np.linalg.norm(points - expected_center, axis=1), 95) * 1.1
    assert radius == pytest.approx(expected)


def test_orbit_poses_look_at_target_from_the_upper_hemisphere():
    target = (1.0, 2.0, 0.5)
    poses = orbit.split_poses({"train": 30, "test": 5}, target, 3.0, hemisphere=True, spacing="RANDOM", seed=3)
    assert [len(p) for p in poses.values()] == [30, 5]
    for m in poses["train"] + poses["test"]:
        eye = [m[i][3] for i in range(3)]
        forward = [-m[i][2] for i in range(3)]
        to_target = [t - e for t, e in zip(target, eye)]
        assert math.dist(eye, target) == pytest.approx(3.0)
        assert sum(f * t for f, t in zip(forward, to_target)) == pytest.approx(3.0)  # -Z points at the target
        assert eye[2] > target[2]
        assert m[2][0] == pytest.approx(0.0, abs=1e-12)  # camera x axis stays horizontal (no roll)


def test_commands_are_argument_lists(tmp_path):
    argv = commands.train_argv("/env/bin/python", commands.TrainOptions(
        scene="/data/my scene", out=str(tmp_path / "run"), method="nerf", max_steps=50, device="cpu"))
    assert argv[:4] == ["/env/bin/python", "-m", "meshcast", "train"]
    assert "/data/my scene" in argv and argv[argv.index("--max-steps") + 1] == "50"
    assert "--max-seconds" not in argv
    full = commands.with_events(argv, tmp_path / "log.jsonl")
    assert full[-4:] == ["--events", "-", "--events", str(tmp_path / "log.jsonl")]
    extract = commands.extract_argv("py", commands.ExtractOptions(run="/r", out="/r/mesh.glb", texture="uv"))
    assert extract[extract.index("--format") + 1] == "glb"


def test_prepare_command_takes_a_count_or_a_rate():
    """The add-on's prepare argument list, parsed by meshcast's own parser (when installed)."""
    count = commands.prepare_argv("py", commands.PrepareOptions(input="v.mp4", out="/s", frames=90))
    rate = commands.prepare_argv("py", commands.PrepareOptions(input="v.mp4", out="/s", frames=90, fps=2.0))
    assert count[count.index("--frames") + 1] == "90" and "--fps" not in count
    assert rate[rate.index("--fps") + 1] == "2.0" and "--frames" not in rate
    cli = pytest.importorskip("meshcast.cli")
    args = cli.build_parser(["prepare"]).parse_args(rate[3:])
    assert (args.fps, args.out.as_posix()) == (2.0, "/s")


def test_job_view_from_events():
    assert job_view.view_updates({"type": "progress", "stage": "train", "step": 50, "total": 200, "eta_s": 12.5}) \
        == {"stage": "train", "step": 50, "total": 200, "progress": 0.25, "eta_s": 12.5}
    # a time budget has no step total: progress is unknown, not the previous stage's
    assert job_view.view_updates({"type": "progress", "stage": "train", "step": 7, "total": None, "eta_s": None}) \
        == {"stage": "train", "step": 7, "total": 0, "progress": 0.0, "eta_s": -1.0}
    assert job_view.view_updates({"type": "metric", "name": "loss", "value": 0.25, "step": 5}) \
        == {"loss": 0.25, "has_loss": True}
    error = {"type": "error", "code": "input.invalid", "message": "bad json", "hint": "fix it", "exit_code": 3}
    assert job_view.view_updates(error) == {"message": "bad json (fix it)"}
    assert job_view.format_eta(3725) == "1 h 02 min" and job_view.format_eta(-1) == ""
    assert job_view.status_for_exit(130, False, True) == "CANCELLED"
    assert job_view.status_for_exit(4, False, False) == "FAILED"


def test_ply_points_binary_and_ascii(tmp_path):
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
              "property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n")
    body = struct.pack("<fffBBB", 1.0, 2.0, 3.0, 255, 0, 51) + struct.pack("<fffBBB", -1.0, 0.5, 0.0, 0, 255, 0)
    (tmp_path / "b.ply").write_bytes(header.encode() + body)
    positions, colors = ply_points.read_ply_points(tmp_path / "b.ply")
    assert positions == [(1.0, 2.0, 3.0), (-1.0, 0.5, 0.0)]
    assert colors[0] == pytest.approx((1.0, 0.0, 0.2))
    (tmp_path / "a.ply").write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty double x\nproperty double y\n"
                                    "property double z\nend_header\n0.5 0.25 -2\n")
    assert ply_points.read_ply_points(tmp_path / "a.ply") == ([(0.5, 0.25, -2.0)], [])


def test_image_size_png_and_jpeg(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    pil.new("RGB", (37, 21)).save(tmp_path / "a.png")
    pil.new("RGB", (53, 17)).save(tmp_path / "a.jpg", quality=80)
    assert image_size.image_size(tmp_path / "a.png") == (37, 21)
    assert image_size.image_size(tmp_path / "a.jpg") == (53, 17)
