"""Work-item planning: one item per upstream item or pattern match, commands, outputs."""
from __future__ import annotations

import os

import pytest
from meshcast_houdini import work_items
from meshcast_houdini.settings import SettingsError, read_settings
from meshcast_houdini.work_items import OutputFile, PlanContext, UpstreamItem

CTX = PlanContext(run_job="/pkg/run_job.py", environ={"MESHCAST_PYTHON": "/venv/bin/python"})


def plan(kind, values, upstream=()):
    return work_items.plan_work_items(kind, lambda item: read_settings(kind, values), list(upstream), CTX)


def test_prepare_one_item_per_pattern_match_and_posed_scenes_pass_through(tmp_path):
    captures = tmp_path / "captures"
    (captures / "fox").mkdir(parents=True)
    (captures / "statue.mp4").write_bytes(b"")
    (captures / "lego").mkdir()
    (captures / "lego" / "transforms_train.json").write_text("{}")
    specs = plan("prepare", {"input_pattern": f"{captures}/*", "output_root": "/out/scenes"})
    assert [s.name for s in specs] == ["fox", "lego", "statue"]
    fox, lego, statue = specs
    assert fox.argv == ("/venv/bin/python", "-E", "/pkg/run_job.py", "--", "prepare",
                        f"{captures}/fox", "--out", "/out/scenes/fox")
    assert fox.expected_outputs == (OutputFile("/out/scenes/fox/transforms.json", "file/json"),)
    assert fox.attributes == {"meshcast_name": "fox", "meshcast_scene": "/out/scenes/fox"}
    assert statue.argv[-3:] == (f"{captures}/statue.mp4", "--out", "/out/scenes/statue")
    # a folder that already is a scene: nothing to run, published as it is, cached at once
    assert lego.argv == () and lego.command() == ""
    assert lego.attributes["meshcast_scene"] == f"{captures}/lego"
    assert lego.expected_outputs == (OutputFile(f"{captures}/lego/transforms_train.json", "file/json"),)
    assert work_items.outputs_exist(lego) and not work_items.outputs_exist(fox)


