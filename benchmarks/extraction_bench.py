"""Host-side cost of extraction: marching cubes of an analytic signed distance field (a sphere of
radius 0.3 in the unit box, SDF mode with the narrow band), so that the field costs almost nothing
and what is timed is the grid, the band, the interpolation, marching cubes and the welding.

    python benchmarks/extraction_bench.py --resolution 1024 [--device cuda] [--meshing threads] [--json OUT.json]

The same code path as ``meshcast extract`` on an SDF run (``marching_cubes_blocks(...,
skip_far=True)``, blocks of 128 cells); a trained field adds its own evaluation time on top
(gpu_reconstruction.py times that).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from meshcast.extract import marching_cubes as mc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, nargs="+", default=[1024])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--meshing", choices=["auto", "threads", "processes"], default="auto",
                        help="where marching cubes runs (auto: processes from 1024^3 on 8+ cores)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.meshing != "auto":  # the thresholds of marching_cubes._meshing_pool, forced one way
        mc.PROCESS_MIN_RESOLUTION, mc.PROCESS_MIN_CPUS = (0, 1) if args.meshing == "processes" else (2**31, 2**31)
    rows = []
    for n in args.resolution:
        start = time.perf_counter()
        v, f = mc.marching_cubes_blocks(lambda x: (x - 0.5).norm(dim=-1) - 0.3, n, args.block, np.zeros(3), np.ones(3),
                                     device=args.device, skip_far=True)
        seconds = time.perf_counter() - start
        radius = np.linalg.norm(v - 0.5, axis=1)
        rows.append({"resolution": n, "seconds": round(seconds, 2), "vertices": len(v), "faces": len(f),
                     "radius_error_max": float(np.abs(radius - 0.3).max())})
        print(json.dumps(rows[-1]), flush=True)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": platform.node(), "cpus": os.cpu_count(),
              "device": args.device, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "torch": torch.__version__, "block": args.block, "meshing": args.meshing, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
