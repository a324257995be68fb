"""End to end through the real CLI: render a dataset with the add-on, read it with
``meshcast scene info``, train and extract with the add-on's operators (synchronous in
background mode), import the mesh, and check that its silhouettes from the scene's own cameras
cover the dataset's alpha masks. Plus a real job started, streamed and cancelled from the UI path.
"""
from __future__ import annotations

import json
import time

import pytest

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")

VIEWS = {"train": 24, "test": 4}
SIZE = 64
# A NeuS small enough to learn the 64 px ellipsoid in 150 CPU steps (silhouette IoU ~0.9; after
# 80 steps it is still ~0.77, after 60 a centred blob ~0.6).
SMALL_MODEL = ("--batch-rays 256 --model.grid.levels 6 --model.grid.log2-table-size 14 "
               "--model.grid.finest-resolution 128 --model.geometry.hidden 32 --model.geometry.layers 1 "
               "--model.color.hidden 16 --model.samples 24 --model.importance 8 --optim.warmup-steps 10 "
               "--optim.lr-net 0.01 --optim.lr-grid 0.02 --validate-every 1000 --checkpoint-every 1000")


def _make_object(bpy):
    """A tilted ellipsoid off the target (a flipped axis, a scale or a shift error shows) and a sun."""
    bpy.ops.mesh.primitive_uv_sphere_add(radius=1.0, location=(0.2, -0.1, 0.1), rotation=(0.3, 0.0, 0.5),
                                         scale=(0.8, 0.45, 0.35), segments=32, ring_count=16)
    sun = bpy.data.lights.new("sun", "SUN")
    sun_obj = bpy.data.objects.new("sun", sun)
    bpy.context.scene.collection.objects.link(sun_obj)
    sun_obj.rotation_euler = (0.6, 0.2, 0.8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    bpy = pytest.importorskip("bpy")
    import addon_utils
    from blender_helpers import ADDON, _raise, load_addon_package

    bpy.ops.wm.read_factory_settings(use_empty=True)
    load_addon_package()
    addon_utils.enable(ADDON, default_set=True, handle_error=_raise)
    try:
        _make_object(bpy)
        d = bpy.context.scene.meshcast.dataset
        out = tmp_path_factory.mktemp("dataset") / "snowman"
        d.out_dir, d.train_count, d.val_count, d.test_count = str(out), VIEWS["train"], 0, VIEWS["test"]
        d.resolution_x = d.resolution_y = SIZE
        d.radius, d.lens, d.samples, d.hemisphere, d.mask = 2.6, 40.0, 8, False, True
        started = time.monotonic()
        assert bpy.ops.meshcast.render_dataset() == {"FINISHED"}
        seconds = time.monotonic() - started
    finally:
        addon_utils.disable(ADDON, default_set=True, handle_error=_raise)
    return out, seconds


def test_dataset_files_and_intrinsics(dataset):
    out, seconds = dataset
    assert seconds < 60
    for split, count in VIEWS.items():
        data = json.loads((out / f"transforms_{split}.json").read_text())
        assert len(data["frames"]) == count
        # 40 mm lens on a 36 mm sensor across 64 px: fl = 40 / 36 * 64 px, centred principal point
        assert data["fl_x"] == pytest.approx(40 / 36 * SIZE) and data["fl_y"] == pytest.approx(data["fl_x"])
        assert (data["cx"], data["cy"], data["w"], data["h"]) == (SIZE / 2, SIZE / 2, SIZE, SIZE)
        assert data["camera_angle_x"] == pytest.approx(2 * np.arctan(0.5 * 36 / 40))
        first = out / f"{data['frames'][0]['file_path']}.png"
        rgba = np.asarray(Image.open(first))
        assert rgba.shape == (SIZE, SIZE, 4)
        assert 0.05 < (rgba[..., 3] > 127).mean() < 0.6  # the object is in view, not the whole frame
        mask = np.asarray(Image.open(out / split / Path_name(data["frames"][0]["mask_path"])))
        assert np.array_equal(mask[..., 0] > 127, rgba[..., 3] > 127)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # staging folder renamed away


def Path_name(relative: str) -> str:
    return relative.rsplit("/", 1)[-1]


def test_meshcast_scene_info_reads_the_dataset(dataset, meshcast_argv):
    from meshcast.jobs import JobClient

    out, _ = dataset
    outcome = JobClient.start([*meshcast_argv, "scene", "info", str(out), "--quiet"]).wait(timeout=120)
    assert outcome.ok, outcome.message
    info = outcome.result
    assert info["source"] == "nerf_synthetic" and info["frames"] == sum(VIEWS.values())
    assert info["splits"] == VIEWS
    camera = info["cameras"][0]
    assert camera["fl_x"] == pytest.approx(40 / 36 * SIZE) and (camera["w"], camera["h"]) == (SIZE, SIZE)
    assert info["region_source"] == "scene file"
    assert info["region"]["sphere_center"] == pytest.approx([0, 0, 0])
    assert 0.9 < info["region"]["sphere_radius"] < 1.4  # the ellipsoid's bounding box corners x 1.1


def _render_alpha(bpy, scene, camera, path) -> np.ndarray:
    from meshcast_blender import scene_objects

    scene_objects.use_camera(scene, camera)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return np.asarray(Image.open(path))[..., 3] > 127


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_train_extract_import_projects_onto_masks(dataset, addon, tmp_path, meshcast_python, monkeypatch):
    """The add-on's own operators, through the real CLI: the imported mesh's silhouettes from the
    test cameras (opened from the json) match the rendered alpha masks."""
    bpy = pytest.importorskip("bpy")
    out, _ = dataset
    monkeypatch.setenv("MESHCAST_PYTHON", meshcast_python)
    scene = bpy.context.scene
    assert bpy.ops.meshcast.open_scene(filepath=str(out)) == {"FINISHED"}
    settings = scene.meshcast
    train = settings.train
    train.method, train.budget, train.max_steps, train.device = "neus", "STEPS", 150, "cpu"
    train.run_dir = str(tmp_path / "run")
    train.extra_options = SMALL_MODEL
    started = time.monotonic()
    assert bpy.ops.meshcast.train() == {"FINISHED"}, settings.job.message
    train_seconds = time.monotonic() - started
    assert settings.job.status == "DONE" and settings.job.progress == 1.0
    assert settings.extract.run_dir == str(tmp_path / "run")
    assert (tmp_path / "run" / "model.safetensors").is_file()
    settings.extract.resolution, settings.extract.format = 64, "ply"
    assert bpy.ops.meshcast.extract() == {"FINISHED"}, settings.job.message
    meshes = [o for o in settings.capture.root.children if o.type == "MESH"]
    assert len(meshes) == 1 and len(meshes[0].data.vertices) > 100
    render = scene.render
    render.engine, render.film_transparent = "CYCLES", True
    scene.cycles.samples, scene.cycles.use_denoising = 1, False
    render.image_settings.file_format, render.image_settings.color_mode = "PNG", "RGBA"
    cameras = [o for o in settings.capture.root.children if o.type == "CAMERA" and o.name.startswith("test/")]
    assert len(cameras) == VIEWS["test"]
    scores, shifted = [], []
    for camera in cameras:
        stem = camera.name.split("/")[1]
        truth = np.asarray(Image.open(out / "test" / f"{stem}.png"))[..., 3] > 127
        mine = _render_alpha(bpy, scene, camera, tmp_path / f"{stem}.png")
        scores.append(iou(mine, truth))
        shifted.append(iou(np.roll(mine, 4, axis=1), truth))  # 4 px off: what a small misalignment costs
    print(f"silhouette IoU {np.round(scores, 3)} (4 px shift: {np.round(shifted, 3)}), train {train_seconds:.0f} s")
    assert min(scores) > 0.85
    assert np.mean(scores) > np.mean(shifted) + 0.1  # the bound is tight enough to see 4 px


def test_job_started_streamed_and_cancelled(dataset, addon, tmp_path, meshcast_python):
    """The UI path (timer ticks, here called by hand since bpy's module has no event loop)."""
    bpy = pytest.importorskip("bpy")
    from meshcast_blender import commands, job_runner

    out, _ = dataset
    scene = bpy.context.scene
    run = tmp_path / "run"
    argv = commands.with_events(commands.train_argv(meshcast_python, commands.TrainOptions(
        scene=str(out), out=str(run), max_steps=100000, device="cpu", extra=("--batch-rays", "64"))))
    captured = {}

    def spy_register(fn, first_interval=0.0):
        captured["tick"] = fn

    real_register = bpy.app.timers.register
    bpy.app.timers.register = spy_register
    try:
        assert job_runner.start_job(scene, "train", argv, synchronous=False) is None
    finally:
        bpy.app.timers.register = real_register
    job = scene.meshcast.job
    assert job.status == "RUNNING" and job.pid > 0
    tick, deadline = captured["tick"], time.monotonic() + 90
    while (job.stage != "train" or job.step < 3) and time.monotonic() < deadline:  # streamed, live
        assert tick() == job_runner.POLL_S
        time.sleep(0.1)
    assert job.step >= 3 and job.total == 100000 and 0 < job.progress < 0.01 and job.stage == "train"
    pid = job.pid
    bpy.ops.meshcast.cancel_job()
    assert job.cancel_requested
    while (interval := tick()) is not None:
        assert time.monotonic() < deadline + 30, "the job did not stop"
        time.sleep(interval)
    assert job.status == "CANCELLED" and job.returncode == 130 and job.pid == 0
    assert not job_runner.process_alive(pid)
    assert (run / "checkpoints" / "latest.json").is_file()  # cancel keeps a checkpoint
