"""Node settings and meshcast command lines, checked against the real meshcast parser."""
from __future__ import annotations

import dataclasses
import shlex
import subprocess

import pytest
from meshcast_houdini import commands, parms
from meshcast_houdini.settings import (
    ExtractSettings,
    PrepareSettings,
    RenderSettings,
    SettingsError,
    TrainSettings,
    read_settings,
)


def cli_subparser(name: str):
    from meshcast.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return parser, sub.choices[name]


def option_defaults(name: str) -> dict[str, object]:
    _, sub = cli_subparser(name)
    return {a.option_strings[-1]: a.default for a in sub._actions if a.option_strings}


@pytest.mark.parametrize("kind", parms.ALL_KINDS)
def test_settings_fields_are_the_parameters(kind):
    settings = read_settings(kind, {})
    assert [f.name for f in dataclasses.fields(settings)] == parms.parm_names(kind)


# node parameter -> meshcast option whose default it must equal
DEFAULT_TWINS = {
    "prepare": {"mode": "--mode", "frames": "--frames", "max_size": "--max-size",
                "matcher": "--matcher", "camera": "--camera", "camera_model": "--camera-model",
                "overwrite": "--overwrite", "keep_inputs": "--keep-inputs"},
    "train": {"method": "--method", "preset": "--preset", "resume": "--resume"},
    "extract": {"resolution": "--resolution", "block_res": "--block-res", "format": "--format",
                "texture": "--texture", "texture_size": "--texture-size",
                "keep_largest": "--keep-largest", "device": "--device"},
    "render": {"video": "--video", "max_size": "--max-size", "device": "--device"},
    "eval": {"samples": "--samples", "tau": "--tau"},
}


@pytest.mark.parametrize("kind", sorted(DEFAULT_TWINS))
def test_parameter_defaults_are_the_cli_defaults(kind):
    cli = option_defaults(kind)
    by_name = {p.name: p for p in parms.PARMS[kind]}
    for parm_name, option in DEFAULT_TWINS[kind].items():
        default = by_name[parm_name].default
        expected = cli[option]
        if isinstance(expected, bool):
            default = bool(default)
        assert default == expected, f"{kind}.{parm_name}={default!r}, meshcast {option}={expected!r}"


def test_default_settings_give_minimal_command_lines():
    assert commands.build_command(read_settings("prepare", {}), "cap", "sc") == \
        ["prepare", "cap", "--out", "sc"]
    assert commands.build_command(read_settings("train", {}), "sc", "run") == \
        ["train", "sc", "--out", "run"]
    assert commands.build_command(read_settings("extract", {}), "run", "run/mesh.ply") == \
        ["extract", "run", "--out", "run/mesh.ply"]
    assert commands.build_command(read_settings("render", {}), "run", "run/renders") == \
        ["render", "run", "--out", "run/renders"]
    assert commands.build_command(read_settings("eval", {}), "run", "") == ["eval", "run"]


def parse_with_meshcast(args: list[str]):
    parser, _ = cli_subparser(args[0])
    return parser.parse_args(args)


def test_train_options_reach_meshcast_parser_unchanged():
    settings = read_settings("train", {
        "method": "neus", "preset": "quality", "device": "cpu", "max_steps": "30",
        "max_seconds": "12.5", "batch_rays": "256", "seed": "7", "data_max_size": "64",
        "samples": "8", "importance": "4", "resume": 1, "extra_args": "--log-every 5",
    })
    args = commands.build_command(settings, "/s", "/r")
    parsed = vars(parse_with_meshcast(args))
    assert parsed["preset"] == "quality" and parsed["resume"] is True
    assert str(parsed["out"]) == "/r" and str(parsed["scene"]) == "/s"
    given = {k[4:]: v for k, v in parsed.items() if k.startswith("cfg:")}
    assert given == {"device": "cpu", "max_steps": "30", "max_seconds": "12.5", "batch_rays": "256",
                     "seed": "7", "data.max_size": "64", "model.samples": "8",
                     "model.importance": "4", "log_every": "5"}


