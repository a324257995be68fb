"""The command of every meshcast work item: run meshcast, log readable lines, fail with its message.

Run by the meshcast environment's own Python (``python -E run_job.py [--result-json PATH] --
COMMAND ARGS...``), so ``meshcast.jobs`` comes from that environment and nothing is copied
into this package. It starts ``python -m meshcast COMMAND ARGS... --events -`` with
``meshcast.jobs.JobClient`` (argument list, no shell, PYTHONPATH/PYTHONHOME removed), prints
one readable line per event (the scheduler puts stdout in the work item's log), and exits
with meshcast's exit code, the last stderr line being meshcast's own error message.
SIGTERM or Ctrl-C (a cancelled cook) is passed on: meshcast stops and keeps its checkpoint.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

# This file runs as a script: make its package importable (standard library only).
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _PACKAGE_PARENT not in sys.path:
    sys.path.insert(0, _PACKAGE_PARENT)

from meshcast_houdini import job_log
from meshcast_houdini.environment import child_environment

MISSING_DEPENDENCY = 5
USAGE = 2


def parse_args(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``[--result-json PATH] -- meshcast args`` -> (result path, meshcast args)."""
    args = list(argv)
    if "--" not in args:
        raise SystemExit("usage: run_job.py [--result-json PATH] -- COMMAND [ARGS...]")
    split = args.index("--")
    own, meshcast_args = args[:split], args[split + 1:]
    result_json = None
    if own[:1] == ["--result-json"] and len(own) == 2:
        result_json = own[1]
    elif own:
        raise SystemExit(f"run_job.py: unknown options {own}")
    if not meshcast_args:
        raise SystemExit("run_job.py: no meshcast command after --")
    return result_json, meshcast_args


def write_json_atomic(path: str, data: Any) -> None:
    """Write ``data`` as JSON next to ``path`` and rename it into place."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace", line_buffering=True)
    result_json, meshcast_args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        from meshcast.jobs import JobClient, exit_codes
    except ImportError as exc:
        print(f"meshcast failed (missing_dependency): meshcast is not installed in {sys.executable} "
              f"({exc}); set the meshcast Python to the environment where meshcast is installed",
              file=sys.stderr)
        return MISSING_DEPENDENCY
    command = [sys.executable, "-m", "meshcast", *meshcast_args]
    print("meshcast " + " ".join(meshcast_args), flush=True)
    job = JobClient.start(command, env=child_environment(os.environ))
    signal.signal(signal.SIGTERM, _raise_interrupt)
    formatter = job_log.LogFormatter()
    try:
        for event in job.iter_events():
            line = formatter.line(event)
            if line is not None:
                print(line, flush=True)
        outcome = job.wait()
    except KeyboardInterrupt:
        job.cancel()
        outcome = job.wait()
    if outcome.ok:
        if result_json is not None:
            write_json_atomic(result_json, outcome.result or {})
        return 0
    message = job_log.failure_message(outcome.returncode, outcome.error, outcome.stderr_tail,
                                      exit_codes.NAMES)
    print(message, file=sys.stderr, flush=True)
    return outcome.returncode if outcome.returncode > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
