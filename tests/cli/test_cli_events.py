"""The real CLI's event streams and exit codes, run as a subprocess."""
from __future__ import annotations

import json
import subprocess

from meshcast.jobs import JobClient, exit_codes, read_events


def _run(argv: list[str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*argv, *args], capture_output=True, text=True, check=False, timeout=300)


def test_doctor_stream_ends_with_result(meshcast_argv):
    proc = _run(meshcast_argv, "doctor", "--events", "-", "--quiet")
    assert proc.returncode == 0, proc.stderr
    events = list(read_events(proc.stdout.splitlines()))
    assert events[-1]["type"] == "result" and events[-1]["job"] == "doctor"
    data = events[-1]["data"]
    assert data["packages"]["torch"] and data["paths"]["device"] in ("cpu", "cuda")


def test_events_file_and_stdout_together(meshcast_argv, tmp_path):
    path = tmp_path / "events.jsonl"
    proc = _run(meshcast_argv, "doctor", "--events", str(path), "--events", "-", "--quiet")
    assert proc.returncode == 0
    assert json.loads(path.read_text().splitlines()[-1]) == json.loads(proc.stdout.splitlines()[-1])


def test_usage_error_exits_2(meshcast_argv):
    proc = _run(meshcast_argv, "doctor", "--no-such-option")
    assert proc.returncode == exit_codes.USAGE
    assert "unrecognized arguments: --no-such-option" in proc.stderr


def test_no_command_prints_help_and_exits_2(meshcast_argv):
    proc = _run(meshcast_argv)
    assert proc.returncode == exit_codes.USAGE and "COMMAND" in proc.stderr


def test_every_command_has_help_with_an_example(meshcast_argv):
    from meshcast.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "doctor" in sub.choices
    def leaves(name, parser):
        nested = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not nested:
            yield name, parser
        for action in nested:
            for child_name, child in action.choices.items():
                yield from leaves(f"{name} {child_name}", child)

    commands = [leaf for name, command in sub.choices.items() for leaf in leaves(name, command)]
    assert {"doctor", "scene info", "train", "extract", "eval", "demo"} <= {name for name, _ in commands}
    for name, command in commands:
        text = command.format_help()
        assert "--events" in text, name
        assert "example" in text.lower(), f"meshcast {name} --help shows no example"


def test_client_runs_real_cli(meshcast_argv):
    outcome = JobClient.start([*meshcast_argv, "doctor", "--quiet"]).wait(timeout=120)
    assert outcome.ok and "packages" in outcome.result


def test_doctor_paths_name_only_what_runs():
    from meshcast.cli.doctor import select_paths

    gpu = select_paths({"torch": "2", "triton": "3", "xatlas": None, "pxr": None, "pycolmap": None}, cuda=True)
    assert gpu["device"] == "cuda" and gpu["hash_encoding"].startswith("Triton kernels on CUDA")
    assert gpu["mixed_precision"].startswith("neus: bf16 autocast")
    assert gpu["nerf_marching"].startswith("Triton kernels on CUDA")
    both = select_paths({"torch": "2", "triton": "3", "tinycudann": "2.0"}, cuda=True)
    assert both["hash_encoding"].startswith("Triton kernels on CUDA")
    tcnn = select_paths({"torch": "2", "triton": None, "tinycudann": "2.0"}, cuda=True)
    assert tcnn["hash_encoding"].startswith("tiny-cuda-nn on CUDA")
    assert select_paths({"torch": "2", "tinycudann": "2.0"}, cuda=False)["hash_encoding"] == "pytorch reference on CPU"
    plain = select_paths({"torch": "2", "triton": None}, cuda=True)
    assert plain["hash_encoding"].startswith("pytorch reference on CUDA (pip install triton")
    assert plain["nerf_marching"].startswith("pytorch reference on CUDA (pip install triton")
    cpu = select_paths({"torch": "2"}, cuda=False)
    assert cpu["device"] == "cpu" and cpu["uv_atlas"].startswith("unavailable")
    assert select_paths({"torch": None}, cuda=False) == {"training": "unavailable: install torch"}
