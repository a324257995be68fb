"""Start a meshcast command as a subprocess and follow its events.

Standard library only. Used by the Blender add-on (polled from a timer, so the UI never
blocks), by the Houdini work items (blocking, lines go to the work item log) and by tests.

    job = JobClient.start(["/path/to/venv/bin/python", "-m", "meshcast", "train", scene])
    for event in job.iter_events():      # blocking
        ...
    job.poll_events()                    # non-blocking: events that arrived since last call
    job.cancel()                         # SIGINT, then terminate, then kill

The command line is always a list; nothing is ever passed through a shell.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshcast.jobs import exit_codes
from meshcast.jobs.events import ProtocolError, parse_event


@dataclass
class JobOutcome:
    """How a job ended: exit code, the final result data or the error event."""

    returncode: int
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == exit_codes.OK and self.error is None

    @property
    def message(self) -> str:
        """One line for a person: the job's own error message, or what happened."""
        if self.error:
            hint = self.error.get("hint")
            return self.error["message"] + (f" ({hint})" if hint else "")
        if self.returncode == exit_codes.OK:
            return "finished"
        name = exit_codes.NAMES.get(self.returncode, "unknown")
        tail = self.stderr_tail.strip().splitlines()[-1:] or ["no output"]
        return f"meshcast exited with code {self.returncode} ({name}): {tail[0]}"


@dataclass
class JobClient:
    """A running meshcast process whose stdout carries the event stream (``--events -``)."""

    process: subprocess.Popen
    events: list[dict[str, Any]] = field(default_factory=list)
    _queue: queue.Queue[dict[str, Any] | None] = field(default_factory=queue.Queue)
    _stderr: list[str] = field(default_factory=list)
    _done_reading: bool = False

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        add_events_flag: bool = True,
    ) -> JobClient:
        """Start ``argv`` (a list; ``--events -`` is appended unless already present)."""
        if isinstance(argv, (str, bytes)):
            raise TypeError("argv must be a list of arguments, never a shell string")
        args = [os.fspath(a) for a in argv]
        if add_events_flag and "--events" not in args:
            args += ["--events", "-"]
        popen_env = dict(os.environ if env is None else env)
        popen_env.setdefault("PYTHONUNBUFFERED", "1")
        kwargs: dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # for CTRL_BREAK
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=popen_env,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            **kwargs,
        )
        client = cls(process=process)
        threading.Thread(target=client._read_stdout, daemon=True).start()
        threading.Thread(target=client._read_stderr, daemon=True).start()
        return client

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if not line.strip():
                continue
            try:
                event = parse_event(line)
            except ProtocolError:
                # Not an event (a library printing to stdout): keep it as a log line.
                event = {"v": 1, "type": "log", "level": "info", "message": line.rstrip()}
            self._queue.put(event)
        self._queue.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def _take(self, event: dict[str, Any] | None) -> dict[str, Any] | None:
        if event is None:
            self._done_reading = True
            return None
        self.events.append(event)
        return event

    def poll_events(self) -> list[dict[str, Any]]:
        """Events that arrived since the last call; never blocks."""
        out = []
        while not self._done_reading:
            try:
                event = self._take(self._queue.get_nowait())
            except queue.Empty:
                break
            if event is not None:
                out.append(event)
        return out

    def iter_events(self) -> Iterator[dict[str, Any]]:
        """Yield events as they arrive until the process closes its stdout."""
        while not self._done_reading:
            event = self._take(self._queue.get())
            if event is not None:
                yield event

    @property
    def running(self) -> bool:
        return self.process.poll() is None or not self._done_reading

    def wait(self, timeout: float | None = None) -> JobOutcome:
        """Drain the events, wait for the exit and summarize."""
        for _ in self.iter_events():
            pass
        returncode = self.process.wait(timeout=timeout)
        return self.outcome(returncode)

    def outcome(self, returncode: int | None = None) -> JobOutcome:
        code = self.process.poll() if returncode is None else returncode
        result = next((e["data"] for e in reversed(self.events) if e["type"] == "result"), None)
        error = next((e for e in reversed(self.events) if e["type"] == "error"), None)
        return JobOutcome(
            returncode=-1 if code is None else code,
            result=result,
            error=error,
            stderr_tail="".join(self._stderr[-20:]),
        )

    def cancel(self, grace_s: float = 10.0) -> None:
        """Ask the job to stop (it checkpoints and exits 130), then force it if it won't."""
        if self.process.poll() is not None:
            return
        try:
            if sys.platform == "win32":
                self.process.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
            else:
                self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
