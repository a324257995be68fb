#!/usr/bin/env bash
# Call 3 of the twelfth session: the zeroing settings again with the later launches' rows zeroed
# by the launch before, then the encoding benchmark twice (torch.compile's time varies by ~2%
# between runs, and the 4x target is measured against it). About 4 minutes.
#
#   bash benchmarks/device_next3.sh    # on the device, with .whl carried
set -u
. benchmarks/device_env.sh
start=$(date +%s)
timeout 150 python3 benchmarks/forward_interleave.py --zeroing --json "$OUT/forward_zeroing2.json" --rounds 3 --rep-ms 60
for run in 1 2; do
    timeout 150 python3 benchmarks/encoding_bench.py --json "$OUT/enc_rays_$run.json" --points rays --rep-ms 100 2>&1 \
        | grep -E "walk|torch.compile" | head -n 4
done
echo "call done after $(( $(date +%s) - start )) s"
