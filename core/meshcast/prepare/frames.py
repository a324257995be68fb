"""Images for structure from motion: photos (EXIF orientation applied) or the sharpest frames of a
video, downscaled to a maximum size and written as numbered files into one folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meshcast.errors import BadInputError, MissingDependencyError
from meshcast.reporting import Reporter
from meshcast.scene.images import IMAGE_SUFFIXES

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg")


@dataclass(frozen=True)
class Ingested:
    """What went into the image folder: file names in capture order, and what was skipped."""

    names: tuple[str, ...]
    skipped: tuple[str, ...]  # unreadable inputs, by file name
    source_count: int  # photos found, or video frames decoded
    kind: str  # "photos" | "video"


def is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image (higher = sharper), on at most ~256 px."""
    grey = rgb[..., :3].astype(np.float32).mean(axis=2)
    step = max(1, max(grey.shape) // 256)
    g = grey[::step, ::step]
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


def _resized(image, max_size: int | None):
    from PIL import Image

    if max_size and max(image.size) > max_size:
        scale = max_size / max(image.size)
        size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
        return image.resize(size, Image.LANCZOS)
    return image


def _save(image, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    image.convert("RGB").save(tmp, format="JPEG", quality=95)
    tmp.replace(path)


def ingest_photos(folder: Path, out: Path, max_size: int | None, reporter: Reporter) -> Ingested:
    """Copy every readable photo of ``folder`` (sorted by name) into ``out`` as JPEG, upright."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BadInputError(f"{folder}: no images found ({', '.join(IMAGE_SUFFIXES)})", code="input.no_frames",
                            hint="point prepare at a folder of photos or at a video file")
    out.mkdir(parents=True, exist_ok=True)
    names, skipped, used = [], [], set()
    for index, path in enumerate(files):
        reporter.progress("images", index, len(files), f"reading {path.name}")
        try:
            with Image.open(path) as im:
                im.load()
                image = _resized(ImageOps.exif_transpose(im), max_size)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            reporter.warning(f"{path}: cannot read image ({exc}); skipped", code="input.image_unreadable")
            skipped.append(path.name)
            continue
        name = f"{path.stem}.jpg"
        if name in used:  # a.png and a.jpg side by side
            name = f"{path.stem}_{index:04d}.jpg"
        used.add(name)
        _save(image, out / name)
        names.append(name)
    return Ingested(tuple(names), tuple(skipped), len(files), "photos")


def _video_reader(path: Path):
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (the plugin imageio needs for video)
    except ImportError as exc:
        raise MissingDependencyError("imageio-ffmpeg", "video", "Reading video files") from exc
    try:
        return imageio.get_reader(str(path), "ffmpeg")
    except Exception as exc:  # imageio raises OSError/RuntimeError for unreadable files
        raise BadInputError(f"{path}: cannot open video ({exc})", code="input.video_unreadable") from exc


def ingest_video(path: Path, out: Path, frames: int, max_size: int | None, reporter: Reporter,
                 fps: float | None = None) -> Ingested:
    """Keep the sharpest frame of each window: ``frames`` equal windows over the video, or with
    ``fps`` one window per 1/fps seconds of video."""
    from PIL import Image

    reader = _video_reader(path)
    try:
        total = reader.count_frames()
    except (OSError, RuntimeError, ValueError):  # some containers do not say; decode everything
        total = 0
    if fps:
        video_fps = float(reader.get_meta_data().get("fps") or 0.0)
        if video_fps <= 0:
            reader.close()
            raise BadInputError(f"{path}: the video does not say its frame rate, so --fps cannot be used",
                                hint="use --frames N instead", code="input.video_no_fps")
        per_window = max(1.0, video_fps / fps)

        def window_of(index: int) -> int:
            return int(index // per_window)
    else:
        windows = max(1, min(frames, total)) if total else frames

        def window_of(index: int) -> int:
            return index * windows // total if total else index % windows
    best: dict[int, tuple[float, np.ndarray]] = {}
    decoded = 0
    try:
        for index, rgb in enumerate(reader):
            decoded += 1
            window = window_of(index)
            score = sharpness(rgb)
            if window not in best or score > best[window][0]:
                best[window] = (score, np.asarray(rgb))
            if total and index % 10 == 0:
                reporter.progress("frames", index, total, f"frame {index} of {total}")
    except Exception as exc:  # a truncated file ends the stream with an error
        if decoded == 0:
            raise BadInputError(f"{path}: cannot decode video ({exc})", code="input.video_unreadable") from exc
        reporter.warning(f"{path}: decoding stopped after {decoded} frames ({exc}); using those")
    finally:
        reader.close()
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for rank, window in enumerate(sorted(best)):
        name = f"frame_{rank:05d}.jpg"
        _save(_resized(Image.fromarray(best[window][1]), max_size), out / name)
        names.append(name)
    return Ingested(tuple(names), (), decoded, "video")
