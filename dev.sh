#!/usr/bin/env bash
# meshcast developer entry point: sets everything up in ./.venv, then runs one job.
#   ./dev.sh demo   reconstruct the built-in demo object (CPU is fine) and print where the mesh is
#   ./dev.sh test   run the whole test suite (what CI runs through .ci/run)
set -euo pipefail
cd "$(dirname "$0")"
job="${1:-demo}"
shift || true

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  echo "[meshcast] creating .venv with $python_bin" >&2
  "$python_bin" -m venv .venv
fi
stamp=".venv/.meshcast-installed"
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ] || [ dev.sh -nt "$stamp" ]; then
  echo "[meshcast] installing meshcast and its dependencies into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  # A pinned torch: on a CPU-only machine with a local CPU build this takes it.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[all,test]"
  touch "$stamp"
fi

case "$job" in
  demo) exec .venv/bin/meshcast demo "$@" ;;
  test) exec .venv/bin/python -m pytest -q "$@" ;;
  *) echo "usage: ./dev.sh demo|test [extra arguments]" >&2; exit 2 ;;
esac
