"""Build tiny-cuda-nn's PyTorch bindings (encodings only) from its own source, in place.

    python benchmarks/build_tcnn.py SRC [--arch 90] [--jobs 16]

SRC is a tiny-cuda-nn checkout with its ``dependencies/fmt`` submodule (the encodings need no
CUTLASS). The build runs SRC/bindings/torch/setup.py ``build_ext --inplace --no-networks`` for one
GPU architecture; afterwards ``PYTHONPATH=SRC/bindings/torch`` makes ``import tinycudann`` work
and ``HashGrid(backend="auto")`` use it on CUDA. tiny-cuda-nn's source never enters this
repository (benchmarks/RESULTS.md names the commit that was built).

setup.py imports ``pkg_resources`` for its version parsing; where setuptools no longer ships it,
a one-line stand-in built on ``packaging`` is put on the path for the build only.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path, help="tiny-cuda-nn source folder")
    parser.add_argument("--arch", default="90", help="TCNN_CUDA_ARCHITECTURES (90: H100/H200)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 4)
    args = parser.parse_args()
    bindings = args.src / "bindings" / "torch"
    if not (bindings / "setup.py").is_file() or not (args.src / "dependencies" / "fmt" / "src").is_dir():
        print(f"{args.src}: not a tiny-cuda-nn checkout with dependencies/fmt", file=sys.stderr)
        return 2
    (bindings / "tinycudann_bindings").mkdir(exist_ok=True)  # build_ext --inplace copies the library here
    env = {**os.environ, "TCNN_CUDA_ARCHITECTURES": args.arch, "MAX_JOBS": str(args.jobs)}
    with tempfile.TemporaryDirectory() as shim:
        probe = subprocess.run([sys.executable, "-c", "import pkg_resources"], check=False, capture_output=True)
        if probe.returncode != 0:
            Path(shim, "pkg_resources.py").write_text("from packaging.version import parse as parse_version\n")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (shim, env.get("PYTHONPATH", "")) if p)
        start = time.time()
        proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "--no-networks"],
                              cwd=bindings, env=env, check=False)
    built = sorted(bindings.glob("tinycudann_bindings/_*_C*.so"))
    print(f"tiny-cuda-nn build: exit {proc.returncode} in {time.time() - start:.0f} s; "
          f"{[str(p) for p in built] or 'no library'}", flush=True)
    return proc.returncode if built else 1


if __name__ == "__main__":
    sys.exit(main())
