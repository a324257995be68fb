"""Capture preparation, measured end to end on this machine (CPU):

* ``fox``: the 50 real fox photos -> ``meshcast prepare`` -> per-image rotation and centre error
  after a similarity alignment to the poses published in fox/transforms.json.
* ``orbit``: Blender renders an orbit video of a mesh -> ``prepare`` -> ``train`` -> ``extract``;
  poses against the true cameras, and the Chamfer distance of the mesh (mapped into the true
  frame with the camera alignment) to the original mesh.

Every stage runs through the real CLI; wall times are recorded with the machine.

    python benchmarks/prepare_capture.py fox --out /tmp/bench_prepare
    python benchmarks/prepare_capture.py orbit --mesh ../shared/data/meshes/stanford-bunny.obj --train-seconds 600
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MESHCAST = [sys.executable, "-m", "meshcast"]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def pose_table(pred: Path, ref: Path) -> dict:
    from meshcast.scene import load_scene
    from meshcast.scene.align import compare_poses

    cmp = compare_poses(load_scene(pred), load_scene(ref))
    rows = [{"image": n, "rotation_deg": float(r), "center_percent": float(100 * c)}
            for n, r, c in zip(cmp.names, cmp.rotation_deg, cmp.center_rel)]
    for row in rows:
        print(f"  {row['image']:>14}  rotation {row['rotation_deg']:6.3f} deg   centre {row['center_percent']:6.3f} %")
    summary = {"matched": len(rows), "rotation_median_deg": float(np.median(cmp.rotation_deg)),
               "rotation_max_deg": float(cmp.rotation_deg.max()),
               "center_median_percent": float(100 * np.median(cmp.center_rel)),
               "center_max_percent": float(100 * cmp.center_rel.max())}
    print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()))
    return {"per_image": rows, "summary": summary, "transform": cmp.transform}


def prepared(scene: Path) -> dict:
    data = json.loads((scene / "transforms.json").read_text())["meshcast_prepare"]
    return {k: data[k] for k in ("images", "registered", "mean_reprojection_error_px", "points", "matcher")}


def run_fox(out: Path, max_size: int) -> dict:
    scene = out / "fox_scene"
    seconds = timed([*MESHCAST, "prepare", str(DATA / "fox" / "images"), "--out", str(scene), "--overwrite",
                     "--max-size", str(max_size), "--quiet"])
    print(f"fox: prepare {seconds:.1f} s", prepared(scene))
    table = pose_table(scene, DATA / "fox")
    table.pop("transform")
    return {"prepare_seconds": seconds, "max_size": max_size, **prepared(scene), **table}


def run_orbit(out: Path, mesh: Path, frames: int, size: int, train_seconds: float, resolution: int) -> dict:
    import trimesh

    from meshcast.metrics.geometry import compare_meshes

    capture = out / "orbit"
    render_s = timed([sys.executable, str(REPO / "benchmarks" / "orbit_capture.py"), str(mesh), str(capture),
                      "--frames", str(frames), "--size", str(size)])
    scene, run = out / "orbit_scene", out / "orbit_run"
    prepare_s = timed([*MESHCAST, "prepare", str(capture / "orbit.mp4"), "--out", str(scene), "--overwrite",
                       "--frames", str(frames), "--quiet"])
    print(f"orbit: render {render_s:.1f} s, prepare {prepare_s:.1f} s", prepared(scene))
    table = pose_table(scene, capture / "reference.json")
    train_s = timed([*MESHCAST, "train", str(scene), "--out", str(run), "--max-seconds", str(train_seconds),
                     "--quiet"])
    extract_s = timed([*MESHCAST, "extract", str(run), "--resolution", str(resolution), "--keep-largest",
                       "--quiet"])
    reference = json.loads((capture / "reference.json").read_text())
    gt = trimesh.load(mesh, process=False)
    gt.apply_transform(np.array(reference["mesh_to_world"]))
    pred = trimesh.load(run / "mesh.ply", process=False)
    pred.apply_transform(table.pop("transform").matrix())
    metrics = compare_meshes(pred, gt)
    print(f"orbit: train {train_s:.1f} s, extract {extract_s:.1f} s, Chamfer {100 * metrics['chamfer_relative']:.3f}% "
          f"of the bbox diagonal, F-score {metrics['fscore']:.3f}")
    return {"mesh": mesh.name, "frames": frames, "size": size, "render_seconds": render_s,
            "prepare_seconds": prepare_s, "train_seconds": train_s, "extract_seconds": extract_s,
            "resolution": resolution, **prepared(scene), **table, "chamfer": metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["fox", "orbit"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/meshcast_bench_prepare"))
    parser.add_argument("--max-size", type=int, default=960)
    parser.add_argument("--mesh", type=Path, default=DATA / "meshes" / "stanford-bunny.obj")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--train-seconds", type=float, default=600)
    parser.add_argument("--resolution", type=int, default=192)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.task == "fox":
        result = run_fox(args.out, args.max_size)
    else:
        result = run_orbit(args.out, args.mesh, args.frames, args.size, args.train_seconds, args.resolution)
    record = {"task": args.task, "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, "
              f"{os.cpu_count()} cores, {platform.python_version()}", "command": " ".join(sys.argv), **result}
    path = REPO / "benchmarks" / f"prepare_{args.task}_cpu.json"
    path.write_text(json.dumps(record, indent=1))
    print(path)


if __name__ == "__main__":
    main()
