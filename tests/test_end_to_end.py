"""CI end to end: a small synthetic capture of known geometry -> train -> extract -> metrics,
through the real command line, then render and eval of the run."""
from __future__ import annotations

import subprocess

import pytest

from meshcast.jobs import read_events

# measured on a 2-core CPU (see docs/training.md): Chamfer 0.69% of the bbox diagonal and
# F-score 0.83 at 1%; the bounds leave margin for run-to-run variation
MAX_CHAMFER_RELATIVE = 0.012
MIN_FSCORE = 0.7


def _run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return list(read_events(proc.stdout.splitlines()))


@pytest.mark.slow
def test_train_extract_metrics(tmp_path, meshcast_argv):
    from meshcast.demo import DemoObject, make_demo_scene
    from meshcast.mesh.export import read_mesh
    from meshcast.metrics.geometry import compare_meshes

    scene = make_demo_scene(tmp_path / "scene", n_views=24, resolution=64, n_test=3)
    run = tmp_path / "run"
    events = _run([*meshcast_argv, "train", str(scene), "--out", str(run), "--device", "cpu", "--max-steps", "500",
                   "--data.max-size", "64", "--events", "-", "--quiet"])
    assert events[-1]["data"]["steps"] == 500
    events = _run([*meshcast_argv, "extract", str(run), "--resolution", "96", "--block-res", "48", "--keep-largest",
                   "--format", "glb", "--events", "-", "--quiet"])
    mesh_path = events[-1]["data"]["mesh"]
    assert mesh_path.endswith("mesh.glb") and any(e["type"] == "artifact" and e["kind"] == "mesh" for e in events)
    metrics = compare_meshes(read_mesh(mesh_path), DemoObject().mesh(), samples=50_000)
    print("end-to-end metrics", metrics)
    assert metrics["chamfer_relative"] < MAX_CHAMFER_RELATIVE
    assert metrics["fscore"] > MIN_FSCORE

    gt = tmp_path / "gt.ply"
    DemoObject().mesh().export(gt)
    events = _run([*meshcast_argv, "eval", str(run), "--gt", str(gt), "--samples", "50000", "--events", "-", "--quiet"])
    data = events[-1]["data"]
    print("eval with --gt", {k: v for k, v in data.items() if "chamfer" in k or "visible" in k})
    assert data["split"] == "test" and data["psnr"] > 18
    # the training cameras orbit the object: most of it was seen, and the observed-surface Chamfer
    # is measured beside the whole mesh's
    assert data["visible_fraction_gt"] > 0.8
    assert data["chamfer_relative"] < MAX_CHAMFER_RELATIVE and data["visible_chamfer_relative"] < MAX_CHAMFER_RELATIVE
    events = _run([*meshcast_argv, "render", str(run), "--orbit", "4", "--max-size", "32", "--events", "-", "--quiet"])
    assert events[-1]["data"]["frames"] == 4 and events[-1]["data"]["video"].endswith(".gif")
