"""Mesh pictures and silhouettes without a rasterizer: dense surface samples splatted through a
z-buffer into a camera (OpenGL c2w, pinhole intrinsics). Used by the benchmarks."""
from __future__ import annotations

import numpy as np


def splat(mesh, c2w: np.ndarray, K: tuple[float, float, float, float], w: int, h: int, samples: int = 3_000_000,
          seed: int = 0, light=(0.3, -0.4, 0.85)):
    """Returns (silhouette bool (h, w), shaded rgb (h, w, 3) float) of ``mesh`` seen by the camera."""
    from scipy.ndimage import binary_closing, binary_fill_holes

    rng = np.random.default_rng(seed)
    faces = np.asarray(mesh.faces)
    tris = np.asarray(mesh.vertices)[faces]
    areas = np.asarray(mesh.area_faces)
    idx = rng.choice(len(faces), samples, p=areas / areas.sum())
    u, v = rng.random(samples), rng.random(samples)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tris[idx]
    pts = t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
    normals = np.asarray(mesh.face_normals)[idx]
    colors = None
    if hasattr(mesh.visual, "vertex_colors") and len(mesh.visual.vertex_colors) == len(mesh.vertices):
        colors = np.asarray(mesh.visual.vertex_colors)[faces[idx, 0], :3] / 255.0
    w2c = np.linalg.inv(c2w)
    cam = pts @ w2c[:3, :3].T + w2c[:3, 3]
    z = -cam[:, 2]
    front = z > 1e-6
    px = (K[0] * cam[:, 0] / np.maximum(z, 1e-9) + K[2]).astype(np.int64)
    py = (K[3] - K[1] * cam[:, 1] / np.maximum(z, 1e-9)).astype(np.int64)
    ok = front & (px >= 0) & (px < w) & (py >= 0) & (py < h)
    pix = py[ok] * w + px[ok]
    depth = np.full(h * w, np.inf)
    np.minimum.at(depth, pix, z[ok])
    visible = np.zeros(len(pts), bool)
    vis_idx = np.nonzero(ok)[0][np.isclose(z[ok], depth[pix], rtol=1e-6)]
    visible[vis_idx] = True
    sil = binary_fill_holes(binary_closing((depth < np.inf).reshape(h, w), iterations=2))
    shade = 0.3 + 0.7 * np.clip(normals @ (np.asarray(light) / np.linalg.norm(light)), 0, 1)
    base = colors if colors is not None else np.full((len(pts), 3), 0.8)
    rgb = np.ones((h * w, 3))
    rgb[(py * w + px)[visible]] = base[visible] * shade[visible, None]
    return sil, rgb.reshape(h, w, 3)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))
