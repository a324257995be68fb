"""The meshcast job protocol: one JSON object per line.

Standard library only: Blender's and Houdini's own Pythons import this module.

Every event has ``v`` (protocol version), ``type``, ``t`` (unix time, seconds) and ``job``
(the command that runs, e.g. ``"train"``). The types and their extra fields:

=========  ==============================================================================
progress   stage, step, total (may be null), eta_s (may be null), message (optional)
metric     name, value, step (may be null)
artifact   path (absolute), kind (mesh, scene, run, checkpoint, image, video, config, log...)
warning    message, code
log        level (debug|info), message
result     data (an object; the command's answer)
error      code (machine readable, dotted), message (for a person), hint (may be null),
           exit_code
=========  ==============================================================================

A stream ends with exactly one ``result`` or one ``error`` event.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

PROTOCOL_VERSION = 1
EVENT_TYPES = ("progress", "metric", "artifact", "warning", "log", "result", "error")
REQUIRED_FIELDS = {
    "progress": ("stage", "step", "total", "eta_s"),
    "metric": ("name", "value"),
    "artifact": ("path", "kind"),
    "warning": ("message", "code"),
    "log": ("level", "message"),
    "result": ("data",),
    "error": ("code", "message", "exit_code"),
}


class ProtocolError(ValueError):
    """A line that is not a valid meshcast event."""


def make_event(job: str, type_: str, **fields: Any) -> dict[str, Any]:
    """Build an event dict with the common header; checks the type and its required fields."""
    if type_ not in EVENT_TYPES:
        raise ProtocolError(f"unknown event type {type_!r}")
    missing = [name for name in REQUIRED_FIELDS[type_] if name not in fields]
    if missing:
        raise ProtocolError(f"{type_} event lacks {', '.join(missing)}")
    return {"v": PROTOCOL_VERSION, "type": type_, "t": round(time.time(), 3), "job": job, **fields}


def parse_event(line: str) -> dict[str, Any]:
    """Parse and validate one line of a stream; raises ProtocolError on anything else."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {line[:200]!r}") from exc
    if not isinstance(event, dict):
        raise ProtocolError(f"not an object: {line[:200]!r}")
    if event.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {event.get('v')!r}, expected {PROTOCOL_VERSION}")
    type_ = event.get("type")
    if type_ not in EVENT_TYPES:
        raise ProtocolError(f"unknown event type {type_!r}")
    missing = [name for name in REQUIRED_FIELDS[type_] if name not in event]
    if missing:
        raise ProtocolError(f"{type_} event lacks {', '.join(missing)}")
    return event


def read_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Events from an iterable of lines (a file, a pipe); blank lines are skipped."""
    for line in lines:
        if line.strip():
            yield parse_event(line)


class EventWriter:
    """Writes events to any number of sinks: ``"-"`` (stdout) or file paths (appended).

    Each line is flushed as soon as it is written so that a reader sees progress live.
    Thread-safe: training may report from a worker thread.
    """

    def __init__(self, job: str, sinks: Iterable[str] = ()) -> None:
        self.job = job
        self._lock = threading.Lock()
        self._streams: list[tuple[IO[str], bool]] = []
        for sink in sinks:
            if sink == "-":
                self._streams.append((sys.stdout, False))
            else:
                parent = os.path.dirname(os.path.abspath(sink))
                os.makedirs(parent, exist_ok=True)
                self._streams.append((open(sink, "a", encoding="utf-8"), True))  # noqa: SIM115 (closed by close())

    @property
    def to_stdout(self) -> bool:
        return any(stream is sys.stdout for stream, _ in self._streams)

    def emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = make_event(self.job, type_, **fields)
        line = json.dumps(event, allow_nan=False, default=str) + "\n"
        with self._lock:
            for stream, _ in self._streams:
                stream.write(line)
                stream.flush()
        return event

    def close(self) -> None:
        with self._lock:
            for stream, owned in self._streams:
                if owned:
                    stream.close()
            self._streams = []
