"""The peer's NeuS on the same capture and budget: instant-nsr-pl (github:bennyguo/instant-nsr-pl,
NeuS with tiny-cuda-nn's hash grid and nerfacc's ray marching, trained by PyTorch Lightning) trains
on a prepared capture for wall-clock budgets, its mesh is extracted by its own marching cubes, and
the mesh is scored exactly as ``gpu_reconstruction.py capture`` scores meshcast's (Chamfer as % of
the reference bounding-box diagonal over the whole mesh and over the observed surface, F-score at
1% of it, ``compare_meshes`` with the true cameras, after the same alignment of the capture frame
to the reference frame).

    python benchmarks/build_instant_nsr.py --out PEER/prebuilt        # once: nerfacc's CUDA library
    python benchmarks/build_tcnn.py .peer/tcnn                           # once: tiny-cuda-nn (encodings)
    PYTHONPATH=...:.peer/tcnn/bindings/torch python benchmarks/peer_instant_nsr.py PEER \\
        --scene $B/scene --reference $B/reference.json --mesh $B/stanford-bunny.obj \\
        --seconds 120 --extract 512 --json OUT.json --out OUT_DIR
    python benchmarks/peer_instant_nsr.py PEER --scene ... --reference ... --mesh ... --check   # CPU: data only

PEER (.peer/instant_nsr) holds ``src/``, the peer's source (commit in PEER/COMMIT; never part of this
repository), ``wheels/`` its Python dependencies (installed beforehand with ``pip install --target``)
and ``prebuilt/nerfacc_cuda.so`` from build_instant_nsr.py.

How the capture reaches the peer: its own COLMAP loader (``datasets/colmap.py``) reads a COLMAP
binary model that this script writes to a temporary folder from the scene's transforms.json (one
PINHOLE camera, the poses, the sparse points; the images linked, not copied). The loader then
normalises the scene its own way (centre where the cameras look, ``lookat``; up from a RANSAC plane
through the sparse points, ``ground``; the nearest camera at distance 1). The similarity from its
frame back to the capture's is recovered from the camera centres (Umeyama; the residual and the
rotation agreement are reported), and the capture-to-reference alignment is gpu_reconstruction.py's
(``compare_poses`` of the scene's cameras against reference.json).

Configuration: its ``configs/neus-colmap.yaml`` (NeuS for real captures: learned background
outside a foreground box of radius 0.6, random background colour, progressive hash grid, analytic
SDF gradients, a ray count adapted to 256 x (1024 + 256) samples a step (at most 8192 rays),
occupancy-grid pruning, 16-bit mixed precision, AdamW 1e-2 with 500 warm-up steps, then exponential
decay over ``trainer.max_steps`` = 20000, cosine annealing over 20000 steps, seed 42), changed only
where the data or the benchmark needs it:

* ``dataset.img_downscale=1``: the images are used at their size (399 px); the config's 4 is for
  the Mip-NeRF 360 garden's 5k-pixel photographs.
* ``model.geometry.isosurface.resolution``: from --extract (its default is 512 too).
* ``export.export_vertex_color=false``: the mesh's geometry only (the colours are not scored).
* The Lightning trainer runs on one GPU without a distributed strategy (launch.py asks for
  ``ddp_find_unused_parameters_false`` even for one GPU), with no validation (the config renders
  two images every 5000 steps), checkpoints, loggers, code snapshots or progress bar, and without the
  test stage that launch.py runs after fitting (a 120-view video, then the mesh export); the mesh
  is exported by the model's own ``export`` (coarse then fine marching cubes, PyMCubes) at each
  budget instead, with the clock paused.
* ``--schedule-steps N`` (off by default) sets ``trainer.max_steps`` (the learning-rate decay) and
  ``model.cos_anneal_end`` to N, for a schedule that ends within the budget; --set passes any
  other ``key=value`` override of the config.

The clock: from Lightning's ``on_train_start`` (model built, images loaded, CUDA initialised) to
the end of the training step at which the budget is reached, checked after every step; the
extraction for a budget is not counted. The first step (which starts the data loader's worker
processes and initialises cuBLAS and tiny-cuda-nn) is inside the budget and reported as
``first_step_s``. Each budget row also scores the exported mesh after keeping its largest
connected component (``largest`` keys), the clean-up meshcast's capture benchmark applies to its
own mesh.

Run-time changes outside the peer's source (nothing under PEER/src is modified on disk):
stand-ins for ``pkg_resources`` (pytorch-lightning 1.9 calls ``declare_namespace`` in its
``__init__``; current setuptools no longer ships it) and, only where torchvision is missing (the
CPU check), for ``torchvision.transforms.functional.to_tensor``; ``torch.cuda.amp.custom_fwd`` /
``custom_bwd`` where this PyTorch lacks them; nerfacc's lazily compiled backend module is replaced by
the library from build_instant_nsr.py (without one, nerfacc compiles its own before the clock
starts). ``--check`` (CPU) loads the data through the peer's loader
on the CPU (its ``get_rank`` gives a CUDA device index) and compares its rays and images with
meshcast's own reading of the scene.
"""
from __future__ import annotations

