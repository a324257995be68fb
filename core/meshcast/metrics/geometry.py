"""Chamfer distance and F-score between meshes or point sets.

Definitions (both directions, Euclidean, not squared):
    acc  = mean over predicted samples p of min_g |p - g|     (accuracy, pred -> gt)
    comp = mean over ground-truth samples g of min_p |g - p|  (completeness, gt -> pred)
    chamfer = (acc + comp) / 2
    precision(tau) = fraction of predicted samples within tau of gt; recall likewise for gt;
    fscore = 2 P R / (P + R).
Meshes are sampled uniformly by area with a fixed seed, so a mesh against itself gives the same
samples and exactly 0. Each distance is also reported relative to the ground truth's
bounding-box diagonal.

Given the cameras of a capture, ``compare_meshes`` also reports the same metrics over the observed
surface only, as the DTU benchmark does with its observation masks: accuracy over the predicted
samples that some camera sees, completeness over the ground-truth samples that some camera sees
(each set occluded by its own surface). What no camera saw, such as the underside of an object
filmed from above, then counts in neither direction.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def sample_surface(mesh, count: int, seed: int = 0) -> np.ndarray:
    """(count, 3) points uniform by area on a trimesh mesh (point clouds pass through)."""
    if not hasattr(mesh, "faces") or len(getattr(mesh, "faces", [])) == 0:
        return np.asarray(mesh.vertices if hasattr(mesh, "vertices") else mesh, np.float64)
    rng = np.random.default_rng(seed)
    tris = np.asarray(mesh.vertices)[np.asarray(mesh.faces)]
    areas = 0.5 * np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)
    idx = rng.choice(len(tris), size=count, p=areas / areas.sum())
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tris[idx]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


def chamfer_fscore(pred: np.ndarray, gt: np.ndarray, tau: float, pred_mask: np.ndarray | None = None,
                   gt_mask: np.ndarray | None = None) -> dict[str, float]:
    """Metrics between (N, 3) predicted and (M, 3) ground-truth points; ``tau`` in scene units.
    The masks, when given, pick the samples each direction averages over (nearest points are
    still searched among all samples of the other set)."""
    d_pred = cKDTree(gt).query(pred if pred_mask is None else pred[pred_mask], workers=-1)[0]
    d_gt = cKDTree(pred).query(gt if gt_mask is None else gt[gt_mask], workers=-1)[0]
    precision = float(np.mean(d_pred < tau))
    recall = float(np.mean(d_gt < tau))
    diag = float(np.linalg.norm(gt.max(axis=0) - gt.min(axis=0)))
    acc, comp = float(d_pred.mean()), float(d_gt.mean())
    chamfer = 0.5 * (acc + comp)
    return {
        "chamfer": chamfer, "accuracy": acc, "completeness": comp,
        "chamfer_relative": chamfer / diag, "bbox_diagonal": diag,
        "precision": precision, "recall": recall,
        "fscore": 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall),
        "tau": tau, "tau_relative": tau / diag,
    }


def visible_from(points: np.ndarray, c2w: np.ndarray, K: np.ndarray, size: np.ndarray, spacing: float,
                 tolerance: float) -> np.ndarray:
    """Which of the (N, 3) ``points``, samples of one surface about ``spacing`` apart, some
    camera sees.

    ``c2w``: (C, 4, 4) OpenGL camera-to-world matrices (looking down -z) of pinhole cameras with
    (3, 3) or (C, 3, 3) intrinsics ``K`` in pixels (origin at the image's top-left corner) for
    images of ``size`` (w, h), one or (C, 2). Each camera splats the points into a depth buffer
    whose pixels are two sample spacings wide at the points' median depth, takes the nearest depth
    over each 3x3 block (so that even a steeply tilted surface in front leaves no gaps) and sees a
    point whose depth is within ``tolerance`` plus three pixels' width (a tilted surface's own
    change of depth across the block) of it. A surface less than about that far behind a visible
    one counts as seen too."""
    from scipy.ndimage import minimum_filter

    c2w = np.asarray(c2w, np.float64)
    K = np.broadcast_to(np.asarray(K, np.float64), (len(c2w), 3, 3))
    size = np.broadcast_to(np.asarray(size, np.float64), (len(c2w), 2))
    seen = np.zeros(len(points), bool)
    for m, k, (w, h) in zip(c2w, K, size):
        cam = (points - m[:3, 3]) @ m[:3, :3]  # world -> camera (rotation transposed)
        depth = -cam[:, 2]
        front = np.flatnonzero(depth > 1e-9)
        if front.size == 0:
            continue
        z = depth[front]
        focal = float(np.sqrt(k[0, 0] * k[1, 1]))
        scale = min(1.0, float(np.median(z)) / (2.0 * spacing) / focal)
        bw, bh = max(1, int(np.ceil(w * scale))), max(1, int(np.ceil(h * scale)))
        u = np.floor((k[0, 0] * cam[front, 0] / z + k[0, 2]) * scale).astype(np.int64)
        v = np.floor((k[1, 2] - k[1, 1] * cam[front, 1] / z) * scale).astype(np.int64)
        inside = (u >= 0) & (u < bw) & (v >= 0) & (v < bh)
        idx, z, pixel = front[inside], z[inside], v[inside] * bw + u[inside]
        nearest = np.full(bw * bh, np.inf)
        np.minimum.at(nearest, pixel, z)
        nearest = minimum_filter(nearest.reshape(bh, bw), size=3, mode="nearest").reshape(-1)
        seen[idx[z <= nearest[pixel] + tolerance + 3.0 * z / (focal * scale)]] = True
    return seen


def compare_meshes(pred_mesh, gt_mesh, samples: int = 200_000, tau_relative: float = 0.01, seed: int = 0,
                   cameras: dict | None = None) -> dict[str, float]:
    """Chamfer/F-score between two meshes; tau is a fraction of the gt bounding-box diagonal.

    ``cameras`` (``c2w``, ``K``, ``size`` as for ``visible_from``, in the meshes' frame) adds
    the observed-surface metrics under the same names with a ``visible_`` prefix, and the fraction
    of each surface seen (``visible_fraction_pred``/``_gt``)."""
    gt = sample_surface(gt_mesh, samples, seed)
    pred = sample_surface(pred_mesh, samples, seed)
    diag = float(np.linalg.norm(gt.max(axis=0) - gt.min(axis=0)))
    result = chamfer_fscore(pred, gt, tau_relative * diag)
    if cameras is not None:
        def seen(mesh, points):
            spacing = float(np.sqrt(mesh.area / len(points)))
            # depth tolerance: a quarter of the F-score's distance, far below the object's thickness
            return visible_from(points, cameras["c2w"], cameras["K"], cameras["size"], spacing,
                                0.25 * tau_relative * diag)

        see_pred, see_gt = seen(pred_mesh, pred), seen(gt_mesh, gt)
        observed = chamfer_fscore(pred, gt, tau_relative * diag, see_pred, see_gt)
        result.update({f"visible_{k}": observed[k] for k in ("chamfer", "accuracy", "completeness", "chamfer_relative",
                                                           "precision", "recall", "fscore")})
        result.update(visible_fraction_pred=float(see_pred.mean()), visible_fraction_gt=float(see_gt.mean()))
    return result


def cameras_of(scene) -> dict[str, np.ndarray]:
    """The ``cameras`` argument of ``compare_meshes`` from a scene's training frames (all its
    frames when it has no split), in its world frame."""
    frames = scene.split("train") or scene.frames
    return {"c2w": np.stack([f.c2w_array() for f in frames]),
            "K": np.stack([f.intrinsics.matrix() for f in frames]),
            "size": np.array([(f.intrinsics.w, f.intrinsics.h) for f in frames], np.float64)}
