#!/usr/bin/env bash
# One GPU call (thirteenth session): the walk's launches as programmatic dependents of the kernel
# before (WALK_LAUNCH["pdl"], FORWARD_LAUNCH["pdl"]): the kernels' CUDA tests, the step at each
# setting (forward_interleave.py --pdl), then the encoding benchmark with both peers in the same
# run, alternating programmatic launches and ordinary ones. The peers (tiny-cuda-nn, torch-ngp's
# gridencoder) build from their own source on the host's cores while the GPU runs the first two.
# About 7 minutes.
#
#   bash benchmarks/device_pdl.sh    # on the device, with .whl and .peer carried
set -u
. benchmarks/device_env.sh
start=$(date +%s)
build_encoding_peers
timeout 240 python3 -m pytest -q -p no:cacheprovider tests/fields/test_hashgrid_triton.py -k cuda 2>&1 \
    | tail -n 15 | tee "$OUT/cuda_test.log"
timeout 240 python3 benchmarks/forward_interleave.py --pdl --json "$OUT/pdl.json" --points rays --rounds 3 \
    --rep-ms 60 2>&1 | tail -n 30 | tee "$OUT/pdl.log"
wait
echo "peers built after $(( $(date +%s) - start )) s"; tail -n 2 "$OUT/tcnn_build.log" "$OUT/ngp_build.log"
install_encoding_peers
for run in pdl1 plain1 pdl2 plain2; do
    case $run in pdl*) set -- --launch 'walk.pdl=[1,2]' --launch forward.pdl=true ;; *) set -- ;; esac
    PYTHONPATH=$PEERPATH timeout 200 python3 benchmarks/encoding_bench.py --json "$OUT/enc_$run.json" \
        --peer .peer/torchngp/gridencoder --rep-ms 100 --points rays "$@" >"$OUT/enc_$run.log" 2>&1
    python3 benchmarks/ratio.py "$OUT/enc_$run.json" "$run"
done
echo "call done after $(( $(date +%s) - start )) s"