import argparse
import functools
import importlib.machinery
import importlib.util
import json
import os
import re
import struct
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

CONFIG = "configs/neus-colmap.yaml"


# ----------------------------------------------------------------------------- imports

def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)  # find_spec() on it must not fail
    sys.modules[name] = module
    return module


def _to_tensor(picture):
    """torchvision's to_tensor for PIL images: (C, H, W) float in [0, 1]."""
    import torch

    array = np.asarray(picture)
    array = array[..., None] if array.ndim == 2 else array
    scale = 255.0 if array.dtype == np.uint8 else 1.0
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float() / scale


def prepare_imports(peer: Path, tcnn: Path | None) -> dict:
    """Put the peer, tiny-cuda-nn and the prebuilt nerfacc library on the import path; returns what
    was stood in for."""
    import torch

    notes = {}
    if importlib.util.find_spec("pkg_resources") is None:
        _module("pkg_resources", declare_namespace=lambda name: None)
        notes["pkg_resources"] = "stand-in (declare_namespace only)"
    import pytorch_lightning  # noqa: F401  (before any stand-in below: torchmetrics probes for torchvision)

    if importlib.util.find_spec("torchvision") is None:
        functional = _module("torchvision.transforms.functional", to_tensor=_to_tensor)
        transforms = _module("torchvision.transforms", functional=functional)
        _module("torchvision", transforms=transforms)
        notes["torchvision"] = "stand-in (transforms.functional.to_tensor only)"
    amp = torch.cuda.amp
    for name in ("custom_fwd", "custom_bwd"):
        if not hasattr(amp, name):
            setattr(amp, name, functools.partial(getattr(torch.amp, name), device_type="cuda"))
            notes[f"torch.cuda.amp.{name}"] = "torch.amp alias"
    if tcnn is not None:
        sys.path.insert(0, str(tcnn))
    library = peer / "prebuilt" / "nerfacc_cuda.so"
    if library.is_file() and torch.cuda.is_available():
        # the module's name is the one torch's builder gave it (nerfacc_cuda, or nerfacc_cuda_v1
        # after a retry in the same process): read it from the library's PyInit_ symbol
        names = re.findall(rb"PyInit_(\w+)", library.read_bytes())
        spec = importlib.util.spec_from_file_location(names[0].decode() if names else "nerfacc_cuda", library)
        compiled = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(compiled)
        _module("nerfacc.cuda._backend", _C=compiled)
        notes["nerfacc"] = f"prebuilt {library}"
    elif torch.cuda.is_available():  # nerfacc's own lazy compile, now rather than in the first timed step
        print("no prebuilt nerfacc library: nerfacc compiles its own (minutes, before the clock)", flush=True)
        start = time.perf_counter()
        importlib.import_module("nerfacc.cuda._backend")
        notes["nerfacc"] = f"compiled by nerfacc itself in {time.perf_counter() - start:.0f} s"
    sys.path.insert(0, str(peer / "src"))
    return notes


# ----------------------------------------------------------------------------- data

