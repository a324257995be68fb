"""Image metrics on float images in [0, 1]: PSNR and SSIM."""
from __future__ import annotations

import numpy as np


def psnr(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB for data range 1 (optionally over ``mask`` > 0.5)."""
    err = (np.asarray(pred, np.float64) - np.asarray(gt, np.float64)) ** 2
    if mask is not None:
        err = err[np.asarray(mask) > 0.5]
    mse = float(err.mean())
    return float("inf") if mse == 0 else -10.0 * np.log10(mse)


def ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    """Structural similarity (scikit-image, Gaussian window off, data range 1) of HxWxC images."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(np.asarray(pred, np.float64), np.asarray(gt, np.float64),
                                       data_range=1.0, channel_axis=-1))
