"""`meshcast prepare` through the real CLI: real pycolmap on a rendered orbit video and on the real
fox photos; failures leave nothing half-written."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from meshcast.jobs import exit_codes, read_events
from meshcast.scene import load_scene
from meshcast.scene.align import compare_poses

REPO = Path(__file__).resolve().parents[2]


def _prepare(meshcast_argv, *args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    proc = subprocess.run([*meshcast_argv, "prepare", *args, "--events", "-", "--quiet"],
                          capture_output=True, text=True, check=False, timeout=900)
    return proc, list(read_events(proc.stdout.splitlines()))


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".partial-" in p.name or ".old-" in p.name]


@pytest.fixture(scope="module")
def orbit(tmp_path_factory) -> Path:
    """A 36-frame orbit video of a textured mesh rendered by Blender (bpy, Cycles), with its true cameras."""
    pytest.importorskip("bpy")
    mesh = REPO.parent / "shared" / "data" / "meshes" / "spot.obj"
    if not mesh.is_file():
        mesh = tmp_path_factory.mktemp("mesh") / "blob.obj"
        import trimesh

        blob = trimesh.creation.icosphere(subdivisions=4)
        blob.vertices *= 1 + 0.25 * np.sin(3 * blob.vertices[:, :1]) * np.cos(2 * blob.vertices[:, 1:2])
        blob.export(mesh)
    out = tmp_path_factory.mktemp("orbit")
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "orbit_capture.py"), str(mesh), str(out),
                    "--frames", "36", "--size", "400"], check=True, capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def orbit_scene(orbit, meshcast_argv, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("scenes") / "orbit"
    proc, events = _prepare(meshcast_argv, str(orbit / "orbit.mp4"), "--out", str(out), "--frames", "36",
                            "--keep-inputs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, events


def test_video_registers_and_matches_the_true_cameras(orbit, orbit_scene):
    out, events = orbit_scene
    result = events[-1]["data"]
    stages = {e["stage"] for e in events if e["type"] == "progress"}
    assert {"frames", "features", "matching", "mapping", "undistort", "write"} <= stages
    assert result["registered"] >= 33 and result["images"] == 36
    assert result["mean_reprojection_error_px"] < 1.0
    scene = load_scene(out)
    assert scene.points_path is not None and scene.region is not None
    assert all(not f.intrinsics.has_distortion for f in scene.frames)  # undistorted: pinhole only
    info = json.loads((out / "transforms.json").read_text())["meshcast_prepare"]
    assert info["matcher"] == "sequential" and info["undistorted_from"]["1"]["model"] == "SIMPLE_RADIAL"
    cmp = compare_poses(scene, load_scene(orbit / "reference.json"))
    print("per image rotation (deg):", np.round(cmp.rotation_deg, 3).tolist())
    print("per image centre error (% of capture size):", np.round(100 * cmp.center_rel, 3).tolist())
    assert np.median(cmp.rotation_deg) < 1.0 and np.median(cmp.center_rel) < 0.01
    # the object sphere holds the whole mesh and is not much bigger than it
    import trimesh

    ref = json.loads((orbit / "reference.json").read_text())
    mesh = trimesh.load(ref["mesh"], process=False)
    mesh.apply_transform(np.array(ref["mesh_to_world"]))
    center = cmp.transform.apply(np.array(scene.region.sphere_center)[None])[0]
    radius = scene.region.sphere_radius * cmp.transform.scale
    farthest = np.linalg.norm(mesh.vertices - center, axis=1).max()
    assert farthest < radius < 2.0 * farthest


def test_existing_colmap_workspace_is_imported_not_recomputed(orbit_scene, meshcast_argv, tmp_path):
    scene_dir, _ = orbit_scene
    workspace = tmp_path / "workspace"
    kept = json.loads((scene_dir / "transforms.json").read_text())["meshcast_prepare"]["model"]
    shutil.copytree(scene_dir / kept, workspace / "sparse" / "0")  # the model prepare kept
    shutil.copytree(scene_dir / "colmap" / "input", workspace / "images")
    proc, events = _prepare(meshcast_argv, str(workspace), "--out", str(tmp_path / "imported"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    stages = {e["stage"] for e in events if e["type"] == "progress"}
    assert "features" not in stages and "undistort" in stages
    cmp = compare_poses(load_scene(tmp_path / "imported"), load_scene(scene_dir))
    assert cmp.rotation_deg.max() < 1e-3 and cmp.center_rel.max() < 1e-5


def test_too_few_images_is_a_clear_error_and_writes_nothing(meshcast_argv, tmp_path):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        Image.new("RGB", (64, 48), (i * 50, 80, 90)).save(photos / f"p{i}.jpg")
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    proc, events = _prepare(meshcast_argv, str(photos), "--out", str(tmp_path / "scene"))
    assert proc.returncode == exit_codes.BAD_INPUT
    error = events[-1]
    assert error["type"] == "error" and error["code"] == "input.too_few_images"
    assert "at least 3" in error["message"] and error["hint"]
    assert any(e["type"] == "warning" and "broken.jpg" in e["message"] for e in events)
    assert not (tmp_path / "scene").exists() and _leftovers(tmp_path) == []


def test_featureless_photos_fail_with_advice_and_write_nothing(meshcast_argv, tmp_path):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        Image.new("RGB", (96, 64), (120, 120, 120)).save(photos / f"flat{i}.png")
    proc, events = _prepare(meshcast_argv, str(photos), "--out", str(tmp_path / "scene"))
    assert proc.returncode == exit_codes.FAILED
    assert events[-1]["code"] == "prepare.no_model" and "texture" in events[-1]["hint"]
    assert not (tmp_path / "scene").exists() and _leftovers(tmp_path) == []


def test_existing_scene_is_kept_without_overwrite(meshcast_argv, tmp_path):
    out = tmp_path / "scene"
    out.mkdir()
    (out / "transforms.json").write_text("{}")
    proc, events = _prepare(meshcast_argv, str(tmp_path), "--out", str(out))
    assert proc.returncode == exit_codes.USAGE and "--overwrite" in events[-1]["hint"]
    assert (out / "transforms.json").read_text() == "{}"


def test_fox_photos_register_and_match_the_published_poses(shared_data, meshcast_argv, tmp_path):
    """The 50 real fox photos: >= 45 register; after a similarity alignment to fox/transforms.json
    the median camera rotation differs by < 2 degrees and the centre by < 2% of the capture size."""
    proc, events = _prepare(meshcast_argv, str(shared_data / "fox" / "images"), "--out", str(tmp_path / "fox"),
                            "--max-size", "720")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = events[-1]["data"]
    assert result["images"] == 50 and result["registered"] >= 45
    cmp = compare_poses(load_scene(tmp_path / "fox"), load_scene(shared_data / "fox"))
    for name, rot, ctr in zip(cmp.names, cmp.rotation_deg, cmp.center_rel):
        print(f"{name}: rotation {rot:.3f} deg, centre {100 * ctr:.3f}%")
    assert np.median(cmp.rotation_deg) < 2.0 and np.median(cmp.center_rel) < 0.02


def test_warnings_in_plain_words():
    from meshcast.prepare.pipeline import warnings_for

    info = {"images": 60, "registered": 41, "unregistered": [f"f{i}.jpg" for i in range(19)], "unreadable": [],
            "mean_reprojection_error_px": 0.5, "points": 4000, "model": "colmap/mapper/1", "models": 3}
    text = " | ".join(warnings_for(info))
    assert "19 of 60 images did not register (f0.jpg" in text and "try more frames" in text
    assert "3 separate reconstructions" in text and "colmap/mapper/1" in text
    assert warnings_for({**info, "unregistered": [], "models": 1}) == []
