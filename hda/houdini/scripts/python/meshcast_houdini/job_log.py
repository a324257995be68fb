"""Readable work-item log lines from meshcast protocol events (docs/protocol.md).

Standard library only. ``LogFormatter.line(event)`` turns one event dict into one line or
``None`` (progress is thinned to stage changes, every 10 %, and the last step, so a 20000-step
training leaves a log a person can read). ``failure_message`` is the one line a failed work
item ends with: meshcast's own error message and hint.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def format_duration(seconds: float | None) -> str:
    """``81.3`` -> ``"1m21s"``; ``None`` -> ``"?"``."""
    if seconds is None:
        return "?"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@dataclass
class LogFormatter:
    """Formats the events of one job; remembers progress so that it can thin it out."""

    percent_step: int = 10
    _stage: str | None = None
    _last_bucket: dict[str, int] = field(default_factory=dict)

    def line(self, event: Mapping[str, Any]) -> str | None:
        kind = event.get("type")
        if kind == "progress":
            return self._progress(event)
        if kind == "metric":
            return self._metric(event)
        if kind == "artifact":
            return f"wrote {event['kind']}: {event['path']}"
        if kind == "warning":
            return f"WARNING: {event['message']} [{event.get('code', 'warning')}]"
        if kind == "log":
            return None if event.get("level") == "debug" else str(event["message"])
        if kind == "result":
            return "finished: " + summarize_result(event.get("data") or {})
        if kind == "error":
            return "ERROR: " + error_text(event)
        return None

    def _metric(self, event: Mapping[str, Any]) -> str | None:
        # Per-step training metrics already appear in the progress message; keep the rest
        # (validation, evaluation, final numbers).
        step, name = event.get("step"), str(event["name"])
        if step is not None and not name.startswith("val"):
            return None
        at = f" (step {step})" if step is not None else ""
        return f"metric {name} = {_number(event['value'])}{at}"

    def _progress(self, event: Mapping[str, Any]) -> str | None:
        stage, step, total = str(event["stage"]), int(event["step"]), event.get("total")
        new_stage = stage != self._stage
        self._stage = stage
        message = f" - {event['message']}" if event.get("message") else ""
        if not total:
            return f"[{stage}] step {step}{message}" if new_stage else None
        percent = int(100 * step / total)
        bucket = percent // self.percent_step
        if not new_stage and step < total and bucket == self._last_bucket.get(stage, -1):
            return None
        self._last_bucket[stage] = bucket
        eta = "" if step >= total else f", ETA {format_duration(event.get('eta_s'))}"
        return f"[{stage}] {step}/{total} ({percent}%){eta}{message}"


def error_text(event: Mapping[str, Any]) -> str:
    """An error event's message with its hint: what went wrong and how to fix it."""
    hint = event.get("hint")
    return str(event["message"]) + (f" (hint: {hint})" if hint else "")


def summarize_result(data: Mapping[str, Any]) -> str:
    """Short ``key=value`` summary of a result's scalar fields (paths and numbers)."""
    parts = []
    for key, value in data.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            parts.append(f"{key}={_number(value)}")
        elif isinstance(value, str):
            parts.append(f"{key}={value}")
    return ", ".join(parts) if parts else "ok"


def failure_message(returncode: int, error: Mapping[str, Any] | None, stderr_tail: str,
                    exit_names: Mapping[int, str]) -> str:
    """The line a failed work item reports: meshcast's error event when there is one,
    otherwise the exit code's meaning and the last line meshcast wrote to stderr."""
    name = exit_names.get(returncode, "unknown")
    if error:
        return f"meshcast failed ({name}, exit code {returncode}): {error_text(error)}"
    lines = [line for line in stderr_tail.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    return f"meshcast failed ({name}, exit code {returncode}): {last}"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
