"""Structure from motion with pycolmap: SIFT features, exhaustive or sequential matching,
incremental mapping (largest model kept), undistortion to pinhole cameras.

Everything is written under one work folder: ``database.db``, ``mapper/<k>/`` (every model the
mapper made, distorted cameras), ``undistorted/{images,sparse}`` (pinhole images and model).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from meshcast.errors import BadInputError, JobFailedError
from meshcast.reporting import Reporter
from meshcast.scene.colmap import _pycolmap

Matcher = Literal["auto", "exhaustive", "sequential"]
CameraSharing = Literal["auto", "single", "per-image"]

EXHAUSTIVE_LIMIT = 150  # auto: exhaustive up to this many images, sequential above (and for video)


@dataclass(frozen=True)
class SfmSettings:
    matcher: Matcher = "auto"
    camera: CameraSharing = "auto"
    camera_model: str = "SIMPLE_RADIAL"  # COLMAP model estimated before undistortion
    sequential_overlap: int = 10
    threads: int = -1


@dataclass(frozen=True)
class SfmResult:
    model_dir: Path  # undistorted (pinhole) model
    image_dir: Path  # undistorted images
    registered: tuple[str, ...]
    unregistered: tuple[str, ...]
    mean_reprojection_error: float  # pixels, of the distorted model
    points: int
    distortion: dict  # the camera model and parameters that undistortion removed, per camera id
    matcher: str
    model: str = "mapper/0"  # the kept (largest) model, relative to the work folder
    models: int = 1  # how many separate models the mapper made


def choose_matcher(setting: Matcher, kind: str, count: int) -> str:
    if setting != "auto":
        return setting
    return "sequential" if kind == "video" or count > EXHAUSTIVE_LIMIT else "exhaustive"


def choose_camera_mode(setting: CameraSharing, kind: str, sizes: set[tuple[int, int]]):
    pycolmap = _pycolmap()
    if setting == "single" or (setting == "auto" and (kind == "video" or len(sizes) == 1)):
        return pycolmap.CameraMode.SINGLE
    return pycolmap.CameraMode.PER_IMAGE


def _features(pycolmap, database: Path, images: Path, names, camera_mode, settings: SfmSettings) -> None:
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = settings.camera_model
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = settings.threads
    pycolmap.extract_features(database, images, image_names=list(names), camera_mode=camera_mode,
                              reader_options=reader, extraction_options=extraction, device=pycolmap.Device.cpu)


def _match(pycolmap, database: Path, matcher: str, settings: SfmSettings) -> None:
    if matcher == "sequential":
        pairing = pycolmap.SequentialPairingOptions()
        pairing.overlap = settings.sequential_overlap
        pairing.quadratic_overlap = True
        pycolmap.match_sequential(database, pairing_options=pairing, device=pycolmap.Device.cpu)
    else:
        pycolmap.match_exhaustive(database, device=pycolmap.Device.cpu)


def _map(pycolmap, database: Path, images: Path, sparse: Path, total: int, reporter: Reporter):
    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = -1
    options.random_seed = 0
    registered = [0]

    def next_image() -> None:
        registered[0] += 1
        reporter.progress("mapping", min(registered[0], total), total, f"{registered[0]} images registered")

    sparse.mkdir(parents=True, exist_ok=True)
    return pycolmap.incremental_mapping(database, images, sparse, options=options,
                                        next_image_callback=next_image)


def _distortion(reconstruction) -> dict:
    return {str(cid): {"model": cam.model_name, "params": [float(p) for p in cam.params],
                       "width": int(cam.width), "height": int(cam.height)}
            for cid, cam in reconstruction.cameras.items()}


def run_sfm(images: Path, names: tuple[str, ...], kind: str, work: Path, settings: SfmSettings,
            reporter: Reporter) -> SfmResult:
    """Pose the images ``names`` of folder ``images``; raise with advice when nothing registers."""
    from meshcast.scene.images import image_size

    pycolmap = _pycolmap()
    if len(names) < 3:
        raise BadInputError(f"{images}: only {len(names)} usable images; structure from motion needs at least 3",
                            hint="add more photos (20 or more, each overlapping its neighbours by about 60%)",
                            code="input.too_few_images")
    work.mkdir(parents=True, exist_ok=True)
    database = work / "database.db"
    database.unlink(missing_ok=True)
    sizes = {image_size(images / n) for n in names}
    camera_mode = choose_camera_mode(settings.camera, kind, sizes)
    reporter.progress("features", 0, len(names), "SIFT features")
    _features(pycolmap, database, images, names, camera_mode, settings)
    matcher = choose_matcher(settings.matcher, kind, len(names))
    reporter.progress("matching", 0, None, f"{matcher} matching")
    _match(pycolmap, database, matcher, settings)
    reporter.progress("mapping", 0, len(names), "incremental mapping")
    models = _map(pycolmap, database, images, work / "mapper", len(names), reporter)
    if not models:
        raise JobFailedError(
            f"structure from motion found no initial image pair among {len(names)} images in {images}",
            hint="the images overlap too little or have too little texture: use more frames (--frames), "
            "sharper photos, or move more slowly around the object",
            code="prepare.no_model",
        )
    best_id = max(models, key=lambda k: models[k].num_reg_images())
    best = models[best_id]
    registered = tuple(sorted(best.images[i].name for i in best.reg_image_ids()))
    unregistered = tuple(n for n in names if n not in set(registered))
    if len(registered) < 3:
        raise JobFailedError(f"only {len(registered)} of {len(names)} images registered",
                             hint="use more overlapping images", code="prepare.too_few_registered")
    error = float(best.compute_mean_reprojection_error())
    reporter.progress("undistort", 0, None, "undistorting images")
    undistorted = work / "undistorted"
    pycolmap.undistort_images(undistorted, work / "mapper" / str(best_id), images)
    return SfmResult(model_dir=undistorted / "sparse", image_dir=undistorted / "images", registered=registered,
                     unregistered=unregistered, mean_reprojection_error=error, points=int(best.num_points3D()),
                     distortion=_distortion(best), matcher=matcher, model=f"mapper/{best_id}",
                     models=len(models))


def model_points(model_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse points of a model: (N, 3) xyz, (N, 3) uint8 colours, (N,) track lengths."""
    pycolmap = _pycolmap()
    rec = pycolmap.Reconstruction(str(model_dir))
    points = list(rec.points3D.values())
    xyz = np.array([p.xyz for p in points], dtype=np.float64).reshape(-1, 3)
    rgb = np.array([p.color for p in points], dtype=np.uint8).reshape(-1, 3)
    track = np.array([p.track.length() for p in points], dtype=np.int64)
    return xyz, rgb, track
