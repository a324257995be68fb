"""Image width and height from a PNG or JPEG header (no bpy, no image library)."""
from __future__ import annotations

import struct
from pathlib import Path

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) in pixels; raises ValueError for other formats or a broken header.
    EXIF orientation is not applied (meshcast's prepare writes upright images)."""
    with open(path, "rb") as fh:
        head = fh.read(26)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return int(width), int(height)
        if head[:2] == b"\xff\xd8":
            fh.seek(2)
            return _jpeg_size(fh, path)
    raise ValueError(f"{path}: not a PNG or JPEG image")


def _jpeg_size(fh, path) -> tuple[int, int]:
    while True:
        marker = fh.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise ValueError(f"{path}: broken JPEG header")
        code = marker[1]
        if code == 0xFF:  # fill byte
            fh.seek(-1, 1)
            continue
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue
        (length,) = struct.unpack(">H", fh.read(2))
        if code in _JPEG_SOF:
            height, width = struct.unpack(">xHH", fh.read(5))
            return int(width), int(height)
        fh.seek(length - 2, 1)
