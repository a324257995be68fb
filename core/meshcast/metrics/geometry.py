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


def chamfer_fscore(pred: np.ndarray, gt: np.ndarray, tau: float) -> dict[str, float]:
    """Metrics between (N, 3) predicted and (M, 3) ground-truth points; ``tau`` in scene units."""
    d_pred = cKDTree(gt).query(pred, workers=-1)[0]
    d_gt = cKDTree(pred).query(gt, workers=-1)[0]
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


def compare_meshes(pred_mesh, gt_mesh, samples: int = 200_000, tau_relative: float = 0.01, seed: int = 0) -> dict[str, float]:
    """Chamfer/F-score between two meshes; tau is a fraction of the gt bounding-box diagonal."""
    gt = sample_surface(gt_mesh, samples, seed)
    pred = sample_surface(pred_mesh, samples, seed)
    diag = float(np.linalg.norm(gt.max(axis=0) - gt.min(axis=0)))
    return chamfer_fscore(pred, gt, tau_relative * diag)
