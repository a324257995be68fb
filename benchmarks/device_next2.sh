#!/usr/bin/env bash
# Call 2 of the twelfth session: the encoding benchmark on this tree's defaults (after
# device_next.sh's zeroing settings), lego NeuS for 90 s with its 512^3 and 2048^3 meshes
# (marching cubes in worker processes on this many cores), lego nerf for 60 s (training launches
# the kernels one by one: the runs, the forward interleaved and zeroing the gradient). About 7 minutes.
#
#   bash benchmarks/device_next2.sh    # on the device, with .whl and .devdata/lego_400 carried
set -u
. benchmarks/device_env.sh
start=$(date +%s)
timeout 200 python3 benchmarks/encoding_bench.py --json "$OUT/enc_rays.json" --points rays --rep-ms 100 2>&1 | tail -n 14
echo "encoding bench after $(( $(date +%s) - start )) s"
timeout 200 python3 benchmarks/gpu_reconstruction.py lego-neus --data .devdata --out /tmp/lneus --seconds 90 \
    --extract 512 2048 --iou-views 10 >"$OUT/lneus.log" 2>&1
echo "lego neus rc $? after $(( $(date +%s) - start )) s"; tail -n 1 "$OUT/lneus.log" | cut -c1-3000
cp /tmp/lneus/*.json "$OUT/" 2>/dev/null
timeout 150 python3 benchmarks/gpu_reconstruction.py lego-nerf --data .devdata --out /tmp/ln --seconds 60 \
    --max-eval 50 >"$OUT/lnerf.log" 2>&1
echo "lego nerf rc $? after $(( $(date +%s) - start )) s"; tail -n 1 "$OUT/lnerf.log" | cut -c1-3000
cp /tmp/ln/*.json "$OUT/" 2>/dev/null
echo "call done after $(( $(date +%s) - start )) s"
