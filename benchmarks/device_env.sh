# Sourced by the benchmarks/device_*.sh scripts on the GPU machine: $OUT, meshcast's carried wheels
# (.whl, from prepare_device.py) installed into /tmp/site and on PYTHONPATH with core/, the GPU's name.
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site:$PWD/core PYTHONUNBUFFERED=1
# the two-orbit bunny capture's files (prepare_device.py --bunny), as gpu_reconstruction.py and
# peer_instant_nsr.py take them: "${BUNNY[@]}"
B=.devdata/bunny_2orbit
BUNNY=(--scene $B/scene --reference $B/reference.json --mesh $B/stanford-bunny.obj)
nvidia-smi --query-gpu=name,driver_version --format=csv | tee "$OUT/gpu.txt"
# the encoding peers, each from its own source (.peer/tcnn, .peer/torchngp): build_encoding_peers
# starts both builds in the background (logs in $OUT); after `wait`, install_encoding_peers puts
# torch-ngp's gridencoder where encoding_bench.py --peer finds it, and "$PEERPATH" adds tiny-cuda-nn
build_encoding_peers() {
    (CC=/usr/bin/gcc CXX=/usr/bin/g++ python3 benchmarks/build_tcnn.py .peer/tcnn --jobs 8 >"$OUT/tcnn_build.log" 2>&1) &
    python3 benchmarks/build_torch_ngp.py .peer/torchngp --out .peer/torchngp/prebuilt >"$OUT/ngp_build.log" 2>&1 &
}
install_encoding_peers() {
    mkdir -p .peer/torchngp/gridencoder/prebuilt
    cp .peer/torchngp/prebuilt/_gridencoder*.so .peer/torchngp/gridencoder/prebuilt/
}
PEERPATH=$PYTHONPATH:$PWD/.peer/tcnn/bindings/torch
