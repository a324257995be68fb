#!/usr/bin/env bash
# Call 4 of the twelfth session: the encoding benchmark twice on the new defaults (the forward
# zeroes the walk's first launch's rows, each launch the next one's), then meshcast's NeuS on the
# two-orbit bunny capture for 120 s. About 5 minutes.
#
#   bash benchmarks/device_next4.sh    # on the device, with .whl and .devdata/bunny_2orbit carried
set -u
. benchmarks/device_env.sh
start=$(date +%s)
for run in 1 2; do
    timeout 150 python3 benchmarks/encoding_bench.py --json "$OUT/enc_rays_$run.json" --points rays --rep-ms 100 2>&1 \
        | grep -E "^time.*(walk|torch.compile)" | head -n 2 | cut -c1-120
    python3 benchmarks/ratio.py "$OUT/enc_rays_$run.json" "run $run"
done
timeout 230 python3 benchmarks/gpu_reconstruction.py capture --data .devdata --out /tmp/cap "${BUNNY[@]}" \
    --seconds 120 --extract 512 >"$OUT/cap.log" 2>&1
echo "bunny rc $? after $(( $(date +%s) - start )) s"; tail -n 1 "$OUT/cap.log" | cut -c1-3000
cp /tmp/cap/*.json "$OUT/" 2>/dev/null
echo "call done after $(( $(date +%s) - start )) s"
