"""Probe: does the H100 merge reductions (and loads) that several lanes of one warp instruction
send to the same 32-byte sector? The answer decides whether a hash layout that puts a cell's
corners in one sector ("bricks") could cut the encoding backward's L2 operations.

Every variant performs the same number of 8-byte float32-pair reductions (or loads), 2^25, at
random places within a 16 MiB buffer (one level group's gradient: L2-resident); what changes is
how many lanes of a warp instruction share one sector. CuPy RawKernel, CUDA events, best of 20.

    python3 benchmarks/sector_probe.py --json $OUT/sector_probe.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cupy as cp

SRC = r"""
extern "C" __global__ void red_group(float2* buf, const unsigned* rnd, long n, int group, int words) {
    // thread i adds (1, 1) at row (sector(i / group) * 4 + i % group % 4): `group` lanes share a sector
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned s = rnd[i / group] % (unsigned)(words / 4);
    float2* p = buf + (long)s * 4 + (i % group) % 4;
    asm volatile("red.relaxed.gpu.global.add.v2.f32 [%0], {%1, %2};" :: "l"(p), "f"(1.0f), "f"(1.0f) : "memory");
}
extern "C" __global__ void red_thread_v4x2(float2* buf, const unsigned* rnd, long n, int words) {
    // one thread per sector: two 16-byte reductions covering its 4 rows (n / 4 threads)
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned s = rnd[i] % (unsigned)(words / 4);
    float* p = (float*)(buf + (long)s * 4);
    asm volatile("red.relaxed.gpu.global.add.v4.f32 [%0], {%1, %1, %1, %1};" :: "l"(p), "f"(1.0f) : "memory");
    asm volatile("red.relaxed.gpu.global.add.v4.f32 [%0], {%1, %1, %1, %1};" :: "l"(p + 4), "f"(1.0f) : "memory");
}
extern "C" __global__ void load_group(const float2* buf, const unsigned* rnd, float* out, long n, int group, int words) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned s = rnd[i / group] % (unsigned)(words / 4);
    float2 v = buf[(long)s * 4 + (i % group) % 4];
    if (v.x == 12345.0f) out[0] = v.y;  // never true: keeps the load
}
"""


def timed(fn, reps: int = 20) -> float:
    best = float("inf")
    for _ in range(reps):
        a, b = cp.cuda.Event(), cp.cuda.Event()
        a.record()
        fn()
        b.record()
        b.synchronize()
        best = min(best, cp.cuda.get_elapsed_time(a, b))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--mib", type=int, default=16)
    args = ap.parse_args()
    mod = cp.RawModule(code=SRC, options=("-arch=sm_90",))
    red, red4, load = (mod.get_function(k) for k in ("red_group", "red_thread_v4x2", "load_group"))
    words = args.mib * 2**20 // 8
    n = 2**25
    buf = cp.zeros(words, dtype=cp.float64)  # float2 rows
    rnd = cp.random.randint(0, 2**31 - 1, size=n, dtype=cp.uint32)
    out = cp.zeros(1, dtype=cp.float32)
    threads = 256
    grid = ((n + threads - 1) // threads,)
    rows = []
    for group in (1, 2, 4, 8, 32):
        ms = timed(lambda g=group: red(grid, (threads,), (buf, rnd, cp.int64(n), cp.int32(g), cp.int32(words))))
        rows.append({"kind": "red.v2.f32", "lanes_per_sector": group, "group": group, "ops": n, "ms": ms,
                     "sectors_touched": n // group, "ops_per_s": n / ms * 1e3})
        ms = timed(lambda g=group: load(grid, (threads,), (buf, rnd, out, cp.int64(n), cp.int32(g), cp.int32(words))))
        rows.append({"kind": "ld.v2", "lanes_per_sector": group, "group": group, "ops": n, "ms": ms,
                     "ops_per_s": n / ms * 1e3})
    q = n // 4
    ms = timed(lambda: red4(((q + threads - 1) // threads,), (threads,), (buf, rnd, cp.int64(q), cp.int32(words))))
    rows.append({"kind": "2x red.v4.f32 per thread, one sector", "ops": 2 * q, "ms": ms, "sectors_touched": q,
                 "ops_per_s": 2 * q / ms * 1e3})
    for r in rows:
        print(json.dumps(r), flush=True)
    args.json.write_text(json.dumps({"gpu": cp.cuda.runtime.getDeviceProperties(0)["name"].decode(),
                                     "mib": args.mib, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
