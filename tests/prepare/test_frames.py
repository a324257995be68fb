"""Video frame selection on a real MP4 (imageio-ffmpeg): windows by count or by rate, the
sharpest frame of each window kept."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from meshcast.prepare.frames import ingest_video, sharpness
from meshcast.reporting import Reporter

FPS = 24


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """48 frames at 24 fps of one texture, every frame blurred except frame 3 of each 8-frame
    block (the 'sharp' ones: 6 of them), each frame tagged by a grey bar whose level is its index."""
    imageio = pytest.importorskip("imageio.v2")
    pytest.importorskip("imageio_ffmpeg")
    rng = np.random.default_rng(0)
    texture = Image.fromarray((rng.random((128, 128, 3)) * 255).astype(np.uint8))
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with imageio.get_writer(str(path), fps=FPS, codec="libx264", quality=9, macro_block_size=16) as writer:
        for index in range(48):
            frame = texture if index % 8 == 3 else texture.filter(ImageFilter.GaussianBlur(3))
            pixels = np.array(frame)
            pixels[:8] = index * 5  # the frame's index, readable after compression
            writer.append_data(pixels)
    return path


def _indices(folder) -> list[int]:
    """Frame indices from the grey bar (its top rows: the bar is 8 px of 128, or 4 after downscaling)."""
    return [round(float(np.asarray(Image.open(p))[:3].mean()) / 5) for p in sorted(folder.glob("*.jpg"))]


def test_frames_by_rate_keep_the_sharpest_of_each_window(video, tmp_path):
    got = ingest_video(video, tmp_path / "rate", frames=150, max_size=None, reporter=Reporter(), fps=3)
    assert got.source_count == 48 and len(got.names) == 6  # 2 s of video at 3 per second
    assert _indices(tmp_path / "rate") == [3, 11, 19, 27, 35, 43]  # the sharp frame of each window
    kept = Image.open(tmp_path / "rate" / got.names[0])
    assert sharpness(np.asarray(kept)) > 2 * sharpness(np.asarray(kept.filter(ImageFilter.GaussianBlur(3))))


def test_frames_by_count(video, tmp_path):
    got = ingest_video(video, tmp_path / "count", frames=12, max_size=64, reporter=Reporter())
    assert len(got.names) == 12
    indices = _indices(tmp_path / "count")
    assert indices == sorted(indices) and all(i // 4 == w for w, i in enumerate(indices))  # one per 4-frame window
    assert max(Image.open(p).size[0] for p in (tmp_path / "count").glob("*.jpg")) == 64


def test_bad_rate_is_refused(meshcast_argv, video, tmp_path):
    import subprocess

    proc = subprocess.run([*meshcast_argv, "prepare", str(video), "--out", str(tmp_path / "s"), "--fps", "0"],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 2 and "--fps must be above 0" in proc.stderr
    assert not (tmp_path / "s").exists()
    with pytest.raises(SystemExit):  # --frames and --fps together: argparse refuses
        from meshcast.cli import build_parser

        build_parser(["prepare"]).parse_args(["prepare", str(video), "--out", "x", "--frames", "9", "--fps", "2"])