def write_colmap_model(scene, points: np.ndarray, root: Path) -> list[str]:
    """A COLMAP binary model of ``scene`` (meshcast Scene) under root/sparse/0 and root/images
    (links to the images), in the layout instant-nsr-pl's colmap loader reads. Returns the image
    names in the order written (image ids 1..N)."""
    from datasets.colmap_utils import rotmat2qvec

    from meshcast.scene.colmap import c2w_to_cam_from_world

    intrinsics = {f.intrinsics for f in scene.frames}
    if len(intrinsics) != 1:
        raise SystemExit(f"instant-nsr-pl's colmap loader reads one camera; this scene has {len(intrinsics)}")
    k = intrinsics.pop()
    if k.has_distortion:
        raise SystemExit("the scene's images are distorted; instant-nsr-pl's loader takes undistorted pinhole images")
    model = root / "sparse" / "0"
    model.mkdir(parents=True)
    (root / "images").mkdir()
    with open(model / "cameras.bin", "wb") as f:  # camera 1, PINHOLE (model id 1): fx fy cx cy
        f.write(struct.pack("<Q", 1) + struct.pack("<iiQQ", 1, 1, k.w, k.h) + struct.pack("<4d", k.fl_x, k.fl_y, k.cx, k.cy))
    names = []
    with open(model / "images.bin", "wb") as f:
        f.write(struct.pack("<Q", len(scene.frames)))
        for image_id, frame in enumerate(scene.frames, start=1):
            name = frame.image_path.name
            if name in names:
                raise SystemExit(f"two frames share the image name {name}")
            w2c = c2w_to_cam_from_world(frame.c2w_array())
            qvec = rotmat2qvec(w2c[:, :3])
            f.write(struct.pack("<i4d3di", image_id, *qvec, *w2c[:, 3], 1) + name.encode() + b"\0" + struct.pack("<Q", 0))
            (root / "images" / name).symlink_to(frame.image_path)
            names.append(name)
    with open(model / "points3D.bin", "wb") as f:
        f.write(struct.pack("<Q", len(points)))
        f.writelines(struct.pack("<Q3d3BdQ", i, *xyz, 128, 128, 128, 0.0, 0)  # grey, no error, empty track
                     for i, xyz in enumerate(np.asarray(points, np.float64), start=1))
    return names


def peer_config(peer: Path, root: Path, args) -> tuple[object, list[str]]:
    from utils.misc import load_config

    overrides = [f"dataset.root_dir={root}", "dataset.img_downscale=1",
                 f"model.geometry.isosurface.resolution={args.extract[0]}", "export.export_vertex_color=false"]
    if args.schedule_steps:
        overrides += [f"trainer.max_steps={args.schedule_steps}", f"model.cos_anneal_end={args.schedule_steps}"]
    overrides += args.set
    return load_config(str(peer / "src" / CONFIG), cli_args=overrides), overrides


def normalization(scene, names: list[str], radius: float, gt_capture: np.ndarray) -> tuple[object, dict]:
    """The similarity from the peer's normalised frame to the capture's, from the camera centres its
    loader produced (``ColmapDatasetBase.properties``), with how well it explains the rotations."""
    from datasets.colmap import ColmapDatasetBase

    from meshcast.scene.align import umeyama

    peer_c2w = ColmapDatasetBase.properties["all_c2w"].detach().cpu().numpy().astype(np.float64)  # (N, 3, 4)
    by_name = {f.image_path.name: f.c2w_array() for f in scene.frames}
    ours = np.stack([by_name[n] for n in names])
    to_capture = umeyama(peer_c2w[:, :, 3], ours[:, :3, 3])
    centres = to_capture.apply(peer_c2w[:, :, 3])
    size = float(np.linalg.norm(ours[:, :3, 3].max(0) - ours[:, :3, 3].min(0)))
    relative = np.transpose(ours[:, :3, :3], (0, 2, 1)) @ (to_capture.rotation[None] @ peer_c2w[:, :3, :3])
    # rotation angle from |R - I|_F = 2 sqrt(2) sin(angle / 2): exact, and not swamped by rounding near 0
    # as arccos((trace - 1) / 2) is for the peer's float32 poses
    frobenius = np.linalg.norm(relative - np.eye(3), axis=(1, 2))
    angles = np.degrees(2 * np.arcsin(np.clip(frobenius / (2 * np.sqrt(2)), 0, 1)))
    inverse = np.linalg.inv(to_capture.matrix())
    gt_peer = gt_capture @ inverse[:3, :3].T + inverse[:3, 3]
    report = {"scale_peer_to_capture": to_capture.scale,
              "centre_residual_max_rel": float(np.linalg.norm(centres - ours[:, :3, 3], axis=1).max() / size),
              "rotation_residual_max_deg": float(angles.max()),
              "nearest_camera_distance_peer": float(np.linalg.norm(peer_c2w[:, :, 3], axis=1).min()),
              "reference_mesh_max_abs_coord_peer": float(np.abs(gt_peer).max()), "peer_radius": radius}
    if report["reference_mesh_max_abs_coord_peer"] > radius:
        print(f"warning: the reference mesh reaches {report['reference_mesh_max_abs_coord_peer']:.3f} in the peer's "
              f"frame, outside its foreground box (radius {radius})", flush=True)
    if report["centre_residual_max_rel"] > 1e-4 or report["rotation_residual_max_deg"] > 0.01:
        raise SystemExit(f"the peer's normalisation is not a similarity of the capture's cameras: {report}")
    return to_capture, report


