"""Count the sm_90 machine instructions (SASS) and global loads of the Triton encoding kernels, on
a machine without a GPU: Triton compiles for an H100/H200 target and its bundled ``cuobjdump``
disassembles the cubin.

    python benchmarks/sass_count.py [--json OUT.json]

Compiles the forward (``_encode_fwd``, the default launch: 4 levels a program, 32 samples, pairs of
tile rows) and the walk backward (``_encode_bwd_walk``, one level group) for issue 8's grid (16
levels, 2 float32 features, 2^19 rows). Put another tree's ``core`` first on PYTHONPATH to count its
kernels: an A/B of code before anyone spends GPU time on it. Counts are not timings: a3e8625 took
one load out of both kernels and measured the same on an H200 (RESULTS.md).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

import meshcast.fields.hashgrid_triton as fast

CUOBJDUMP = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
WORDS = "*i64"  # float32 feature pairs as 8-byte words


def count(fn, types: dict[str, str], constants: dict, num_warps: int) -> dict:
    """Instructions and LDG (global load) instructions of ``fn`` compiled for sm_90."""
    signature = {name: "constexpr" if name in constants else types.get(name, "i32") for name in fn.arg_names}
    kernel = triton.compile(ASTSource(fn=fn, signature=signature, constexprs=constants),
                            target=GPUTarget("cuda", 90, 32),
                            options={"num_warps": num_warps, "enable_fp_fusion": False})
    with tempfile.TemporaryDirectory() as tmp:
        cubin = Path(tmp, "kernel.cubin")
        cubin.write_bytes(kernel.asm["cubin"])
        sass = subprocess.run([str(CUOBJDUMP), "-sass", str(cubin)], capture_output=True, text=True,
                              check=True).stdout
    instructions = [line for line in sass.splitlines() if re.match(r"\s+/\*[0-9a-f]{4}\*/", line)]
    return {"instructions": len(instructions), "global_loads": sum("LDG" in line for line in instructions)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not CUOBJDUMP.is_file():
        print(f"{CUOBJDUMP}: not found; this Triton build has no CUDA tools", file=sys.stderr)
        return 2
    grid = {"L": 16, "LG": 4, "ELEM": 0, "POW2": True, "BIG": False, "EVICT": ""}
    forward = count(fast._encode_fwd,
                    {"x_ptr": "*fp32", "table_ptr": WORDS, "level_ptr": "*i32", "scale_ptr": "*fp32",
                     "out_ptr": WORDS, "zero_ptr": "*fp32"},
                    {**grid, "F": 2, "PACK": 2, "BLOCK": 32, "PAIR_ROWS": True, "ZERO": False, "ZBLOCK": 512,
                     "ALIGNED": False, "ORDER": 0, "K": 0}, num_warps=4)
    walk = count(fast._encode_bwd_walk,
                 {"x_ptr": "*fp32", "level_ptr": "*i32", "scale_ptr": "*fp32", "gout_ptr": WORDS,
                  "gtable_ptr": "*fp32"},
                 {**grid, "CHUNK": 16, "CHUNKS": 32, "RED": 2, "GSTRIDE": 1, "COUNT": 1, "ZERO": False,
                  "NEXT_STRIDE": 1, "NEXT_COUNT": 1, "ZBLOCK": 512, "ALIGNED": False}, num_warps=1)
    result = {"triton": triton.__version__, "module": fast.__file__, "forward": forward, "walk": walk}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
