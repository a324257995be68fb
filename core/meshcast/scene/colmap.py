"""COLMAP sparse models (binary or text) through pycolmap.

Convention change: COLMAP stores world-to-camera poses (``cam_from_world``) in the OpenCV camera
frame (looks down +Z, +Y down). meshcast's OpenGL camera-to-world is
``c2w = inverse([R | t]) @ diag(1, -1, -1, 1)`` (flip the camera's Y and Z axes). Intrinsics:
PINHOLE/SIMPLE_PINHOLE map directly; OPENCV and RADIAL/SIMPLE_RADIAL also carry k1 k2 (p1 p2).
COLMAP's principal point is measured from the top-left image corner like meshcast's.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from meshcast.errors import BadInputError, MissingDependencyError
from meshcast.reporting import Reporter
from meshcast.scene.model import Frame, Intrinsics, Scene
from meshcast.scene.transforms import warn_missing

FLIP_YZ = np.diag([1.0, -1.0, -1.0, 1.0])


def _pycolmap():
    try:
        import pycolmap
    except ImportError as exc:
        raise MissingDependencyError("pycolmap", "colmap", "Reading COLMAP models") from exc
    return pycolmap


def find_model(path: Path) -> tuple[Path, Path]:
    """(model folder, image folder) for a model folder or a workspace with sparse/0 and images/."""
    for model in (path, path / "sparse" / "0", path / "sparse", path / "colmap" / "sparse" / "0"):
        if (model / "cameras.bin").is_file() or (model / "cameras.txt").is_file():
            for images in (path / "images", model.parent.parent / "images", model.parent / "images", model / "images"):
                if images.is_dir():
                    return model, images
            return model, path / "images"
    raise BadInputError(f"{path}: no COLMAP model (cameras.bin/.txt) found", code="input.scene_invalid")


def intrinsics_from_camera(camera) -> Intrinsics:
    params = list(camera.params)
    model = camera.model_name
    w, h = int(camera.width), int(camera.height)
    dist = {"k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0}
    if model == "SIMPLE_PINHOLE":
        fx = fy = params[0]; cx, cy = params[1:3]
    elif model == "PINHOLE":
        fx, fy, cx, cy = params[:4]
    elif model == "SIMPLE_RADIAL":
        fx = fy = params[0]; cx, cy = params[1:3]; dist["k1"] = params[3]
    elif model == "RADIAL":
        fx = fy = params[0]; cx, cy = params[1:3]; dist["k1"], dist["k2"] = params[3:5]
    elif model == "OPENCV":
        fx, fy, cx, cy = params[:4]
        dist["k1"], dist["k2"], dist["p1"], dist["p2"] = params[4:8]
    else:
        raise BadInputError(
            f"COLMAP camera model {model} is not supported",
            hint="undistort the images first (colmap image_undistorter) or use PINHOLE/OPENCV",
            code="input.camera_model",
        )
    return Intrinsics(fl_x=fx, fl_y=fy, cx=cx, cy=cy, w=w, h=h, **dist)


def cam_from_world_to_c2w(matrix_3x4: np.ndarray) -> np.ndarray:
    """COLMAP/OpenCV world-to-camera (3x4) -> OpenGL camera-to-world (4x4)."""
    w2c = np.eye(4)
    w2c[:3, :4] = matrix_3x4
    return np.linalg.inv(w2c) @ FLIP_YZ


def c2w_to_cam_from_world(c2w: np.ndarray) -> np.ndarray:
    """OpenGL camera-to-world (4x4) -> COLMAP/OpenCV world-to-camera (3x4)."""
    return np.linalg.inv(np.asarray(c2w) @ FLIP_YZ)[:3, :4]


def read_colmap(path: Path, reporter: Reporter | None = None) -> Scene:
    pycolmap = _pycolmap()
    model, image_dir = find_model(path)
    try:
        rec = pycolmap.Reconstruction(str(model))
    except Exception as exc:  # pycolmap raises plain RuntimeError/ValueError
        raise BadInputError(f"{model}: cannot read COLMAP model ({exc})", code="input.scene_invalid") from exc
    frames, missing = [], []
    for image_id in sorted(rec.images):
        image = rec.images[image_id]
        if not image.has_pose:
            continue
        target = image_dir / image.name
        if not target.is_file():
            missing.append(image.name)
            continue
        c2w = cam_from_world_to_c2w(image.cam_from_world().matrix())
        frames.append(
            Frame(
                file_path=Path("images", image.name).as_posix(), image_path=target.resolve(),
                c2w=tuple(map(tuple, c2w)), intrinsics=intrinsics_from_camera(rec.cameras[image.camera_id]),
                camera_id=int(image.camera_id),
            )
        )
    warn_missing(reporter, missing, len(frames) + len(missing))
    if not frames:
        raise BadInputError(f"{model}: the model has no registered images with files in {image_dir}", code="input.no_frames")
    points = model / "points3D.ply"
    return Scene(root=path.resolve(), source="colmap", frames=tuple(frames),
                 points_path=points if points.is_file() else None, skipped=tuple(missing))


def read_colmap_points(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) xyz and (N, 3) uint8 colours of a model's 3D points."""
    pycolmap = _pycolmap()
    model, _ = find_model(path)
    rec = pycolmap.Reconstruction(str(model))
    xyz = np.array([p.xyz for p in rec.points3D.values()]).reshape(-1, 3)
    rgb = np.array([p.color for p in rec.points3D.values()], dtype=np.uint8).reshape(-1, 3)
    return xyz, rgb


def write_colmap(scene: Scene, folder: str | Path, binary: bool = True) -> Path:
    """Write the scene's cameras and poses as a COLMAP model (one PINHOLE/OPENCV camera per
    distinct intrinsics). Images are referenced by file name (not copied)."""
    pycolmap = _pycolmap()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rec = pycolmap.Reconstruction()
    camera_ids: dict[Intrinsics, int] = {}
    for index, frame in enumerate(scene.frames, start=1):
        k = frame.intrinsics
        if k not in camera_ids:
            camera_ids[k] = len(camera_ids) + 1
            if k.has_distortion:
                camera = pycolmap.Camera(model="OPENCV", width=k.w, height=k.h,
                                         params=[k.fl_x, k.fl_y, k.cx, k.cy, k.k1, k.k2, k.p1, k.p2],
                                         camera_id=camera_ids[k])
            else:
                camera = pycolmap.Camera(model="PINHOLE", width=k.w, height=k.h,
                                         params=[k.fl_x, k.fl_y, k.cx, k.cy], camera_id=camera_ids[k])
            rec.add_camera_with_trivial_rig(camera)
        image = pycolmap.Image(name=frame.image_path.name, camera_id=camera_ids[k], image_id=index)
        rec.add_image_with_trivial_frame(image, pycolmap.Rigid3d(c2w_to_cam_from_world(frame.c2w_array())))
    if binary:
        rec.write_binary(str(folder))
    else:
        rec.write_text(str(folder))
    return folder
