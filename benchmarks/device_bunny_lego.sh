#!/usr/bin/env bash
# One GPU call: the forward with its level groups interleaved (forward_interleave.py), meshcast's NeuS on the two-orbit bunny capture for 120 s (512^3 mesh, scored against
# the true mesh), then lego NeuS for 90 s with extraction at 512^3 and 2048^3, then the extraction's
# host-side cost on an analytic sphere (benchmarks/extraction_bench.py) at 1024^3 and 2048^3.
#
#   bash benchmarks/device_bunny_lego.sh    # on the device, with .whl and .devdata carried
set -u
. benchmarks/device_env.sh
start=$(date +%s)
timeout 150 python3 benchmarks/forward_interleave.py --json "$OUT/forward_interleave.json" --points rays --rounds 2 2>&1 | tail -n 9
timeout 230 python3 benchmarks/gpu_reconstruction.py capture --data .devdata --out /tmp/cap "${BUNNY[@]}" \
    --seconds 120 --extract 512 >"$OUT/cap.log" 2>&1
echo "bunny rc $? after $(( $(date +%s) - start )) s"; tail -n 1 "$OUT/cap.log" | cut -c1-4000
cp /tmp/cap/*.json "$OUT/" 2>/dev/null
timeout 300 python3 benchmarks/gpu_reconstruction.py lego-neus --data .devdata --out /tmp/lneus --seconds 90 \
    --extract 512 2048 --iou-views 10 >"$OUT/lneus.log" 2>&1
echo "lego neus rc $? after $(( $(date +%s) - start )) s"; tail -n 1 "$OUT/lneus.log" | cut -c1-4000
cp /tmp/lneus/*.json "$OUT/" 2>/dev/null
timeout 120 python3 benchmarks/extraction_bench.py --resolution 1024 2048 --device cuda --json "$OUT/extraction_bench.json"
echo "call done after $(( $(date +%s) - start )) s"
