"""Scene formats: round trips through COLMAP and NeuS npz, unknown keys, errors, real data."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from meshcast.errors import BadInputError
from meshcast.jobs import read_events
from meshcast.scene import load_scene, write_transforms
from meshcast.scene.bounds import nearest_point_to_rays
from meshcast.scene.colmap import write_colmap
from meshcast.scene.images import load_image
from meshcast.scene.normalize import Similarity


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """OpenGL camera-to-world looking from ``eye`` at ``target`` with world +Z up."""
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, up, -forward, eye
    return c2w


def make_scene(root: Path, n: int = 6, per_frame: bool = False, target=(0.3, -0.2, 0.1)) -> Path:
    """A transforms.json scene with ``n`` cameras around ``target`` and tiny PNG images."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    frames = []
    for i in range(n):
        angle = 2 * np.pi * i / n
        eye = np.array(target) + 3 * np.array([np.cos(angle), np.sin(angle), 0.4 + 0.1 * i])
        c2w = look_at(eye, np.array(target, float))
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(root / "images" / f"{i:03d}.png")
        frame = {"file_path": f"images/{i:03d}.png", "transform_matrix": c2w.tolist(), "sharpness": 10.0 + i}
        if per_frame:
            frame.update(fl_x=40.0 + i, fl_y=41.0 + i, cx=16.5, cy=11.5, w=32, h=24)
        frames.append(frame)
    data = {"fl_x": 40.0, "fl_y": 40.0, "cx": 16.0, "cy": 12.0, "w": 32, "h": 24, "k1": 0.01,
            "aabb_scale": 4, "my_tool_version": "1.2", "frames": frames}
    (root / "transforms.json").write_text(json.dumps(data))
    return root


def poses(scene) -> np.ndarray:
    return scene.c2w_stack()


def test_transforms_round_trip_keeps_unknown_keys(tmp_path):
    scene = load_scene(make_scene(tmp_path / "a", per_frame=True))
    out = write_transforms(scene, tmp_path / "a" / "copy.json")
    data = json.loads(out.read_text())
    assert data["my_tool_version"] == "1.2" and data["frames"][2]["sharpness"] == 12.0
    again = load_scene(out)
    np.testing.assert_allclose(poses(again), poses(scene), atol=1e-12)
    assert [f.intrinsics for f in again.frames] == [f.intrinsics for f in scene.frames]


@pytest.mark.parametrize("binary", [True, False])
def test_transforms_colmap_transforms_round_trip(tmp_path, binary):
    scene = load_scene(make_scene(tmp_path / "s"))
    write_colmap(scene, tmp_path / "s" / "sparse" / "0", binary=binary)
    back = load_scene(tmp_path / "s" / "sparse" / "0")  # images found in the workspace's images/
    assert back.source == "colmap" and len(back.frames) == len(scene.frames)
    np.testing.assert_allclose(poses(back), poses(scene), atol=1e-6)
    assert back.frames[0].intrinsics.k1 == pytest.approx(0.01)
    write_transforms(back, tmp_path / "t" / "transforms.json")
    np.testing.assert_allclose(poses(load_scene(tmp_path / "t")), poses(scene), atol=1e-6)


def test_neus_npz_to_transforms(tmp_path):
    src = load_scene(make_scene(tmp_path / "src"))
    neus = tmp_path / "neus"
    (neus / "image").mkdir(parents=True)
    (neus / "mask").mkdir()
    arrays = {}
    K = np.array([[40.0, 0, 16.0], [0, 40.0, 12.0], [0, 0, 1]])
    scale = np.diag([1.7, 1.7, 1.7, 1.0])
    scale[:3, 3] = [0.3, -0.2, 0.1]
    for i, frame in enumerate(src.frames):
        w2c_cv = np.linalg.inv(frame.c2w_array() @ np.diag([1.0, -1, -1, 1]))
        P = np.eye(4)
        P[:3, :4] = K @ w2c_cv[:3, :4]
        arrays[f"world_mat_{i}"] = P * 2.5  # projections are defined up to scale
        arrays[f"scale_mat_{i}"] = scale
        Image.open(frame.image_path).save(neus / "image" / f"{i:03d}.png")
        Image.new("L", (32, 24), 255).save(neus / "mask" / f"{i:03d}.png")
    np.savez(neus / "cameras_sphere.npz", **arrays)
    scene = load_scene(neus)
    assert scene.source == "neus" and scene.frames[0].mask_path is not None
    np.testing.assert_allclose(poses(scene), poses(src), atol=1e-6)
    assert scene.frames[0].intrinsics.fl_x == pytest.approx(40.0, abs=1e-6)
    assert scene.region.sphere_radius == pytest.approx(1.7)
    write_transforms(scene, tmp_path / "out")
    np.testing.assert_allclose(poses(load_scene(tmp_path / "out")), poses(src), atol=1e-6)


