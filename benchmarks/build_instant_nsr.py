"""Compile nerfacc 0.3.3's CUDA extension (the ray marcher and renderer instant-nsr-pl uses) once,
on the GPU machine, and keep the library so that benchmarks/peer_instant_nsr.py loads it without
compiling.

    python benchmarks/build_instant_nsr.py --out .peer/instant_nsr/prebuilt   # est. 1-2 min on an H100

(MAX_JOBS limits ninja's parallel compiles, e.g. MAX_JOBS=8 beside build_tcnn.py in the same call.)

nerfacc 0.3.x compiles its CUDA sources with ``torch.utils.cpp_extension.load`` the first time it
is used (``nerfacc/cuda/_backend.py``); this runs the same ``load`` on the same sources, with its
own flags (``-O3`` for the host and the device code), for the machine's GPU architecture only, and
copies ``nerfacc_cuda.so`` to --out with a ``build.json`` describing the build. nerfacc must be
importable (its wheel installed with ``--target``); its source is never part of this repository.
The system compiler is used (CC=/usr/bin/gcc CXX=/usr/bin/g++ where they exist and CC/CXX are not
set), as for tiny-cuda-nn (benchmarks/build_tcnn.py says why).

The unmodified sources do not compile with CUDA 13 (measured on the lent H100: CUB 3 dropped
``cub::Equality``, which ``render_transmittance_cub.cu`` names), so the build always runs from a
temporary copy in which that one name is replaced by an equivalent functor; ``build.json`` lists the
replacement. The installed package is never modified. Measured: 206 s on the lent H100 (beside the
tiny-cuda-nn build, MAX_JOBS=8).
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

NAME = "nerfacc_cuda"  # the module name nerfacc/cuda/_backend.py gives its extension
EQUAL = ("struct MeshcastKeyEqual {\n"
         "    template <typename T>\n"
         "    __host__ __device__ __forceinline__ bool operator()(const T &a, const T &b) const { return a == b; }\n"
         "};\n")


def csrc_dir() -> Path:
    spec = importlib.util.find_spec("nerfacc")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("nerfacc is not importable (install .peer/instant_nsr/wheels/nerfacc-0.3.3-*.whl first)")
    return Path(next(iter(spec.submodule_search_locations))) / "cuda" / "csrc"


def patched_copy(src: Path, dst: Path) -> list[str]:
    """Copy csrc to dst, replacing CUB's removed equality functor; returns what was replaced."""
    shutil.copytree(src, dst)
    changes = []
    for path in sorted(dst.glob("*.cu")):
        text = path.read_text()
        if "cub::Equality()" in text:
            text = text.replace('#include "include/helpers_cuda.h"', '#include "include/helpers_cuda.h"\n' + EQUAL, 1)
            text = text.replace("cub::Equality()", "MeshcastKeyEqual()")
            path.write_text(text)
            changes.append(f"{path.name}: cub::Equality() -> MeshcastKeyEqual() (a == b)")
    return changes


def build(sources: list[str], build_dir: Path) -> Path:
    from torch.utils.cpp_extension import load

    build_dir.mkdir(parents=True, exist_ok=True)
    module = load(name=NAME, sources=sources, extra_cflags=["-O3"], extra_cuda_cflags=["-O3"],
                  build_directory=str(build_dir), verbose=False)
    return Path(module.__file__)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for nerfacc_cuda.so and build.json")
    args = parser.parse_args()
    for var, path in (("CC", "/usr/bin/gcc"), ("CXX", "/usr/bin/g++")):
        if var not in os.environ and Path(path).exists():
            os.environ[var] = path
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: nothing to build", file=sys.stderr)
        return 2
    major, minor = torch.cuda.get_device_capability()
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", f"{major}.{minor}")
    src = csrc_dir()
    report = {"torch": torch.__version__, "cuda": torch.version.cuda, "arch": os.environ["TORCH_CUDA_ARCH_LIST"],
              "cc": os.environ.get("CC"), "cxx": os.environ.get("CXX"), "nerfacc_csrc": str(src), "patched": False}
    start = time.time()
    work = Path(tempfile.mkdtemp(prefix="nerfacc_build_"))
    # nerfacc 0.3.3 calls cub::Equality(), which CUDA 13's CUB no longer has (on the lent H100,
    # CUDA 13.0: the unmodified sources fail in render_transmittance_cub.cu), so the sources are
    # built from a copy with an equal functor in its place whenever they call it
    changes = patched_copy(src, work / "csrc")
    report["patched"] = bool(changes)
    report["changes"] = changes
    library = build(sorted(glob.glob(str(work / "csrc" / "*.cu"))), work / "build")
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(library, args.out / f"{NAME}.so")
    report.update(seconds=round(time.time() - start, 1), bytes=(args.out / f"{NAME}.so").stat().st_size)
    (args.out / "build.json").write_text(json.dumps(report, indent=1))
    print(f"nerfacc build: {json.dumps({k: v for k, v in report.items() if k != 'unpatched_error'})}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