def test_extract_render_prepare_eval_options_parse():
    extract = commands.build_command(ExtractSettings(resolution=32, format="obj", texture="uv",
                                                     texture_size=256, keep_largest=True, level=0.5,
                                                     device="cpu"), "/run", "/m.obj")
    p = parse_with_meshcast(extract)
    assert (p.resolution, p.format, p.texture, p.texture_size, p.keep_largest, p.level, p.device) == \
        (32, "obj", "uv", 256, True, 0.5, "cpu")
    render = commands.build_command(RenderSettings(orbit=12, video="mp4", max_size=64), "/run", "/f")
    p = parse_with_meshcast(render)
    assert (p.orbit, p.video, p.max_size, str(p.out)) == (12, "mp4", 64, "/f")
    prepare = commands.build_command(PrepareSettings(mode="scene", frames=40, max_size=0,
                                                     matcher="sequential", camera="single",
                                                     camera_model="OPENCV", overwrite=True),
                                     "/in.mp4", "/scene")
    p = parse_with_meshcast(prepare)
    assert (p.mode, p.frames, p.max_size, p.matcher, p.camera, p.camera_model, p.overwrite) == \
        ("scene", 40, 0, "sequential", "single", "OPENCV", True)
    evaluate = commands.build_command(read_settings("eval", {"gt": "/gt.ply", "samples": 1000,
                                                             "tau": 0.02}), "/run", "")
    p = parse_with_meshcast(evaluate)
    assert (str(p.gt), p.samples, p.tau) == ("/gt.ply", 1000, 0.02)


@pytest.mark.parametrize("values, message", [
    ({"method": "sdf"}, "method: 'sdf' is not one of neus, nerf"),
    ({"max_steps": "3.5"}, "max_steps: '3.5' is not a whole number"),
    ({"max_steps": "0"}, "max_steps: must be at least 1"),
    ({"max_seconds": "-1"}, "max_seconds: must be greater than 0"),
    ({"samples": "two"}, "samples: 'two' is not a whole number"),
])
def test_bad_train_values_name_the_parameter(values, message):
    with pytest.raises(SettingsError, match=message):
        read_settings("train", values)


def test_importance_with_nerf_is_refused():
    with pytest.raises(SettingsError, match="importance"):
        commands.build_command(TrainSettings(method="nerf", importance=8), "s", "r")


def test_extra_args_are_split_like_a_command_line_not_a_shell():
    assert commands.split_extra_args('--seed 3 --note "a b" $HOME;rm') == \
        ["--seed", "3", "--note", "a b", "$HOME;rm"]
    with pytest.raises(SettingsError, match="extra_args"):
        commands.split_extra_args('--note "unclosed')


def test_command_string_round_trips_paths_with_spaces_and_quotes():
    argv = ["/opt/my env/bin/python", "-E", "/pkg/run_job.py", "--", "train",
            "/data/it's a scene", "--out", "/runs/$HOME & co"]
    assert shlex.split(commands.join_command(argv, "linux")) == argv
    windows = commands.join_command(["C:/Program Files/py.exe", "a b", 'say "hi"'], "win32")
    assert windows == '"C:/Program Files/py.exe" "a b" "say \\"hi\\""'


def test_posix_command_string_runs_without_a_shell_interpretation(tmp_path):
    marker = tmp_path / "x; touch pwned"
    argv = ["python3", "-c", "import sys; open(sys.argv[1], 'w').write('ok')", str(marker)]
    subprocess.run(["/bin/sh", "-c", commands.join_command(argv, "linux")], check=True)
    assert marker.read_text() == "ok"
    assert not (tmp_path.parent / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_prepare_frame_rate_replaces_the_frame_count():
    settings = read_settings("prepare", {"fps": "2.5", "frames": 90})
    args = commands.build_command(settings, "cap.mp4", "sc")
    assert args == ["prepare", "cap.mp4", "--out", "sc", "--fps", "2.5"]
    assert parse_with_meshcast(args).fps == 2.5  # and meshcast's parser takes it
    with pytest.raises(SettingsError, match="fps: must be greater than 0"):
        read_settings("prepare", {"fps": "0"})
