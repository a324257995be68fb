"""Build the installable add-on zip (standard library only).

    python addons/blender/build.py [--out DIR]      # -> DIR/meshcast_blender-<version>.zip

The zip holds one folder, ``meshcast_blender/``: the add-on's modules, ``blender_manifest.toml``
(Blender 4.2+ installs it as an extension; older Blender installs the same zip as a legacy add-on
through ``bl_info``) and ``jobs_protocol/``, a copy of core/meshcast/jobs (the stdlib-only job
protocol) whose ``meshcast.jobs`` imports are made relative. Nothing else from meshcast, and no
torch, goes in. The archive is written beside its target and renamed into place.
"""
from __future__ import annotations

import argparse
import os
import re
import tempfile
import tomllib
import zipfile
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parent
CORE_JOBS = ADDON_DIR.parents[1] / "core" / "meshcast" / "jobs"
PACKAGE = "meshcast_blender"
VENDORED = "jobs_protocol"
SKIP_DIRS = {"__pycache__", "tools", VENDORED}
SKIP_FILES = {"build.py"}
FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # reproducible archives


def vendored_source(text: str, name: str) -> str:
    """``text`` of a core/meshcast/jobs module with its package imports made relative."""
    text = re.sub(r"^(\s*)from meshcast\.jobs\.(\w+) import ", r"\1from .\2 import ", text, flags=re.MULTILINE)
    text = re.sub(r"^(\s*)from meshcast\.jobs import ", r"\1from . import ", text, flags=re.MULTILINE)
    leftover = re.findall(r"^\s*(?:from|import)\s+meshcast\b.*$", text, flags=re.MULTILINE)
    if leftover:
        raise RuntimeError(f"{name}: imports outside the job protocol cannot be vendored: {leftover}")
    return text


def addon_members() -> list[tuple[str, bytes]]:
    """(path inside the zip, content) of every file that goes in, sorted."""
    members = []
    for path in sorted(ADDON_DIR.rglob("*")):
        rel = path.relative_to(ADDON_DIR)
        if not path.is_file() or rel.name in SKIP_FILES or SKIP_DIRS & set(rel.parts[:-1]) or path.suffix == ".pyc":
            continue
        members.append((f"{PACKAGE}/{rel.as_posix()}", path.read_bytes()))
    for path in sorted(CORE_JOBS.glob("*.py")):
        text = vendored_source(path.read_text(encoding="utf-8"), path.name)
        members.append((f"{PACKAGE}/{VENDORED}/{path.name}", text.encode("utf-8")))
    return members


def addon_version() -> str:
    return tomllib.loads((ADDON_DIR / "blender_manifest.toml").read_text(encoding="utf-8"))["version"]


def build_zip(out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PACKAGE}-{addon_version()}.zip"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in addon_members():
                info = zipfile.ZipInfo(name, FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="dist", help="output folder (default ./dist)")
    args = parser.parse_args(argv)
    print(build_zip(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
