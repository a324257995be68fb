"""NeuS/IDR scenes: ``cameras_sphere.npz`` with ``world_mat_i`` and ``scale_mat_i``, ``image/``,
``mask/``.

Convention change: ``world_mat_i`` is a 4x4 projection ``P = K [R | t]`` (OpenCV camera,
world-to-camera). It is split by RQ decomposition of its left 3x3 block into an upper-triangular
K with a positive diagonal and a rotation R; the OpenCV camera-to-world is then converted to
OpenGL by flipping the camera's Y and Z axes. ``scale_mat_i`` maps the unit sphere into the
world; its translation and scale become the region's ``sphere_center`` and ``sphere_radius``.
Poses are returned in the world frame of ``world_mat`` (not the normalised one).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.linalg

from meshcast.errors import BadInputError
from meshcast.reporting import Reporter
from meshcast.scene.colmap import FLIP_YZ
from meshcast.scene.images import image_size
from meshcast.scene.model import Frame, Intrinsics, Region, Scene
from meshcast.scene.transforms import warn_missing


def decompose_projection(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3x4 projection -> (K 3x3 with K[2,2] = 1, OpenCV world-to-camera 4x4)."""
    K, R = scipy.linalg.rq(P[:3, :3])
    signs = np.diag(np.sign(np.diag(K)))
    K, R = K @ signs, signs @ R
    t = np.linalg.solve(K, P[:3, 3])
    if np.linalg.det(R) < 0:
        R, t = -R, -t
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = R, t
    return K / K[2, 2], w2c


def read_neus(folder: Path, reporter: Reporter | None = None) -> Scene:
    npz_path = folder / "cameras_sphere.npz"
    try:
        cams = np.load(npz_path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{npz_path}: cannot read ({exc})", code="input.scene_invalid") from exc
    images = sorted(p for p in (folder / "image").iterdir() if p.is_file()) if (folder / "image").is_dir() else []
    masks = sorted(p for p in (folder / "mask").iterdir() if p.is_file()) if (folder / "mask").is_dir() else []
    count = len([k for k in cams.files if k.startswith("world_mat_") and not k.startswith("world_mat_inv")])
    if count == 0:
        raise BadInputError(f"{npz_path}: no world_mat_i entries", code="input.scene_invalid")
    frames, missing, region = [], [], None
    for i in range(count):
        if f"world_mat_{i}" not in cams.files:
            raise BadInputError(f"{npz_path}: world_mat_{i} missing", code="input.scene_invalid")
        if i >= len(images):
            missing.append(f"image #{i}")
            continue
        K, w2c = decompose_projection(cams[f"world_mat_{i}"][:3, :4])
        c2w = np.linalg.inv(w2c) @ FLIP_YZ
        w, h = image_size(images[i])
        intrinsics = Intrinsics(fl_x=K[0, 0], fl_y=K[1, 1], cx=K[0, 2], cy=K[1, 2], w=w, h=h)
        frames.append(
            Frame(
                file_path=f"image/{images[i].name}", image_path=images[i].resolve(),
                c2w=tuple(map(tuple, c2w)), intrinsics=intrinsics,
                mask_path=masks[i].resolve() if i < len(masks) else None,
            )
        )
        if region is None and f"scale_mat_{i}" in cams.files:
            scale = cams[f"scale_mat_{i}"]
            region = Region(sphere_center=tuple(scale[:3, 3]), sphere_radius=float(scale[0, 0]))
    warn_missing(reporter, missing, count)
    return Scene(root=folder.resolve(), source="neus", frames=tuple(frames), region=region, skipped=tuple(missing))
