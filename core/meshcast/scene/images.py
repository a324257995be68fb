"""Reading images and masks, with errors that name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from meshcast.errors import BadInputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr")


def load_image(path: str | Path) -> np.ndarray:
    """Read an image as float32 HxWxC in [0, 1] (C = 3, or 4 when it has alpha).

    EXIF orientation is applied; 8- and 16-bit files are scaled by their own maximum.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: image file not found", code="input.image_missing")
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16B", "I"):
                array = np.asarray(im, dtype=np.float32) / 65535.0
            else:
                if im.mode not in ("RGB", "RGBA"):
                    im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
                array = np.asarray(im, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BadInputError(
            f"{path}: cannot read image ({exc})",
            hint="the file is corrupt or not an image; re-export it or remove the frame",
            code="input.image_unreadable",
        ) from exc
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return array


def load_mask(path: str | Path) -> np.ndarray:
    """A mask image as float32 HxW in [0, 1] (white = object); alpha is used when present."""
    image = load_image(path)
    return image[..., 3] if image.shape[2] == 4 else image[..., :3].mean(axis=2)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file header, after EXIF orientation."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError) as exc:
        raise BadInputError(f"{path}: cannot read image header ({exc})", code="input.image_unreadable") from exc
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)
