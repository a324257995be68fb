#!/usr/bin/env bash
# Call 3 of the thirteenth session: training on the final tree, as a user's run would go (the kernels
# launched one by one): lego_400 `nerf` for 60 s (test PSNR on 50 views), then NeuS on the two-orbit
# bunny capture for 120 s (512^3 mesh, Chamfer against the true mesh). About 6 minutes.
#
#   bash benchmarks/device_final.sh    # on the device, with .whl and .devdata carried
set -u
. benchmarks/device_env.sh
start=$(date +%s)
timeout 140 python3 benchmarks/gpu_reconstruction.py lego-nerf --data .devdata --out /tmp/ln --seconds 60 \
    --max-eval 50 >"$OUT/ln.log" 2>&1
echo "lego nerf rc $? after $(( $(date +%s) - start )) s"; tail -n 1 "$OUT/ln.log" | cut -c1-2000
cp /tmp/ln/*.json "$OUT/" 2>/dev/null
timeout 230 python3 benchmarks/gpu_reconstruction.py capture --data .devdata --out /tmp/cap "${BUNNY[@]}" \
    --seconds 120 --extract 512 >"$OUT/cap.log" 2>&1
echo "bunny rc $? after $(( $(date +%s) - start )) s"; tail -n 1 "$OUT/cap.log" | cut -c1-3000
cp /tmp/cap/*.json "$OUT/" 2>/dev/null
echo "call done after $(( $(date +%s) - start )) s"
