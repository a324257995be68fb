"""Readable log lines from protocol events, and the failure message."""
from __future__ import annotations

from meshcast_houdini import job_log

from meshcast.jobs import exit_codes, make_event


def test_each_event_type_becomes_one_readable_line():
    f = job_log.LogFormatter()
    assert f.line(make_event("train", "progress", stage="train", step=200, total=2000, eta_s=81.3,
                             message="loss 0.02")) == "[train] 200/2000 (10%), ETA 1m21s - loss 0.02"
    assert f.line(make_event("train", "metric", name="val_psnr", value=27.41234, step=200)) == \
        "metric val_psnr = 27.4123 (step 200)"
    assert f.line(make_event("train", "metric", name="loss", value=0.1, step=200)) is None
    assert f.line(make_event("eval", "metric", name="chamfer", value=0.0123, step=None)) == \
        "metric chamfer = 0.0123"
    assert f.line(make_event("extract", "artifact", path="/r/mesh.ply", kind="mesh")) == \
        "wrote mesh: /r/mesh.ply"
    assert f.line(make_event("scene", "warning", message="3 frames skipped", code="scene.missing")) == \
        "WARNING: 3 frames skipped [scene.missing]"
    assert f.line(make_event("x", "log", level="debug", message="noise")) is None
    assert f.line(make_event("x", "log", level="info", message="loading")) == "loading"
    assert f.line(make_event("extract", "result", data={"mesh": "/r/mesh.ply", "faces": 10,
                                                        "nested": {"a": 1}})) == \
        "finished: mesh=/r/mesh.ply, faces=10"
    assert f.line(make_event("train", "error", code="input.invalid", message="/s: bad",
                             hint="run meshcast scene info", exit_code=3)) == \
        "ERROR: /s: bad (hint: run meshcast scene info)"


def test_progress_is_thinned_to_every_tenth_and_the_end():
    f = job_log.LogFormatter()
    lines = [f.line(make_event("train", "progress", stage="train", step=s, total=2000, eta_s=10.0))
             for s in range(1, 2001)]
    shown = [line for line in lines if line]
    assert len(shown) == 11
    assert shown[0].startswith("[train] 1/2000 (0%)") and shown[-1] == "[train] 2000/2000 (100%)"
    # a new stage is always shown, even at the same percentage
    assert f.line(make_event("extract", "progress", stage="colours", step=1, total=2000, eta_s=None)) \
        == "[colours] 1/2000 (0%), ETA ?"
    assert f.line(make_event("x", "progress", stage="load", step=5, total=None, eta_s=None)) == "[load] step 5"
    assert f.line(make_event("x", "progress", stage="load", step=6, total=None, eta_s=None)) is None


def test_durations():
    assert [job_log.format_duration(s) for s in (None, 4.4, 81.3, 3600 * 2 + 61)] == \
        ["?", "4s", "1m21s", "2h01m"]


def test_failure_message_prefers_meshcast_error_event():
    error = make_event("train", "error", code="train.diverged", message="loss became NaN at step 812",
                       hint="lower --optim.lr-grid", exit_code=4)
    assert job_log.failure_message(4, error, "", exit_codes.NAMES) == \
        "meshcast failed (failed, exit code 4): loss became NaN at step 812 (hint: lower --optim.lr-grid)"
    assert job_log.failure_message(1, None, "Traceback...\nValueError: boom\n", exit_codes.NAMES) == \
        "meshcast failed (internal, exit code 1): ValueError: boom"
    assert job_log.failure_message(9, None, "", exit_codes.NAMES) == \
        "meshcast failed (unknown, exit code 9): no output"
