"""Chamfer/F-score against analytic values; PSNR/SSIM hand-computed; the eval CLI's events."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import trimesh

from meshcast.jobs import exit_codes, read_events
from meshcast.metrics.geometry import chamfer_fscore, compare_meshes, sample_surface, visible_from
from meshcast.metrics.image import psnr, ssim


def test_chamfer_of_mesh_with_itself_is_zero():
    mesh = trimesh.creation.icosphere(subdivisions=3)
    result = compare_meshes(mesh, mesh, samples=20_000)
    assert result["chamfer"] == 0.0 and result["fscore"] == 1.0


@pytest.mark.parametrize("r", [0.9, 1.25])
def test_chamfer_between_concentric_spheres_is_radius_gap(r):
    unit = trimesh.creation.icosphere(subdivisions=5)
    scaled = unit.copy()
    scaled.vertices *= r
    result = compare_meshes(scaled, unit, samples=50_000)
    # every point of one sphere is |1 - r| from the other (up to tessellation, ~1e-3)
    assert result["chamfer"] == pytest.approx(abs(1 - r), abs=2e-3)
    assert result["chamfer_relative"] == pytest.approx(abs(1 - r) / (2 * np.sqrt(3) * 1.0), rel=0.02)
    assert result["fscore"] == 0.0  # tau = 1% of the diagonal ~ 0.035 < |1 - r|


def _orbit_from_above(n: int = 24, elevation_deg: float = 25.0, radius: float = 4.0) -> np.ndarray:
    """OpenGL camera-to-world matrices on a circle above the origin, looking at it."""
    from meshcast.demo.scene import look_at

    e = np.radians(elevation_deg)
    return np.stack([look_at(radius * np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)]),
                             np.zeros(3)) for a in np.linspace(0, 2 * np.pi, n, endpoint=False)])


_K400 = np.array([[400.0, 0.0, 200.0], [0.0, 400.0, 200.0], [0.0, 0.0, 1.0]])


def test_cameras_above_a_box_do_not_see_its_bottom():
    box = trimesh.creation.box(extents=[1.0, 1.0, 1.0])
    points = sample_surface(box, 60_000)
    seen = visible_from(points, _orbit_from_above(), K=_K400, size=(400, 400),
                        spacing=float(np.sqrt(box.area / len(points))), tolerance=0.005)
    top, bottom = points[:, 2] > 0.499, points[:, 2] < -0.499
    assert seen[top].mean() > 0.99 and seen[~top & ~bottom].mean() > 0.99
    # only a strip along the bottom edges (a few depth-buffer pixels from the sides) counts as seen
    assert seen[bottom].mean() < 0.25
    assert not seen[bottom & (np.abs(points[:, 0]) < 0.3) & (np.abs(points[:, 1]) < 0.3)].any()


def test_observed_chamfer_leaves_out_what_no_camera_saw():
    """A box reconstructed with a wrong underside (a pyramid hanging below it, as a field fills
    the unseen space under an object filmed from above): the full Chamfer counts the pyramid, the
    observed-surface Chamfer does not, and a mesh against itself stays exactly 0."""
    gt = trimesh.creation.box(extents=[1.0, 1.0, 1.0])
    pyramid = trimesh.Trimesh(vertices=[[-0.5, -0.5, -0.5], [0.5, -0.5, -0.5], [0.5, 0.5, -0.5], [-0.5, 0.5, -0.5],
                                        [0.0, 0.0, -0.9]],
                              faces=[[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    top_part = trimesh.Trimesh(vertices=gt.vertices, faces=gt.faces[gt.triangles_center[:, 2] > -0.499])
    pred = trimesh.util.concatenate([top_part, pyramid])
    cameras = {"c2w": _orbit_from_above(), "K": _K400, "size": (400, 400)}
    result = compare_meshes(pred, gt, samples=60_000, cameras=cameras)
    assert result["chamfer_relative"] > 0.01
    assert result["visible_chamfer_relative"] < 0.2 * result["chamfer_relative"]
    assert 0.5 < result["visible_fraction_gt"] < 0.9  # the bottom face, a sixth of the area, is hidden
    same = compare_meshes(gt, gt, samples=20_000, cameras=cameras)
    assert same["visible_chamfer"] == 0.0 and same["visible_fscore"] == 1.0


def test_fscore_hand_computed():
    gt = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    pred = np.array([[0.0, 0, 0], [1, 0, 0], [5, 5, 5]])
    result = chamfer_fscore(pred, gt, tau=0.1)
    assert result["precision"] == pytest.approx(2 / 3) and result["recall"] == pytest.approx(2 / 4)
    assert result["fscore"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_psnr_of_constant_error_is_20db():
    gt = np.full((8, 8, 3), 0.5)
    assert psnr(gt + 0.1, gt) == pytest.approx(20.0)
    assert psnr(gt, gt) == float("inf")
    mask = np.zeros((8, 8)); mask[:4] = 1
    pred = gt.copy(); pred[4:] += 0.5
    assert psnr(pred, gt, mask) == float("inf")


def test_ssim_identity_and_degradation():
    rng = np.random.default_rng(0)
    image = rng.random((32, 32, 3))
    assert ssim(image, image) == pytest.approx(1.0)
    assert ssim(np.clip(image + rng.normal(0, 0.2, image.shape), 0, 1), image) < 0.9


def test_eval_cli_meshes_and_failure(tmp_path, meshcast_argv):
    a = tmp_path / "a.ply"
    trimesh.creation.icosphere(subdivisions=3).export(a)
    ok = subprocess.run([*meshcast_argv, "eval", "--mesh", str(a), "--gt", str(a), "--samples", "5000",
                         "--events", "-", "--quiet"], capture_output=True, text=True, check=False, timeout=120)
    assert ok.returncode == 0, ok.stderr
    events = list(read_events(ok.stdout.splitlines()))
    metrics = {e["name"]: e["value"] for e in events if e["type"] == "metric"}
    assert metrics["chamfer"] == 0.0 and events[-1]["data"]["fscore"] == 1.0
    bad = subprocess.run([*meshcast_argv, "eval", "--mesh", str(tmp_path / "missing.ply"), "--gt", str(a),
                          "--events", "-", "--quiet"], capture_output=True, text=True, check=False, timeout=120)
    assert bad.returncode == exit_codes.BAD_INPUT
    error = list(read_events(bad.stdout.splitlines()))[-1]
    assert error["type"] == "error" and "missing.ply" in error["message"] and error["exit_code"] == 3


def test_eval_cli_observed_surface_with_a_scenes_cameras(tmp_path, meshcast_argv):
    """``--scene`` adds the observed-surface metrics from the scene's training cameras."""
    from meshcast.demo import DemoObject, make_demo_scene

    scene = make_demo_scene(tmp_path / "scene", n_views=8, resolution=16, n_test=1)
    gt = tmp_path / "gt.ply"
    DemoObject().mesh(resolution=64).export(gt)
    proc = subprocess.run([*meshcast_argv, "eval", "--mesh", str(gt), "--gt", str(gt), "--scene", str(scene),
                           "--samples", "20000", "--events", "-", "--quiet"], capture_output=True, text=True, check=False,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = list(read_events(proc.stdout.splitlines()))[-1]["data"]
    assert data["visible_chamfer"] == 0.0 and data["visible_fscore"] == 1.0
    assert 0.9 < data["visible_fraction_gt"] < 1.0  # 8 views around the object see almost all of it (0.989)