def check_rays(scene, names: list[str], to_capture, frames: int = 3) -> dict:
    """The peer's rays and pixels for a few images against meshcast's, in the capture frame."""
    import torch
    from datasets.colmap import ColmapDatasetBase
    from models.ray_utils import get_rays

    from meshcast.render.rays import image_rays
    from meshcast.scene.images import load_image

    props = ColmapDatasetBase.properties
    by_name = {f.image_path.name: f for f in scene.frames}
    worst = {"origin": 0.0, "direction_deg": 0.0, "pixel": 0.0}
    for i in np.linspace(0, len(names) - 1, frames).round().astype(int):
        frame = by_name[names[i]]
        o, d = get_rays(props["directions"].cpu(), props["all_c2w"][i].cpu())
        o = to_capture.apply(o.double().numpy())
        d = torch.nn.functional.normalize(d.double(), dim=-1).numpy() @ to_capture.rotation.T
        k = frame.intrinsics
        mo, md = image_rays((k.fl_x, k.fl_y, k.cx, k.cy), torch.tensor(frame.c2w_array()), k.w, k.h)
        worst["origin"] = max(worst["origin"], float(np.abs(o - mo.double().numpy()).max()))
        chord = np.linalg.norm(d - md.double().numpy(), axis=-1)  # |a - b| = 2 sin(angle / 2) for unit vectors
        worst["direction_deg"] = max(worst["direction_deg"], float(np.degrees(2 * np.arcsin(np.clip(chord / 2, 0, 1))).max()))
        ours = load_image(frame.image_path)[..., :3].reshape(-1, 3)
        theirs = props["all_images"][i].reshape(-1, 3).numpy()
        worst["pixel"] = max(worst["pixel"], float(np.abs(ours - theirs).max()))
    return {"frames_compared": frames, "max_origin_error": worst["origin"],
            "max_direction_error_deg": worst["direction_deg"], "max_pixel_difference": worst["pixel"]}


# ----------------------------------------------------------------------------- scoring

def score(vertices: np.ndarray, faces: np.ndarray, to_reference: np.ndarray, gt, cameras) -> dict:
    """gpu_reconstruction.py capture's figures for a mesh in the capture frame."""
    import trimesh

    from meshcast.metrics.geometry import compare_meshes

    pred = trimesh.Trimesh(vertices, faces, process=False)
    pred.apply_transform(to_reference)
    metrics = compare_meshes(pred, gt, cameras=cameras)
    return {"chamfer_percent": round(100 * metrics["chamfer_relative"], 4), "fscore": round(metrics["fscore"], 4),
            "observed_chamfer_percent": round(100 * metrics["visible_chamfer_relative"], 4),
            "observed_fscore": round(metrics["visible_fscore"], 4),
            "observed_fraction_gt": round(metrics["visible_fraction_gt"], 3)}


# ----------------------------------------------------------------------------- training

