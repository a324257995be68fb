"""Training pixels: every image of a split, downscaled, packed into one array of pixels.

Frames may differ in size and intrinsics (several cameras): pixels of all images are
concatenated, and a pixel index maps back to (frame, u, v) through per-frame offsets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from meshcast.reporting import Reporter, report_progress
from meshcast.scene.images import load_image, load_mask
from meshcast.scene.model import Frame, Scene
from meshcast.scene.normalize import Similarity


@dataclass
class PixelData:
    """Packed pixels of one split, with the cameras in the unit frame."""

    rgba: torch.Tensor  # (P, 4) uint8; alpha 255 where there is no mask
    offsets: torch.Tensor  # (F + 1,) int64 start of each frame's pixels
    widths: torch.Tensor  # (F,) int64
    K: torch.Tensor  # (F, 4) fl_x fl_y cx cy of the (downscaled) images
    dist: torch.Tensor | None  # (F, 4) k1 k2 p1 p2; None when no image is distorted (no undistortion to run)
    c2w: torch.Tensor  # (F, 4, 4) unit frame, OpenGL
    has_mask: bool
    frames: tuple[Frame, ...]

    def to(self, device: torch.device) -> PixelData:
        return PixelData(self.rgba.to(device), self.offsets.to(device), self.widths.to(device), self.K.to(device),
                         None if self.dist is None else self.dist.to(device), self.c2w.to(device), self.has_mask, self.frames)

    def sample(self, n: int, generator: torch.Generator | None = None):
        """n random pixels -> (frame index, u, v (pixel centres), rgba float [0, 1])."""
        device = self.rgba.device
        idx = torch.randint(0, self.rgba.shape[0], (n,), device=device, generator=generator)
        frame = torch.searchsorted(self.offsets, idx, right=True) - 1
        local = idx - self.offsets[frame]
        w = self.widths[frame]
        u = (local % w).float() + 0.5
        v = torch.div(local, w, rounding_mode="floor").float() + 0.5
        return frame, u, v, self.rgba[idx].float() / 255.0


def scale_for(frame: Frame, max_size: int | None) -> float:
    longest = max(frame.intrinsics.w, frame.intrinsics.h)
    return 1.0 if max_size is None or longest <= max_size else max_size / longest


def load_frame_rgba(frame: Frame, max_size: int | None) -> np.ndarray:
    """(h, w, 4) float image at the training resolution; alpha from the image or mask file."""
    from PIL import Image

    image = load_image(frame.image_path)
    if image.shape[2] == 3:
        alpha = load_mask(frame.mask_path) if frame.mask_path else np.ones(image.shape[:2], np.float32)
        image = np.concatenate([image, alpha[..., None]], -1)
    k = frame.intrinsics.scaled(scale_for(frame, max_size))
    if image.shape[1] != k.w or image.shape[0] != k.h:
        pil = Image.fromarray((image * 255 + 0.5).astype(np.uint8), "RGBA").resize((k.w, k.h), Image.BOX)
        image = np.asarray(pil, np.float32) / 255.0
    return image


def load_pixels(scene: Scene, frames: tuple[Frame, ...], similarity: Similarity, max_size: int | None,
                reporter: Reporter | None = None) -> PixelData:
    chunks, offsets, widths, Ks, dists, has_mask = [], [0], [], [], [], False
    for i, frame in enumerate(frames):
        image = load_frame_rgba(frame, max_size)
        has_mask = has_mask or bool((image[..., 3] < 0.999).any())
        chunks.append((image.reshape(-1, 4) * 255 + 0.5).astype(np.uint8))
        offsets.append(offsets[-1] + chunks[-1].shape[0])
        k = frame.intrinsics.scaled(scale_for(frame, max_size))
        widths.append(k.w)
        Ks.append([k.fl_x, k.fl_y, k.cx, k.cy])
        dists.append([k.k1, k.k2, k.p1, k.p2])
        report_progress(reporter, "load images", i + 1, len(frames))
    c2w = similarity.c2w_to_unit(np.stack([f.c2w_array() for f in frames]))
    return PixelData(
        rgba=torch.from_numpy(np.concatenate(chunks)), offsets=torch.tensor(offsets, dtype=torch.int64),
        widths=torch.tensor(widths, dtype=torch.int64), K=torch.tensor(Ks, dtype=torch.float32),
        dist=torch.tensor(dists, dtype=torch.float32) if np.any(dists) else None, c2w=torch.tensor(c2w, dtype=torch.float32),
        has_mask=has_mask, frames=frames,
    )