def test_missing_images_skipped_with_one_warning(tmp_path):
    root = make_scene(tmp_path / "m", n=5)
    (root / "images" / "001.png").unlink()
    (root / "images" / "003.png").unlink()
    with pytest.warns(UserWarning, match=r"2 of 5 frames skipped: image file missing: images/001.png, images/003.png"):
        scene = load_scene(root)
    assert len(scene.frames) == 3 and scene.skipped == ("images/001.png", "images/003.png")


def test_bad_field_names_file_and_field(tmp_path):
    root = make_scene(tmp_path / "b", n=3)
    data = json.loads((root / "transforms.json").read_text())
    data["frames"][1]["transform_matrix"] = "identity"
    (root / "transforms.json").write_text(json.dumps(data))
    with pytest.raises(BadInputError, match=r"transforms.json: frames\.1\.transform_matrix"):
        load_scene(root)


def test_corrupt_image_names_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(BadInputError, match="broken.png: cannot read image"):
        load_image(bad)


def test_similarity_is_exact_inverse():
    sim = Similarity(center=(0.3, -1.2, 5.0), radius=2.75)
    pts = np.random.default_rng(1).normal(size=(100, 3)) * 10
    np.testing.assert_allclose(sim.to_world(sim.to_unit(pts)), pts, atol=1e-12)
    c2w = np.eye(4)
    c2w[:3, 3] = [1, 2, 3]
    np.testing.assert_allclose(sim.c2w_to_world(sim.c2w_to_unit(c2w)), c2w, atol=1e-12)
    assert np.linalg.norm(sim.to_unit(np.array([0.3 + 2.75, -1.2, 5.0]))) == pytest.approx(1.0)


def test_nearest_point_to_rays_hand_computed():
    origins = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 5.0]])
    dirs = np.array([[-1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])
    np.testing.assert_allclose(nearest_point_to_rays(origins + 0.5, dirs), [0.5, 0.5, 0.5], atol=1e-12)


def test_region_write_and_reopen_via_cli(tmp_path, meshcast_argv):
    root = make_scene(tmp_path / "r", n=4)
    proc = subprocess.run([*meshcast_argv, "scene", "bounds", str(root), "--sphere-center", "1", "2", "3",
                           "--sphere-radius", "0.5", "--write", "--events", "-", "--quiet"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "transforms.json").read_text())
    assert data["sphere_center"] == [1, 2, 3] and data["my_tool_version"] == "1.2"
    scene = load_scene(root)
    assert scene.region.sphere_center == (1, 2, 3) and scene.region.sphere_radius == 0.5


def _project(frame, point: np.ndarray) -> tuple[float, float, float]:
    w2c = np.linalg.inv(frame.c2w_array())
    x, y, z = (w2c @ np.append(point, 1.0))[:3]
    k = frame.intrinsics
    return k.fl_x * x / -z + k.cx, k.cy - k.fl_y * y / -z, -z


@pytest.mark.parametrize("name, frames, listed", [("fox", 50, 67), ("lego_400", 300, 300)])
def test_real_scene_info(shared_data, meshcast_argv, name, frames, listed):
    proc = subprocess.run([*meshcast_argv, "scene", "info", str(shared_data / name), "--events", "-", "--quiet"],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    events = list(read_events(proc.stdout.splitlines()))
    data = events[-1]["data"]
    assert data["frames"] == frames and data["listed"] == listed
    warnings = [e for e in events if e["type"] == "warning"]
    assert len(warnings) == (1 if name == "fox" else 0)
    if name == "lego_400":
        assert data["splits"] == {"train": 100, "test": 200}
        cam = data["cameras"][0]
        assert cam["w"] == cam["h"] == 400 and cam["fl_x"] == pytest.approx(200 / np.tan(0.6911112070083618 / 2))
    scene = load_scene(shared_data / name)
    center = np.array(data["region"]["sphere_center"])
    for frame in scene.frames:  # every camera looks at the region: the centre is in view
        u, v, depth = _project(frame, center)
        assert depth > data["region"]["sphere_radius"] * 0.5
        assert 0 <= u <= frame.intrinsics.w and 0 <= v <= frame.intrinsics.h
