"""The work-item command (run_job.py) run for real: log lines, failures, environment."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from meshcast_houdini.work_items import RUN_JOB


def run_job(*args, env=None, python=sys.executable):
    return subprocess.run([python, "-E", RUN_JOB, *args], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def test_failed_run_fails_with_meshcast_own_message(tmp_path):
    missing = tmp_path / "no_scene"
    proc = run_job("--", "train", str(missing), "--out", str(tmp_path / "run"), "--device", "cpu")
    assert proc.returncode == 3
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"meshcast failed (bad_input, exit code 3): {missing}: no such file or folder"
    assert f"ERROR: {missing}: no such file or folder" in proc.stdout
    assert proc.stdout.splitlines()[0].startswith("meshcast train ")


def test_result_json_and_houdini_pythonpath_cannot_break_the_job(tmp_path):
    # A PYTHONPATH like Houdini's, with a 'meshcast' that must never be imported.
    poison = tmp_path / "houdini_python"
    (poison / "meshcast").mkdir(parents=True)
    (poison / "meshcast" / "__init__.py").write_text("raise SystemExit('wrong meshcast')\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(poison), "PYTHONHOME": str(tmp_path)}
    out = tmp_path / "sub" / "doctor.json"
    proc = run_job("--result-json", str(out), "--", "doctor", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert isinstance(data, dict) and data
    assert "finished:" in proc.stdout


def test_usage_errors():
    proc = run_job("train")
    assert proc.returncode != 0 and "usage: run_job.py" in proc.stderr


def test_python_without_meshcast_says_so(tmp_path):
    other = shutil.which("python3")
    if other is None:
        pytest.skip("no second Python on PATH")
    probe = subprocess.run([other, "-E", "-c", "import meshcast"], capture_output=True, check=False)
    if probe.returncode == 0:
        pytest.skip(f"{other} has meshcast installed")
    proc = run_job("--", "doctor", python=other)
    assert proc.returncode == 5
    assert "meshcast is not installed in" in proc.stderr
