#!/usr/bin/env bash
# One GPU call: build the peers (tiny-cuda-nn's PyTorch bindings, torch-ngp's extensions) from
# their own source, check tiny-cuda-nn against meshcast's reference, time the encoders side by
# side, then train lego_400 `nerf` for 60 s with torch-ngp and with meshcast, one after the other.
#
#   bash benchmarks/device_peers.sh      # on the device, with .whl, .peer and .devdata/lego_400 carried
#
# .peer/tcnn is tiny-cuda-nn (with dependencies/fmt), .peer/torchngp torch-ngp's nerf/, gridencoder/,
# raymarching/, shencoder/, encoding.py, activation.py and wheels/ (torch_ema); neither is part of
# this repository (RESULTS.md names the commits). Logs and JSON go to $OUT.
set -u
. benchmarks/device_env.sh
build_encoding_peers
wait
tail -n 3 "$OUT/tcnn_build.log" "$OUT/ngp_build.log"
install_encoding_peers
PYTHONPATH=$PEERPATH timeout 120 python3 -m pytest -q -p no:cacheprovider tests/fields/test_hashgrid.py -k tcnn 2>&1 | tail -n 5 | tee "$OUT/tcnn_test.log"
PYTHONPATH=$PEERPATH timeout 200 python3 benchmarks/encoding_bench.py --json "$OUT/enc_peers_rays.json" \
    --peer .peer/torchngp/gridencoder --rep-ms 100 --points rays >"$OUT/enc.log" 2>&1
grep -E "tiny-cuda|torch-ngp|walk \(auto|torch.compile" "$OUT/enc.log"
timeout 150 python3 benchmarks/peer_torch_ngp.py .peer/torchngp --data .devdata/lego_400 --seconds 60 \
    --max-eval 50 --json "$OUT/peer.json" >"$OUT/peer.log" 2>&1
tail -n 2 "$OUT/peer.log"
timeout 130 python3 benchmarks/gpu_reconstruction.py lego-nerf --data .devdata --out /tmp/ln --seconds 60 \
    --max-eval 50 >"$OUT/ln.log" 2>&1
tail -n 1 "$OUT/ln.log"
cp /tmp/ln/*.json "$OUT/" 2>/dev/null
