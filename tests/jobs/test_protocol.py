"""The job protocol: event schema, writer, reader and the subprocess client."""
from __future__ import annotations

import sys
import textwrap
import time

import pytest

from meshcast.jobs import (
    PROTOCOL_VERSION,
    EventWriter,
    JobClient,
    ProtocolError,
    exit_codes,
    make_event,
    parse_event,
    read_events,
)


def test_make_event_has_header_and_required_fields():
    event = make_event("train", "progress", stage="train", step=3, total=10, eta_s=1.5)
    assert event["v"] == PROTOCOL_VERSION and event["type"] == "progress" and event["job"] == "train"
    assert abs(event["t"] - time.time()) < 5
    with pytest.raises(ProtocolError, match="lacks total"):
        make_event("train", "progress", stage="train", step=3, eta_s=None)
    with pytest.raises(ProtocolError, match="unknown event type"):
        make_event("train", "bogus")


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"v": 99, "type": "log"}', "protocol version 99"),
        ('{"v": 1, "type": "metric", "name": "psnr"}', "lacks value"),
    ],
)
def test_parse_event_rejects_invalid_lines(line, message):
    with pytest.raises(ProtocolError, match=message):
        parse_event(line)


def test_writer_to_file_round_trips(tmp_path):
    path = tmp_path / "sub" / "events.jsonl"
    writer = EventWriter("eval", [str(path)])
    writer.emit("metric", name="psnr", value=31.25, step=7)
    writer.emit("artifact", path="/tmp/mesh.ply", kind="mesh")
    writer.emit("result", data={"ok": True})
    writer.close()
    events = list(read_events(path.read_text().splitlines()))
    assert [e["type"] for e in events] == ["metric", "artifact", "result"]
    assert events[0]["value"] == 31.25 and events[0]["step"] == 7
    assert events[2]["data"] == {"ok": True}


def test_writer_refuses_nan(tmp_path):
    writer = EventWriter("train", [str(tmp_path / "events.jsonl")])
    with pytest.raises(ValueError):
        writer.emit("metric", name="loss", value=float("nan"))
    writer.close()


FAKE_JOB = textwrap.dedent(
    """
    import json, signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as meshcast's CLI does
    def emit(**e):
        e.update(v=1, t=time.time(), job="fake")
        print(json.dumps(e), flush=True)
    emit(type="progress", stage="work", step=1, total=2, eta_s=1.0)
    print("a stray line from a library", flush=True)
    if sys.argv[1] == "fail":
        emit(type="error", code="input.invalid", message="scene.json: bad", hint="fix it", exit_code=3)
        sys.exit(3)
    if sys.argv[1] == "hang":
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            emit(type="error", code="job.cancelled", message="cancelled", hint=None, exit_code=130)
            sys.exit(130)
    emit(type="result", data={"answer": 42})
    """
)


def _fake(mode: str) -> list[str]:
    return [sys.executable, "-c", FAKE_JOB, mode]


def test_client_streams_events_and_result():
    job = JobClient.start(_fake("ok"), add_events_flag=False)
    events = list(job.iter_events())
    outcome = job.wait(timeout=30)
    assert outcome.ok and outcome.result == {"answer": 42}
    assert [e["type"] for e in events] == ["progress", "log", "result"]
    assert events[1]["message"] == "a stray line from a library"


def test_client_reports_error_message():
    outcome = JobClient.start(_fake("fail"), add_events_flag=False).wait(timeout=30)
    assert not outcome.ok and outcome.returncode == exit_codes.BAD_INPUT
    assert outcome.message == "scene.json: bad (fix it)"


def test_client_cancel_interrupts_cleanly():
    job = JobClient.start(_fake("hang"), add_events_flag=False)
    deadline = time.time() + 20
    while not job.events and time.time() < deadline:
        job.poll_events()
        time.sleep(0.05)
    assert job.events, "no event before cancel"
    job.cancel(grace_s=10)
    outcome = job.wait(timeout=30)
    assert outcome.returncode == exit_codes.CANCELLED
    assert outcome.error and outcome.error["code"] == "job.cancelled"


def test_client_refuses_shell_strings():
    with pytest.raises(TypeError, match="never a shell string"):
        JobClient.start("meshcast doctor")
