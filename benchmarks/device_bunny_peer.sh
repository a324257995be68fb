#!/usr/bin/env bash
# One GPU call: build the NeuS peer (instant-nsr-pl: nerfacc 0.3.3's CUDA library and tiny-cuda-nn)
# from its own source while the GPU times the encoding step's parts on
# this machine (and the forward with its level groups interleaved: forward_interleave.py),
# then train the peer on the two-orbit bunny capture for 120 s and score its 512^3
# mesh like meshcast's (benchmarks/peer_instant_nsr.py).
#
#   bash benchmarks/device_bunny_peer.sh    # on the device, with .whl, .peer and .devdata/bunny_2orbit carried
#
# .peer/instant_nsr holds src/ (github:bennyguo/instant-nsr-pl e5fe3f2, COMMIT) and wheels/ (its
# Python needs the device image lacks or has in another major version: pytorch-lightning 1.9.5,
# omegaconf 2.2.3, nerfacc 0.3.3, ...); .peer/tcnn tiny-cuda-nn. Neither is part of this repository.
# Logs and JSON go to $OUT; the key lines are printed too.
set -u
. benchmarks/device_env.sh
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/peersite \
    .peer/instant_nsr/wheels/*.whl >/dev/null 2>&1
start=$(date +%s)
(CC=/usr/bin/gcc CXX=/usr/bin/g++ python3 benchmarks/build_tcnn.py .peer/tcnn --jobs 8 >"$OUT/tcnn_build.log" 2>&1) &
(PYTHONPATH=/tmp/peersite:$PYTHONPATH MAX_JOBS=12 CC=/usr/bin/gcc CXX=/usr/bin/g++ \
    python3 benchmarks/build_instant_nsr.py --out .peer/instant_nsr/prebuilt >"$OUT/nsr_build.log" 2>&1) &
timeout 120 python3 benchmarks/step_parts.py --json "$OUT/step_parts.json" --points rays --rounds 2 --label h200 2>&1 | tail -n 8
timeout 150 python3 benchmarks/forward_interleave.py --json "$OUT/forward_interleave.json" --points rays --rounds 2 2>&1 | tail -n 9
wait
echo "builds done after $(( $(date +%s) - start )) s"
tail -n 2 "$OUT/tcnn_build.log" "$OUT/nsr_build.log"
PYTHONPATH=/tmp/peersite:$PYTHONPATH:$PWD/.peer/tcnn/bindings/torch timeout 360 python3 benchmarks/peer_instant_nsr.py \
    .peer/instant_nsr "${BUNNY[@]}" \
    --seconds 120 --extract 512 --json "$OUT/peer_bunny.json" --out /tmp/nsr >"$OUT/peer_bunny.log" 2>&1
echo "peer rc $?"
grep -E "chamfer|budget|steps" "$OUT/peer_bunny.log" | tail -n 6 | cut -c1-1500
echo "call done after $(( $(date +%s) - start )) s"
