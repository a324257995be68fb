"""Chamfer/F-score against analytic values; PSNR/SSIM hand-computed; the eval CLI's events."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import trimesh

from meshcast.jobs import exit_codes, read_events
from meshcast.metrics.geometry import chamfer_fscore, compare_meshes
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
                         "--events", "-", "--quiet"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    events = list(read_events(ok.stdout.splitlines()))
    metrics = {e["name"]: e["value"] for e in events if e["type"] == "metric"}
    assert metrics["chamfer"] == 0.0 and events[-1]["data"]["fscore"] == 1.0
    bad = subprocess.run([*meshcast_argv, "eval", "--mesh", str(tmp_path / "missing.ply"), "--gt", str(a),
                          "--events", "-", "--quiet"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == exit_codes.BAD_INPUT
    error = list(read_events(bad.stdout.splitlines()))[-1]
    assert error["type"] == "error" and "missing.ply" in error["message"] and error["exit_code"] == 3
