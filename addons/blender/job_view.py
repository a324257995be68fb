"""What the panel shows about a running job, from its protocol events (no bpy).

``view_updates(event)`` turns one event (docs/protocol.md) into the fields of the job's
PropertyGroup to set: progress as a fraction, the stage, ETA in seconds, the latest loss, a
message and the log file. Fields the event says nothing about are left out.
"""
from __future__ import annotations

import signal
import sys
import time
from typing import Any

LOSS_METRICS = ("loss", "train/loss", "loss_total")


def view_updates(event: dict[str, Any]) -> dict[str, Any]:
    kind = event.get("type")
    if kind == "progress":
        step, total = int(event.get("step") or 0), int(event.get("total") or 0)
        eta = event.get("eta_s")
        return {"stage": str(event.get("stage", "")), "step": step, "total": total,
                "progress": max(0.0, min(1.0, step / total)) if total else 0.0,
                "eta_s": -1.0 if eta is None else float(eta)}
    if kind == "metric":
        if event.get("name") in LOSS_METRICS:
            return {"loss": float(event["value"]), "has_loss": True}
        if event.get("name") == "psnr":
            return {"psnr": float(event["value"])}
        return {}
    if kind == "artifact" and event.get("kind") in ("log", "events"):
        return {"log_path": str(event["path"])}
    if kind == "warning":
        return {"message": "warning: " + str(event.get("message", ""))}
    if kind == "error":
        hint = event.get("hint")
        return {"message": str(event.get("message", "")) + (f" ({hint})" if hint else "")}
    return {}


def format_eta(seconds: float) -> str:
    """'1 h 02 min', '3 min 05 s', '42 s', or '' when unknown (negative)."""
    if seconds < 0:
        return ""
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def status_for_exit(returncode: int, ok: bool, cancel_requested: bool) -> str:
    """The job's final status enum: DONE, CANCELLED or FAILED."""
    if ok:
        return "DONE"
    if returncode == 130 or (cancel_requested and returncode != 0):
        return "CANCELLED"
    return "FAILED"


def interrupt(process) -> None:
    """Ask a job process to stop without waiting (it checkpoints and exits 130): SIGINT on
    POSIX, CTRL_BREAK on Windows. The UI timer checks later and kills it if it lingers."""
    if process.poll() is not None:
        return
    if sys.platform == "win32":
        process.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
    else:
        process.send_signal(signal.SIGINT)


def now() -> float:
    return time.time()
