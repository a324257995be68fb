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
