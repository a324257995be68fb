#!/usr/bin/env bash
# The bunny capture's NeuS for 60 s on this tree and on an older one (.old/core, e.g.
# `git archive 9a6e3ce core | tar -x -C .old`), alternated twice, to tell a change in steps per
# second from the machine's variance. About 5 minutes.
#
#   bash benchmarks/device_ab_bunny.sh    # on the device, with .whl, .old and .devdata/bunny_2orbit carried
set -u
. benchmarks/device_env.sh
start=$(date +%s)
for round in 1 2; do
    for tree in new old; do
        core=$PWD/core; [ $tree = old ] && core=$PWD/.old/core
        PYTHONPATH=/tmp/site:$core timeout 120 python3 benchmarks/gpu_reconstruction.py capture --data .devdata \
            --out /tmp/cap_$tree$round "${BUNNY[@]}" \
            --seconds 60 --extract 256 >"$OUT/cap_$tree$round.log" 2>&1
        echo "$tree $round rc $? after $(( $(date +%s) - start )) s"
        python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['rows'][0]; print({k: r[k] for k in ('steps', 'samples_per_s', 'chamfer_percent')})" /tmp/cap_$tree$round/capture.json
        cp /tmp/cap_$tree$round/capture.json "$OUT/capture_$tree$round.json" 2>/dev/null
    done
done
echo "call done after $(( $(date +%s) - start )) s"
