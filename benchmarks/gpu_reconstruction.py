"""Reconstruction benchmarks for one GPU (or the CPU): training time-to-quality, silhouette IoU,
extraction time and memory. Prints a table and writes results JSON and pictures to --out.

  python benchmarks/gpu_reconstruction.py lego-nerf --data DATA --out OUT --seconds 60 300
  python benchmarks/gpu_reconstruction.py lego-neus --data DATA --out OUT --seconds 30 60 120 300 --extract 512 2048
  python benchmarks/gpu_reconstruction.py fox --data DATA --out OUT --seconds 300 [--scene PREPARED_FOX]
  python benchmarks/gpu_reconstruction.py capture --data DATA --out OUT --scene SCENE --reference REF --mesh MESH --seconds 60 120

DATA holds lego_400/ and fox (or fox_half/, a half-resolution copy) from ../shared/data.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def train(scene: Path, run: Path, method: str, seconds: float, extra: list[str]) -> dict:
    argv = [sys.executable, "-m", "meshcast", "train", str(scene), "--out", str(run), "--method", method,
            "--max-seconds", str(seconds), "--max-steps", "1000000", "--quiet", "--events", "-", *extra]
    t = time.time()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-4000:])
        raise SystemExit(f"training failed: {proc.returncode}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])["data"]
    result["wall_s"] = round(time.time() - t, 1)
    ready = [json.loads(l)["message"] for l in proc.stdout.splitlines() if "GPU kernels ready" in l]
    if ready:  # the kernels' compilation before the clock (not part of the budget)
        result["kernels_ready_s"] = float(ready[0].split(" in ")[1].split(" s")[0])
    sps = [json.loads(l)["value"] for l in proc.stdout.splitlines() if '"samples_per_s"' in l]
    result["samples_per_s_median"] = float(np.median(sps)) if sps else None
    return result


def peak_gpu_gb() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None


def extract_timed(run: Path, resolution: int, block: int, out: Path) -> dict:
    import torch

    from meshcast.extract.pipeline import ExtractSettings, extract_field
    from meshcast.train.run import load_run

    loaded = load_run(run)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t = time.time()
    mesh = extract_field(loaded.field, loaded.similarity, ExtractSettings(resolution=resolution, block_res=block, texture="none"),
                         loaded.device)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.time() - t
    return {"resolution": resolution, "block": block, "seconds": round(seconds, 1), "peak_gpu_gb": peak_gpu_gb(),
            "vertices": len(mesh["vertices"]), "faces": len(mesh["faces"]), "mesh": mesh}


def lego_nerf(args) -> list[dict]:
    from meshcast.evaluate import evaluate_run

    rows = []
    for seconds in args.seconds:
        run = args.out / f"lego_nerf_{int(seconds)}s"
        result = train(args.data / "lego_400", run, "nerf", seconds, args.train_args)
        t = time.time()
        ev = evaluate_run(run, max_images=args.max_eval)
        rows.append({"task": "lego nerf", "train_s": seconds, "kernels_ready_s": result.get("kernels_ready_s"),
                     "steps": result["steps"], "test_psnr": round(ev["psnr"], 2),
                     "test_ssim": round(ev["ssim"], 4), "test_images": ev["images"], "eval_s": round(time.time() - t, 1),
                     "samples_per_s": result["samples_per_s_median"]})
        print(rows[-1], flush=True)
    return rows


def silhouette_iou(mesh_v, mesh_f, scene, n_views: int, out: Path, name: str) -> float:
    import trimesh
    from mesh_views import iou, splat
    from PIL import Image

    from meshcast.scene.images import load_image

    mesh = trimesh.Trimesh(mesh_v, mesh_f, process=False)
    frames = scene.split("test")[:: max(1, len(scene.split("test")) // n_views)][:n_views]
    scores = []
    for i, frame in enumerate(frames):
        k = frame.intrinsics
        sil, rgb = splat(mesh, frame.c2w_array(), (k.fl_x, k.fl_y, k.cx, k.cy), k.w, k.h)
        alpha = load_image(frame.image_path)[..., 3] > 0.5
        scores.append(iou(sil, alpha))
        if i < 2:
            Image.fromarray((rgb * 255).astype(np.uint8)).save(out / f"{name}_view{i}.png")
    return float(np.mean(scores))


def lego_neus(args) -> list[dict]:
    """One NeuS run per budget in --seconds: silhouette IoU of its mesh at the first --extract
    resolution; the last budget's run is also extracted (timed) at every --extract resolution."""
    from meshcast.mesh.export import write_mesh
    from meshcast.scene import load_scene

    scene = load_scene(args.data / "lego_400")
    rows = []
    for seconds in args.seconds:
        run = args.out / f"lego_neus_{int(seconds)}s"
        result = train(args.data / "lego_400", run, "neus", seconds, args.train_args)
        last = seconds == args.seconds[-1]
        for res in args.extract if last else args.extract[:1]:
            ex = extract_timed(run, res, 128, args.out)
            mesh = ex.pop("mesh")
            row = {"task": "lego neus", "train_s": seconds, "steps": result["steps"], "val_psnr": result["val_psnr"],
                   "samples_per_s": result["samples_per_s_median"], **ex}
            if res == args.extract[0]:
                name = f"lego_neus_{int(seconds)}s"
                row["silhouette_iou"] = round(silhouette_iou(mesh["vertices"], mesh["faces"], scene, args.iou_views,
                                                             args.out, name), 4)
                write_mesh(args.out / f"{name}_mesh.ply", mesh["vertices"], mesh["faces"])
            rows.append(row)
            print(row, flush=True)
    return rows