def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def make_budget_callback(budgets: list[float], on_budget):
    from pytorch_lightning.callbacks import Callback

    class Budget(Callback):
        """Stops training once the last budget is reached; calls ``on_budget`` at each, clock paused."""

        def __init__(self):
            self.budgets = sorted(budgets)
            self.paused = 0.0
            self.first_step_s = None

        def elapsed(self) -> float:
            return time.perf_counter() - self.start - self.paused

        def on_train_start(self, trainer, pl_module):
            _sync()
            self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if self.first_step_s is None:
                _sync()
                self.first_step_s = self.elapsed()
            if not self.budgets or self.elapsed() < self.budgets[0]:
                return
            _sync()
            trained = self.elapsed()
            pause = time.perf_counter()
            while self.budgets and trained >= self.budgets[0]:
                on_budget(self.budgets.pop(0), trained, trainer.global_step, pl_module, self.first_step_s)
            self.paused += time.perf_counter() - pause
            if not self.budgets:
                trainer.should_stop = True

        def on_train_end(self, trainer, pl_module):
            # trainer.max_steps came before a budget: that budget gets the final model (here, since
            # Lightning moves the model to the CPU once fitting ends)
            _sync()
            trained = self.elapsed()
            for left in self.budgets:
                print(f"training ended (step {trainer.global_step}, max_steps {trainer.max_steps}) before the "
                      f"{left:g} s budget", flush=True)
                on_budget(left, trained, trainer.global_step, pl_module, self.first_step_s)
            self.budgets = []

    return Budget()


def fit(system, dm, config, budgets: list[float], on_budget, accelerator: str = "gpu") -> float:
    """The peer's Lightning training of ``system`` on ``dm`` until the last budget; returns its wall time."""
    import pytorch_lightning as pl

    budget = make_budget_callback(budgets, on_budget)
    trainer_args = {**config.trainer, "enable_progress_bar": False, "limit_val_batches": 0}
    trainer = pl.Trainer(accelerator=accelerator, devices=1, callbacks=[budget], logger=False,
                         enable_checkpointing=False, enable_model_summary=False, **trainer_args)
    t = time.perf_counter()
    trainer.fit(system, datamodule=dm)
    return time.perf_counter() - t


