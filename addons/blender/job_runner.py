"""Running meshcast jobs from Blender.

With a UI, a job is a subprocess polled by a ``bpy.app.timers`` callback every 0.25 s: events
update ``Scene.meshcast.job`` (progress, ETA, loss, message) and the sidebar redraws, so the UI
never waits. The process handle lives only in the timer's closure; Cancel sets
``job.cancel_requested`` and the next tick interrupts the process (and kills it if it is still
there 15 s later). In background mode (``bpy.app.background``: ``blender -b`` or the bpy module)
timers never fire, so the job runs to its end synchronously and no timer is registered.
"""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

import bpy
from bpy.app.handlers import persistent

from .job_view import interrupt, now, status_for_exit, view_updates
from .protocol import JobClient, JobOutcome

POLL_S = 0.25
KILL_AFTER_S = 15.0
OnDone = Callable[[bpy.types.Scene, JobOutcome], str | None]


class JobBusyError(RuntimeError):
    pass


def _apply(job, updates: dict) -> None:
    for name, value in updates.items():
        setattr(job, name, value)


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return True  # no cheap check; the timer owns the truth
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reset_job(job, kind: str) -> None:
    _apply(job, {"kind": kind, "status": "IDLE", "stage": "", "step": 0, "total": 0, "progress": 0.0,
                 "eta_s": -1.0, "loss": 0.0, "has_loss": False, "psnr": 0.0, "message": "", "log_path": "",
                 "returncode": 0, "pid": 0, "started": 0, "cancel_requested": False})


def start_job(scene: bpy.types.Scene, kind: str, argv: list[str], on_done: OnDone | None = None,
              log_path: str = "", synchronous: bool | None = None) -> JobOutcome | None:
    """Start ``argv`` (a list that already carries ``--events -``). Returns the outcome when it
    ran synchronously (background mode), else None: the timer finishes it."""
    job = scene.meshcast.job
    if job.status == "RUNNING" and process_alive(job.pid):
        raise JobBusyError(f"a meshcast {job.kind} job is already running in this scene; cancel it first")
    reset_job(job, kind)
    client = JobClient.start(argv)
    _apply(job, {"status": "RUNNING", "pid": client.process.pid, "started": int(now()), "log_path": log_path,
                 "message": f"{kind} started"})
    if bpy.app.background if synchronous is None else synchronous:
        for event in client.iter_events():
            _apply(job, view_updates(event))
        outcome = client.wait()
        finish_job(scene, outcome, on_done)
        return outcome
    bpy.app.timers.register(functools.partial(tick, client, scene.name, on_done, {}), first_interval=POLL_S)
    return None


def tick(client: JobClient, scene_name: str, on_done: OnDone | None, timer: dict) -> float | None:
    """One poll of a running job; returns the seconds to the next poll, or None when done.
    ``timer`` is this timer's own scratch state (when the interrupt was sent)."""
    scene = bpy.data.scenes.get(scene_name)
    settings = getattr(scene, "meshcast", None) if scene is not None else None
    if settings is None:  # the scene was deleted or the add-on unregistered: stop the job
        interrupt(client.process)
        return None
    job = settings.job
    for event in client.poll_events():
        _apply(job, view_updates(event))
    if job.cancel_requested and client.process.poll() is None:
        if "cancel_sent" not in timer:
            interrupt(client.process)
            timer["cancel_sent"] = now()
            job.message = "cancelling (the job saves a checkpoint first)"
        elif now() - timer["cancel_sent"] > KILL_AFTER_S:
            client.process.kill()
    if client.running:
        redraw_sidebars()
        return POLL_S
    finish_job(scene, client.outcome(), on_done)
    redraw_sidebars()
    return None


def finish_job(scene: bpy.types.Scene, outcome: JobOutcome, on_done: OnDone | None) -> None:
    job = scene.meshcast.job
    status = status_for_exit(outcome.returncode, outcome.ok, job.cancel_requested)
    _apply(job, {"status": status, "returncode": outcome.returncode, "pid": 0})
    if status == "CANCELLED":
        job.message = "cancelled"
        return
    if status == "FAILED":
        job.message = outcome.message
        return
    job.progress = 1.0
    job.eta_s = -1.0
    job.message = f"{job.kind} finished"
    if on_done is not None:
        try:
            note = on_done(scene, outcome)
        except Exception as exc:  # noqa: BLE001 (the job worked; what we did with its result did not)
            _apply(job, {"status": "FAILED", "message": f"{job.kind} finished, but: {exc}"})
            return
        if note:
            job.message = note


def redraw_sidebars() -> None:
    wm = getattr(bpy.context, "window_manager", None)
    for window in getattr(wm, "windows", []):
        for area in window.screen.areas:
            if area.type in ("VIEW_3D", "PREFERENCES"):
                area.tag_redraw()


@persistent
def mark_orphaned_jobs(_dummy=None) -> None:
    """After a .blend loads, a job saved as RUNNING has no timer any more: say so."""
    for scene in bpy.data.scenes:
        job = getattr(scene, "meshcast", None) and scene.meshcast.job
        if job and job.status == "RUNNING":
            _apply(job, {"status": "FAILED", "pid": 0, "message": "interrupted: the file was saved while it ran"})


def register() -> None:
    bpy.app.handlers.load_post.append(mark_orphaned_jobs)


def unregister() -> None:
    if mark_orphaned_jobs in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(mark_orphaned_jobs)
