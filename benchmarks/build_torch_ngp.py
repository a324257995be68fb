"""Compile torch-ngp's CUDA extensions (the hash-grid encoder, the ray marcher and the spherical
harmonics encoder) from a checkout of its source, in parallel, on the GPU machine; the libraries are
copied to --out so that a later call can load them without compiling (benchmarks/peer_torch_ngp.py).

    python benchmarks/build_torch_ngp.py PEER_SRC --out DIR

PEER_SRC holds torch-ngp's gridencoder/, raymarching/ and shencoder/ folders (github:ashawkey/torch-ngp;
its source is never part of this repository). Flags are its own except C++17, which current PyTorch
headers need (its backends ask for C++14), and the target architecture of the machine's GPU.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

EXTENSIONS = {  # module name -> (folder, sources)
    "_gridencoder": ("gridencoder", ["gridencoder.cu", "bindings.cpp"]),
    "_raymarching": ("raymarching", ["raymarching.cu", "bindings.cpp"]),
    "_shencoder": ("shencoder", ["shencoder.cu", "bindings.cpp"]),
}

BUILD = """
import os, sys, torch
from torch.utils.cpp_extension import load
major, minor = torch.cuda.get_device_capability()
os.environ.setdefault("TORCH_CUDA_ARCH_LIST", f"{major}.{minor}")
half = ["-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__", "-U__CUDA_NO_HALF2_OPERATORS__"]
name, build, *sources = sys.argv[1:]
ext = load(name=name, sources=sources, extra_cflags=["-O3", "-std=c++17"],
           extra_cuda_cflags=["-O3", "-std=c++17", *half], build_directory=build, verbose=False)
print(ext.__file__)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    procs = {}
    for name, (folder, sources) in EXTENSIONS.items():
        build = Path("/tmp/torch_ngp_build") / name
        build.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-c", BUILD, name, str(build), *[str(args.src / folder / "src" / s) for s in sources]]
        procs[name] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    report = {}
    for name, proc in procs.items():
        out, err = proc.communicate()
        if proc.returncode == 0:
            library = Path(out.strip().splitlines()[-1])
            shutil.copy(library, args.out / library.name)
            report[name] = {"ok": True, "seconds": round(time.time() - t0, 1), "bytes": library.stat().st_size}
        else:
            report[name] = {"ok": False, "error": err[-3000:]}
        print(name, json.dumps(report[name])[:3000], flush=True)
    (args.out / "build.json").write_text(json.dumps(report, indent=1))
    sys.exit(0 if all(r["ok"] for r in report.values()) else 1)


if __name__ == "__main__":
    main()
