#!/usr/bin/env bash
# Call 1 of the twelfth session: what the eleventh left unmeasured (benchmarks/RESULTS.md) and the
# gradient's zeroing in the forward: the kernels' CUDA tests, the zeroing settings
# (forward_interleave.py --zeroing), the interleave's launch sweep, extraction with marching cubes
# in threads against worker processes (analytic sphere). About 6 minutes.
#
#   bash benchmarks/device_next.sh    # on the device, with .whl carried
set -u
. benchmarks/device_env.sh
nproc
start=$(date +%s)
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/fields/test_hashgrid_triton.py -k cuda 2>&1 | tail -n 3
timeout 120 python3 benchmarks/forward_interleave.py --zeroing --json "$OUT/forward_zeroing.json" --rounds 3 --rep-ms 60
timeout 120 python3 benchmarks/forward_interleave.py --sweep --json "$OUT/interleave_sweep.json" --rounds 2 --rep-ms 60
for meshing in threads processes; do
    timeout 100 python3 benchmarks/extraction_bench.py --resolution 1024 2048 --device cuda --meshing $meshing \
        --json "$OUT/extraction_bench_$meshing.json" 2>&1 | tail -n 4
done
echo "call done after $(( $(date +%s) - start )) s"
