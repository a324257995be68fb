"""Make, on this CPU machine, what the GPU benchmarks carry to a lent device machine: Python 3.12
wheels of meshcast's needs that its image lacks, and the evaluation data (never committed: the
three folders are ignored through .git/info/exclude, which this script extends).

    python benchmarks/prepare_device.py            # .whl/ and .devdata/lego_400 (~40 MiB, seconds)
    python benchmarks/prepare_device.py --bunny    # + .devdata/bunny_2orbit (Cycles on 2 cores: ~7 min)

``--bunny`` renders the Stanford bunny from two orbits (25 degrees above and below, 80 frames,
400 px, textured surroundings: benchmarks/orbit_capture.py), prepares it with ``meshcast prepare``
and keeps what training reads (images, transforms.json, points.ply: ~6 MiB, not COLMAP's database),
the true cameras (reference.json) and the mesh: the capture of benchmarks/RESULTS.md's bunny rows.
A device call then names ``.whl`` and ``.devdata`` in ``carry`` (64 MiB a call with the tree) and
starts with the install line of benchmarks/RESULTS.md (``pip install --target /tmp/site .whl/*.whl``).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
# not in the device image (its package list: the device tool's KINDS.md); one version each
WHEELS = ["pydantic==2.14.4", "pydantic-core==2.50.5", "annotated-types==0.8.0", "typing-inspection==0.4.5",
          "typing-extensions==4.16.0", "trimesh==5.2.0"]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64"]
IGNORED = ["/.whl/", "/.devdata/", "/.peer/"]


def ignore_locally() -> None:
    exclude = REPO / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    have = exclude.read_text().splitlines() if exclude.exists() else []
    missing = [line for line in IGNORED if line not in have]
    if missing:
        with exclude.open("a") as f:
            f.write("".join(line + "\n" for line in missing))


def wheels(out: Path) -> None:
    out.mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
            "3.12", "--implementation", "cp", "-d", str(out)]
    for platform in PLATFORMS:
        argv += ["--platform", platform]
    subprocess.run(argv + WHEELS, check=True)
    print(f"{out}: {len(list(out.glob('*.whl')))} wheels")


def lego(data: Path, out: Path) -> None:
    source = data / "lego_400"
    if not (source / "transforms_train.json").is_file():
        raise SystemExit(f"{source}: no NeRF-synthetic lego here (see ../shared/data/README.md); pass --data")
    target = out / "lego_400"
    if not target.exists():
        shutil.copytree(source, target)
    print(f"{target}: ready")


def bunny(data: Path, out: Path) -> None:
    mesh = data / "meshes" / "stanford-bunny.obj"
    if not mesh.is_file():
        raise SystemExit(f"{mesh}: not found; pass --data")
    target = out / "bunny_2orbit"
    if (target / "scene" / "transforms.json").is_file():
        print(f"{target}: ready")
        return
    with tempfile.TemporaryDirectory() as tmp:
        capture, scene = Path(tmp, "capture"), Path(tmp, "scene")
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "orbit_capture.py"), str(mesh), str(capture),
                        "--frames", "80", "--size", "400", "--world", "textured", "--elevation", "25", "-25"],
                       check=True)
        subprocess.run([sys.executable, "-m", "meshcast", "prepare", str(capture / "frames"), "--out", str(scene),
                        "--camera", "single"], check=True)
        partial = out / "bunny_2orbit.partial"  # whole or not at all
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "scene").mkdir(parents=True)
        shutil.copytree(scene / "images", partial / "scene" / "images")
        for name in ("transforms.json", "points.ply"):
            shutil.copy2(scene / name, partial / "scene" / name)
        shutil.copy2(capture / "reference.json", partial / "reference.json")
        shutil.copy2(mesh, partial / mesh.name)
        partial.rename(target)
    print(f"{target}: ready")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="../shared/data")
    parser.add_argument("--bunny", action="store_true", help="also render and prepare the two-orbit bunny capture")
    args = parser.parse_args()
    ignore_locally()
    wheels(REPO / ".whl")
    out = REPO / ".devdata"
    out.mkdir(exist_ok=True)
    lego(args.data, out)
    if args.bunny:
        bunny(args.data, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
