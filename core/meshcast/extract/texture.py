"""Colours for extracted meshes: per vertex, or baked into a UV atlas (xatlas)."""
from __future__ import annotations

import numpy as np
import torch

from meshcast.errors import MissingDependencyError


def query_colors(field, points_unit: np.ndarray, device, chunk: int = 65536) -> np.ndarray:
    """Colours seen looking along the negative normal (straight at the surface), as
    Neuralangelo does: (N, 3) unit-frame points -> (N, 3) RGB in [0, 1]."""
    out = []
    for part in np.array_split(points_unit, max(1, int(np.ceil(len(points_unit) / chunk)))):
        x = torch.from_numpy(part).float().to(device)
        normals = field.normals(x).detach()
        with torch.no_grad():
            out.append(field.color(x, normals, -normals).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 3))


def uv_atlas(vertices: np.ndarray, faces: np.ndarray):
    """xatlas charts: (new vertices (V', 3), faces (F, 3), uv (V', 2))."""
    try:
        import xatlas
    except ImportError as exc:
        raise MissingDependencyError("xatlas", "uv", "--texture uv") from exc
    vmapping, indices, uvs = xatlas.parametrize(vertices.astype(np.float32), faces.astype(np.uint32))
    return vertices[vmapping], indices.astype(np.int64), uvs.astype(np.float64)


def rasterize_uv(uv: np.ndarray, faces: np.ndarray, size: int):
    """For each texel centre, the triangle that covers it and its barycentric coordinates.

    Returns (texel rows, cols, face index, barycentrics (T, 3)). Texel row 0 is v = 1 (top of
    the image), as OBJ/glTF viewers expect."""
    from scipy.spatial import cKDTree

    tri = uv[faces]  # (F, 3, 2)
    centroids = tri.mean(1)
    rows, cols = np.mgrid[0:size, 0:size]
    texel = np.stack([(cols + 0.5) / size, 1.0 - (rows + 0.5) / size], -1).reshape(-1, 2)
    k = min(12, len(faces))
    _, cand = cKDTree(centroids).query(texel, k=k, workers=-1)
    cand = cand.reshape(len(texel), k)
    best = np.full(len(texel), -1)
    bary = np.zeros((len(texel), 3))
    for c in range(k):
        t = tri[cand[:, c]]
        v0, v1 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
        v2 = texel - t[:, 0]
        den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
        den = np.where(np.abs(den) < 1e-20, 1e-20, den)
        b1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
        b2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
        inside = (b1 >= -1e-6) & (b2 >= -1e-6) & (b1 + b2 <= 1 + 1e-6) & (best < 0)
        best[inside] = cand[inside, c]
        bary[inside] = np.stack([1 - b1 - b2, b1, b2], -1)[inside]
    hit = best >= 0
    return rows.reshape(-1)[hit], cols.reshape(-1)[hit], best[hit], bary[hit]


def bake_texture(field, vertices_unit: np.ndarray, faces: np.ndarray, uv: np.ndarray, size: int, device) -> np.ndarray:
    """(size, size, 3) texture: the colour field sampled at each texel's surface point, with
    empty texels filled from the nearest covered texel (no dark seams when mip-mapped)."""
    from scipy.ndimage import distance_transform_edt

    rows, cols, face, bary = rasterize_uv(uv, faces, size)
    points = (vertices_unit[faces[face]] * bary[..., None]).sum(1)
    image = np.zeros((size, size, 3), np.float32)
    image[rows, cols] = query_colors(field, points, device)
    covered = np.zeros((size, size), bool)
    covered[rows, cols] = True
    if covered.any():
        _, (ri, ci) = distance_transform_edt(~covered, return_indices=True)
        image = image[ri, ci]
    return image