def export_mesh(system, config, resolution: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The peer's own export (its geometry's coarse-then-fine marching cubes) at ``resolution``."""
    from models.geometry import MarchingCubeHelper

    geometry = system.model.geometry
    if geometry.helper.resolution != resolution:
        geometry.helper = MarchingCubeHelper(resolution, use_torch=config.model.geometry.isosurface.method == "mc-torch")
    _sync()
    t = time.perf_counter()
    mesh = system.model.export(config.export)
    _sync()
    return mesh["v_pos"].double().numpy(), mesh["t_pos_idx"].numpy(), time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("peer", type=Path, help="folder with src/ (instant-nsr-pl) and prebuilt/ (nerfacc library)")
    parser.add_argument("--scene", type=Path, required=True, help="the prepared capture (transforms.json, images, points.ply)")
    parser.add_argument("--reference", type=Path, required=True, help="reference.json of the true cameras")
    parser.add_argument("--mesh", type=Path, required=True, help="the original mesh")
    parser.add_argument("--seconds", type=float, nargs="+", default=[120.0], help="budgets, trained cumulatively")
    parser.add_argument("--extract", type=int, nargs="+", default=[512], help="marching-cubes resolutions")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--out", type=Path, help="write the meshes (capture frame, PLY) here")
    parser.add_argument("--tcnn", type=Path, help="tiny-cuda-nn's bindings/torch, if not on PYTHONPATH")
    parser.add_argument("--schedule-steps", type=int, help="trainer.max_steps and model.cos_anneal_end (default: the config's 20000)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="more overrides of the peer's config")
    parser.add_argument("--check", action="store_true", help="load the data through the peer's loader and compare with meshcast, then stop")
    args = parser.parse_args()
    notes = prepare_imports(args.peer.resolve(), args.tcnn)

    import torch
    import trimesh

    from meshcast.scene import load_scene
    from meshcast.scene.align import compare_poses, poses_from_json
    from meshcast.scene.bounds import load_points

    cpu_check = args.check and not torch.cuda.is_available()
    if cpu_check and importlib.util.find_spec("tinycudann") is None:  # the peer's models import it; the check builds none
        _module("tinycudann")
        notes["tinycudann"] = "empty stand-in (check without CUDA)"
    scene = load_scene(args.scene)
    points = load_points(scene)
    if points is None:
        raise SystemExit(f"{args.scene}: no sparse points (points.ply); the peer's loader needs them")
    reference = json.loads(args.reference.read_text())
    to_reference = compare_poses(scene, poses_from_json(args.reference)).transform.matrix()
    gt = trimesh.load(args.mesh, process=False)
    gt.apply_transform(np.array(reference["mesh_to_world"]))
    K = np.array([[reference["fl_x"], 0, reference["cx"]], [0, reference["fl_y"], reference["cy"]], [0, 0, 1]])
    cameras = {"c2w": np.array([f["transform_matrix"] for f in reference["frames"]]), "K": K,
               "size": (reference["w"], reference["h"])}
    from_reference = np.linalg.inv(to_reference)
    gt_capture = np.asarray(gt.vertices) @ from_reference[:3, :3].T + from_reference[:3, 3]

    root = Path(tempfile.mkdtemp(prefix="instant_nsr_data_"))
    names = write_colmap_model(scene, points, root)
    config, overrides = peer_config(args.peer, root, args)
    import pytorch_lightning as pl

    if cpu_check:
        import datasets.colmap

        datasets.colmap.get_rank = lambda: "cpu"  # the loader moves its rays to device get_rank() (0: CUDA)
        notes["datasets.colmap.get_rank"] = "'cpu' (check on a machine without CUDA)"
    import datasets
    import systems
    pl.seed_everything(config.seed)  # as launch.py, before the data module (RANSAC draws from `random`)
    dm = datasets.make(config.dataset.name, config.dataset)
    dm.setup("fit")
    to_capture, norm = normalization(scene, names, float(config.model.radius), gt_capture)
    record = {"task": "capture", "peer": "instant-nsr-pl", "peer_commit": _commit(args.peer),
              "machine": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
              "torch": torch.__version__, "pytorch_lightning": pl.__version__, "command": " ".join(sys.argv),
              "date": time.strftime("%Y-%m-%d"), "config": CONFIG, "overrides": overrides, "stand_ins": notes,
              "normalization": norm, "images": len(names)}
    if args.check:
        record["rays"] = check_rays(scene, names, to_capture)
        _finish(record, args.json)
        return

    from meshcast.extract.marching_cubes import keep_largest_component

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    system = systems.make(config.system.name, config)
    peer_to_capture = to_capture.matrix()
    meshes = []

    def on_budget(budget, trained, steps, module, first_step_s):
        for resolution in args.extract:
            entry = {"task": "capture neus", "peer": "instant-nsr-pl", "train_s": budget, "trained_s": round(trained, 1),
                     "steps": steps, "first_step_s": round(first_step_s or 0.0, 2),
                     "rays_per_step": int(module.train_num_rays), "inv_s": round(float(module.model.variance.inv_s), 1),
                     "resolution": resolution}
            try:
                v, f, seconds = export_mesh(module, config, resolution)
            except Exception as exc:  # noqa: BLE001  (e.g. an empty level set: recorded, training goes on)
                entry["error"] = f"export failed: {exc!r}"[:500]
                v, f, seconds = None, None, 0.0
            entry["extract_s"] = round(seconds, 1)
            if v is not None:
                v = v @ peer_to_capture[:3, :3].T + peer_to_capture[:3, 3]
                entry.update(vertices=len(v), faces=len(f))
            meshes.append((entry, v, f))
            print(f"budget {budget:g} s: {steps} steps in {trained:.1f} s; mesh {resolution}^3: {entry}", flush=True)

    fit_s = fit(system, dm, config, args.seconds, on_budget)
    record.update(fit_wall_s=round(fit_s, 1), rows=[entry for entry, _, _ in meshes],
                  peak_gpu_gb=round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None)
    _finish(record, args.json, quiet=True)  # the training's figures, should scoring fail
    for entry, v, f in meshes:
        if v is None or len(f) == 0:
            continue
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            trimesh.Trimesh(v, f, process=False).export(args.out / f"instant_nsr_{int(entry['train_s'])}s_{entry['resolution']}.ply")
        entry.update(score(v, f, to_reference, gt, cameras))
        v, f = keep_largest_component(v, f)
        entry.update({f"largest_{k}": value for k, value in score(v, f, to_reference, gt, cameras).items()},
                     largest_faces=len(f))
        print(entry, flush=True)
    _finish(record, args.json)


def _commit(peer: Path) -> str | None:
    path = peer / "COMMIT"
    return path.read_text().strip() if path.is_file() else None


def _finish(record: dict, path: Path | None, quiet: bool = False) -> None:
    text = json.dumps(record, indent=2, default=str)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if quiet:
        return
    print(json.dumps(record, default=str), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")  # as launch.py
    main()
