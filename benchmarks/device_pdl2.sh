#!/usr/bin/env bash
# Call 2 of the thirteenth session: the encoding benchmark with both peers three times on the new
# defaults (WALK_LAUNCH["pdl"] = (1, 2)) and once on uniform points, and the kernels' CUDA tests on
# the defaults. The peers build as in device_pdl.sh (skipped where call 1's machine still has them).
# Logs go into one tarball. About 6 minutes.
#
#   bash benchmarks/device_pdl2.sh    # on the device, with .whl and .peer carried
set -u
. benchmarks/device_env.sh
start=$(date +%s)
if ! ls .peer/tcnn/bindings/torch/tinycudann_bindings/_90_C*.so >/dev/null 2>&1; then
    build_encoding_peers
fi
timeout 240 python3 -m pytest -q -p no:cacheprovider tests/fields/test_hashgrid_triton.py -k cuda 2>&1 | tail -n 3
wait
echo "peers ready after $(( $(date +%s) - start )) s"
install_encoding_peers
for run in 1 2 3; do
    PYTHONPATH=$PEERPATH timeout 200 python3 benchmarks/encoding_bench.py --json "$OUT/enc_default_$run.json" \
        --peer .peer/torchngp/gridencoder --rep-ms 100 --points rays >"$OUT/enc_default_$run.log" 2>&1
    python3 benchmarks/ratio.py "$OUT/enc_default_$run.json" "rays $run"
done
PYTHONPATH=$PEERPATH timeout 200 python3 benchmarks/encoding_bench.py --json "$OUT/enc_uniform.json" \
    --peer .peer/torchngp/gridencoder --rep-ms 100 --points uniform >"$OUT/enc_uniform.log" 2>&1
python3 benchmarks/ratio.py "$OUT/enc_uniform.json" uniform
tar -czf "$OUT/logs.tgz" -C "$OUT" $(cd "$OUT" && ls *.log 2>/dev/null)
echo "call done after $(( $(date +%s) - start )) s"
