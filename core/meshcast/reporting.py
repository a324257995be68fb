"""What long-running library code reports to: progress, metrics, artifacts, warnings.

Library functions take ``reporter: Reporter | None``; ``None`` means silent. The CLI builds a
Reporter that writes protocol events and draws a progress bar on stderr when it is a terminal.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from meshcast.jobs.events import EventWriter


class Reporter:
    """Sends progress to an EventWriter (optional) and a tqdm bar (when ``bar`` is true)."""

    def __init__(self, writer: EventWriter | None = None, bar: bool = False, quiet: bool = False):
        self.writer = writer
        self.bar = bar
        self.quiet = quiet
        self._tqdm: Any = None
        self._stage: str | None = None
        self._stage_start = time.monotonic()
        self.warnings: list[str] = []

    # -- events -------------------------------------------------------------------------
    def _emit(self, type_: str, **fields: Any) -> None:
        if self.writer is not None:
            self.writer.emit(type_, **fields)

    def progress(
        self, stage: str, step: int, total: int | None = None, message: str | None = None
    ) -> None:
        """Report ``step`` of ``total`` in ``stage``; the ETA is computed from the stage start."""
        now = time.monotonic()
        if stage != self._stage:
            self._close_bar()
            self._stage, self._stage_start = stage, now
        eta = None
        if total and step > 0:
            eta = round((now - self._stage_start) / step * max(total - step, 0), 1)
        fields: dict[str, Any] = {"stage": stage, "step": step, "total": total, "eta_s": eta}
        if message:
            fields["message"] = message
        self._emit("progress", **fields)
        if self.bar:
            self._update_bar(stage, step, total, message)

    def metric(self, name: str, value: float, step: int | None = None, **extra: Any) -> None:
        self._emit("metric", name=name, value=float(value), step=step, **extra)

    def artifact(self, path: str | Path, kind: str) -> None:
        self._emit("artifact", path=str(Path(path).resolve()), kind=kind)

    def warning(self, message: str, code: str = "warning") -> None:
        self.warnings.append(message)
        self._emit("warning", message=message, code=code)
        self._print(f"warning: {message}")

    def log(self, message: str, level: str = "info") -> None:
        self._emit("log", level=level, message=message)
        if level != "debug":
            self._print(message)

    # -- terminal -----------------------------------------------------------------------
    def _print(self, text: str) -> None:
        if self.quiet:
            return
        if self._tqdm is not None:
            self._tqdm.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def _update_bar(self, stage: str, step: int, total: int | None, message: str | None) -> None:
        from tqdm import tqdm

        if self._tqdm is None:
            self._tqdm = tqdm(total=total, desc=stage, file=sys.stderr, leave=True, dynamic_ncols=True)
        self._tqdm.n = step
        if message:
            self._tqdm.set_postfix_str(message, refresh=False)
        self._tqdm.refresh()

    def _close_bar(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None

    def close(self) -> None:
        self._close_bar()


def report_progress(
    reporter: Reporter | None, stage: str, step: int, total: int | None = None, message: str | None = None
) -> None:
    if reporter is not None:
        reporter.progress(stage, step, total, message)


def report_warning(reporter: Reporter | None, message: str, code: str = "warning") -> None:
    if reporter is not None:
        reporter.warning(message, code)
    else:
        import warnings

        warnings.warn(message, stacklevel=2)
