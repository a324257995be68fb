"""Install the meshcast Houdini package into a Houdini preferences folder.

``python install.py [PREFS_DIR]`` writes ``PREFS_DIR/packages/meshcast.json`` (default:
$HOUDINI_USER_PREF_DIR) with ``MESHCAST_HOUDINI`` set to this package's folder, because a
package file copied away from ``hda/houdini`` no longer has that folder as
``$HOUDINI_PACKAGE_PATH``. Paths use forward slashes, which Houdini reads on Linux, macOS and
Windows alike. Standard library only; the file is written atomically.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[3]  # .../hda/houdini
PACKAGE_FILE = PACKAGE_DIR / "meshcast.json"


def package_for_folder(folder: str | os.PathLike[str]) -> dict[str, object]:
    """The package JSON of meshcast.json with MESHCAST_HOUDINI pinned to ``folder``."""
    data = json.loads(PACKAGE_FILE.read_text(encoding="utf-8"))
    pinned = Path(folder).resolve().as_posix()
    data["env"] = [{"MESHCAST_HOUDINI": pinned} if "MESHCAST_HOUDINI" in entry else entry
                   for entry in data["env"]]
    return data


def install(prefs_dir: str | os.PathLike[str], folder: str | os.PathLike[str] = PACKAGE_DIR) -> Path:
    """Write ``prefs_dir/packages/meshcast.json``; returns its path."""
    packages = Path(prefs_dir) / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    target = packages / "meshcast.json"
    tmp = target.with_name(f".meshcast.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(package_for_folder(folder), indent=4) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    prefs = args[0] if args else os.environ.get("HOUDINI_USER_PREF_DIR", "")
    if not prefs:
        print("usage: python install.py HOUDINI_USER_PREF_DIR  (e.g. ~/houdini20.5)", file=sys.stderr)
        return 2
    print(f"wrote {install(prefs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