def test_pattern_items_are_children_of_the_upstream_environment_item(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    env_item = UpstreamItem(0, {"meshcast_python": "/gpu-venv/bin/python"})
    specs = plan("prepare", {"input_pattern": f"{tmp_path}/*", "output_root": "/o", "pass_posed": 0},
                 [env_item])
    assert [(s.name, s.parent, s.argv[0]) for s in specs] == \
        [("a", 0, "/gpu-venv/bin/python"), ("b", 0, "/gpu-venv/bin/python")]


def test_train_extract_render_eval_follow_the_upstream_attributes():
    scenes = [UpstreamItem(0, {"meshcast_name": "fox", "meshcast_scene": "/s/fox"}),
              UpstreamItem(1, {"meshcast_name": "cat", "meshcast_scene": "/s/cat"})]
    train = plan("train", {"output_root": "/runs", "max_steps": "30", "device": "cpu"}, scenes)
    assert [(s.parent, s.attributes["meshcast_run"]) for s in train] == [(0, "/runs/fox"), (1, "/runs/cat")]
    assert train[0].argv[4:] == ("train", "/s/fox", "--out", "/runs/fox", "--device", "cpu",
                                 "--max-steps", "30")
    assert train[0].expected_outputs == (OutputFile("/runs/fox/model.safetensors", "file/safetensors"),)

    runs = [UpstreamItem(0, {"meshcast_name": "fox", **train[0].attributes})]
    extract = plan("extract", {"format": "obj", "resolution": 64}, runs)[0]
    assert extract.argv[4:] == ("extract", "/runs/fox", "--out", "/runs/fox/mesh.obj",
                                "--resolution", "64", "--format", "obj")
    assert extract.attributes["meshcast_mesh"] == "/runs/fox/mesh.obj"
    assert extract.expected_outputs == (OutputFile("/runs/fox/mesh.obj", "file/geo/obj"),)
    elsewhere = plan("extract", {"output_root": "/meshes"}, runs)[0]
    assert elsewhere.attributes["meshcast_mesh"] == "/meshes/fox.ply"

    render = plan("render", {"orbit": 3, "video": "mp4"}, runs)[0]
    assert [o.path for o in render.expected_outputs] == [
        "/runs/fox/renders/orbit_0000.png", "/runs/fox/renders/orbit_0001.png",
        "/runs/fox/renders/orbit_0002.png", "/runs/fox/renders/video.mp4"]
    assert plan("render", {"video": "none"}, runs)[0].expected_outputs == ()

    evaluate = plan("eval", {"gt": "/gt/fox.ply"}, runs)[0]
    assert evaluate.argv[2:] == ("/pkg/run_job.py", "--result-json", "/runs/fox/eval.json", "--",
                                 "eval", "/runs/fox", "--gt", "/gt/fox.ply")


def test_upstream_output_files_are_understood_without_attributes():
    from_files = UpstreamItem(3, {}, ("/data/fox/transforms.json",))
    assert plan("train", {"output_root": "/r"}, [from_files])[0].argv[5] == "/data/fox"
    checkpoint = UpstreamItem(0, {}, ("/r/fox/model.safetensors",))
    assert plan("extract", {}, [checkpoint])[0].argv[5] == "/r/fox"
    with pytest.raises(SettingsError, match="upstream work item 0 carries no run folder"):
        plan("extract", {}, [UpstreamItem(0, {}, ("/r/fox/notes.txt",))])


def test_errors_name_the_parameter(tmp_path):
    assert plan("train", {"output_root": "/r"}) == []  # no input items, nothing set: no items
    with pytest.raises(SettingsError, match="input_pattern: nothing matches"):
        plan("prepare", {"input_pattern": f"{tmp_path}/none*", "output_root": "/o"})
    with pytest.raises(SettingsError, match="output_root: empty"):
        plan("train", {"input": "/s/fox", "output_root": ""})
    no_python = PlanContext(run_job="/pkg/run_job.py", environ={})
    with pytest.raises(SettingsError, match="no meshcast Python"):
        work_items.plan_work_items("train", lambda i: read_settings("train", {"input": "/s"}), [],
                                   no_python)


def test_environment_node_exports_and_publishes_the_interpreter():
    spec = plan("environment", {"python": "/venv/bin/python", "cuda_visible_devices": "1"})[0]
    assert spec.argv == () and spec.parent is None
    assert spec.env == {"CUDA_VISIBLE_DEVICES": "1"}
    assert spec.attributes == {"meshcast_python": "/venv/bin/python"}
    # without its own interpreter it publishes $MESHCAST_PYTHON of the cooking session
    assert plan("environment", {})[0].attributes == {"meshcast_python": "/venv/bin/python"}


def test_windows_style_roots_keep_backslashes():
    spec = plan("train", {"input": r"D:\scenes\fox", "output_root": r"D:\runs"})[0]
    assert spec.attributes["meshcast_run"] == r"D:\runs\fox"
    assert spec.expected_outputs[0].path == r"D:\runs\fox\model.safetensors"
    assert "\\" not in plan("train", {"input": "/s/fox", "output_root": "C:/runs"})[0].attributes["meshcast_run"]


def test_names_and_serial_dependencies():
    assert work_items.item_name("/c/statue.mp4") == "statue"
    assert work_items.item_name("/c/fox/") == "fox"
    assert work_items.item_name(r"C:\caps\lego.v2") == "lego"
    assert work_items.serial_dependencies(4) == [(1, 0), (2, 1), (3, 2)]
    assert work_items.serial_dependencies(1) == []


def test_run_job_path_is_the_packaged_wrapper():
    assert os.path.isfile(work_items.RUN_JOB)
    assert work_items.RUN_JOB.endswith(os.path.join("meshcast_houdini", "run_job.py"))