def fox(args) -> list[dict]:

    from mesh_views import splat
    from PIL import Image

    from meshcast.extract.pipeline import ExtractSettings, extract_run
    from meshcast.mesh.export import read_mesh
    from meshcast.scene import load_scene

    scene_dir = args.scene or args.data / ("fox" if (args.data / "fox").exists() else "fox_half")
    run = args.out / "fox_neus"
    result = train(scene_dir, run, "neus", args.seconds[0], args.train_args)
    info = extract_run(run, ExtractSettings(resolution=512, block_res=128, keep_largest=True), args.out / "fox_mesh.ply")
    mesh = read_mesh(info["mesh"])
    scene = load_scene(scene_dir)
    for i, frame in enumerate(scene.frames[::17][:3]):
        k = frame.intrinsics.scaled(0.5)
        _, rgb = splat(mesh, frame.c2w_array(), (k.fl_x, k.fl_y, k.cx, k.cy), k.w, k.h)
        Image.fromarray((rgb * 255).astype(np.uint8)).save(args.out / f"fox_view{i}.png")
    extent = (mesh.bounds[1] - mesh.bounds[0]).tolist()
    row = {"task": "fox neus", "train_s": args.seconds[0], "steps": result["steps"], "val_psnr": result["val_psnr"],
           "mesh_vertices": info["vertices"], "mesh_extent": [round(e, 3) for e in extent],
           "region_radius": json.loads((run / "config.json").read_text())["similarity"]["radius"]}
    print(row, flush=True)
    return [row]


def capture(args) -> list[dict]:
    """NeuS on a prepared capture with known true cameras (benchmarks/orbit_capture.py): Chamfer of
    the extracted mesh to the original after the camera similarity alignment, per time budget."""
    import trimesh

    from meshcast.extract.pipeline import ExtractSettings, extract_run
    from meshcast.metrics.geometry import compare_meshes
    from meshcast.scene import load_scene
    from meshcast.scene.align import compare_poses, poses_from_json

    reference = json.loads(args.reference.read_text())
    transform = compare_poses(load_scene(args.scene), poses_from_json(args.reference)).transform
    gt = trimesh.load(args.mesh, process=False)
    gt.apply_transform(np.array(reference["mesh_to_world"]))
    # the true cameras, for the Chamfer over the surface they saw (the orbit never sees the underside)
    K = np.array([[reference["fl_x"], 0, reference["cx"]], [0, reference["fl_y"], reference["cy"]], [0, 0, 1]])
    cameras = {"c2w": np.array([f["transform_matrix"] for f in reference["frames"]]), "K": K,
               "size": (reference["w"], reference["h"])}
    rows = []
    for seconds in args.seconds:
        run = args.out / f"capture_neus_{int(seconds)}s"
        result = train(args.scene, run, "neus", seconds, args.train_args)
        for resolution in args.extract:
            t = time.time()
            info = extract_run(run, ExtractSettings(resolution=resolution, block_res=128, keep_largest=True,
                                                    texture="none"), run / f"mesh_{resolution}.ply")
            pred = trimesh.load(info["mesh"], process=False)
            pred.apply_transform(transform.matrix())
            metrics = compare_meshes(pred, gt, cameras=cameras)
            row = {"task": "capture neus", "train_s": seconds, "steps": result["steps"],
                   "samples_per_s": result["samples_per_s_median"], "resolution": resolution,
                   "extract_s": round(time.time() - t, 1), "chamfer_percent": round(100 * metrics["chamfer_relative"], 4),
                   "fscore": round(metrics["fscore"], 4),
                   "observed_chamfer_percent": round(100 * metrics["visible_chamfer_relative"], 4),
                   "observed_fscore": round(metrics["visible_fscore"], 4),
                   "observed_fraction_gt": round(metrics["visible_fraction_gt"], 3)}
            print(row, flush=True)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["lego-nerf", "lego-neus", "fox", "capture"])
    parser.add_argument("--scene", type=Path, help="fox/capture: the scene folder (e.g. made by meshcast prepare)")
    parser.add_argument("--reference", type=Path, help="capture: reference.json of the true cameras")
    parser.add_argument("--mesh", type=Path, help="capture: the original mesh")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, nargs="+", default=[60.0])
    parser.add_argument("--extract", type=int, nargs="*", default=[512])
    parser.add_argument("--max-eval", type=int, default=None, help="evaluate on at most this many test images")
    parser.add_argument("--iou-views", type=int, default=10)
    parser.add_argument("--scatter", choices=["walk", "runs", "atomic"], default=None,
                        help="the Triton encoding backward's table-gradient scatter (default: the module's)")
    parser.add_argument("--train-args", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    import torch

    if args.scatter:  # the training runs are child processes: they read it from the environment
        os.environ["MESHCAST_TRITON_SCATTER"] = args.scatter

    machine = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    rows = {"lego-nerf": lego_nerf, "lego-neus": lego_neus, "fox": fox, "capture": capture}[args.task](args)
    record = {"task": args.task, "machine": machine, "torch": torch.__version__, "command": " ".join(sys.argv),
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    (args.out / f"{args.task}.json").write_text(json.dumps(record, indent=2, default=str))
    print(json.dumps(record, default=str))


if __name__ == "__main__":
    main()
