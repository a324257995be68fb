#!/usr/bin/env bash
# One GPU call for what the eleventh session left unmeasured (benchmarks/RESULTS.md, its first
# section): the kernels' CUDA tests on the interleaved forward, the interleave's launch sweep,
# extraction with marching cubes in threads against worker processes (analytic sphere, then a
# lego NeuS run's 512^3 and 2048^3 meshes). About 6 minutes.
#
#   bash benchmarks/device_next.sh    # on the device, with .whl and .devdata/lego_400 carried
set -u
. benchmarks/device_env.sh
nproc
start=$(date +%s)
timeout 90 python3 -m pytest -q -p no:cacheprovider tests/fields/test_hashgrid_triton.py -k cuda 2>&1 | tail -n 2
timeout 120 python3 benchmarks/forward_interleave.py --sweep --json "$OUT/interleave_sweep.json" --rounds 2 --rep-ms 60
for meshing in threads processes; do
    timeout 90 python3 benchmarks/extraction_bench.py --resolution 1024 2048 --device cuda --meshing $meshing \
        --json "$OUT/extraction_bench_$meshing.json"
done
timeout 240 python3 benchmarks/gpu_reconstruction.py lego-neus --data .devdata --out /tmp/lneus --seconds 90 \
    --extract 512 2048 --iou-views 10 >"$OUT/lneus.log" 2>&1
echo "lego neus rc $?"; tail -n 1 "$OUT/lneus.log" | cut -c1-3000
cp /tmp/lneus/*.json "$OUT/" 2>/dev/null
echo "call done after $(( $(date +%s) - start )) s"
