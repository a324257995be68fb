"""The real PDG node types (pdg/types/meshcast_tops.py) driven through small pdg fakes."""
from __future__ import annotations

import json
import shlex

import pytest
from fake_pdg import FakeDependencyHolder, FakeItemHolder, FakeNode, FakeTypeRegistry, FakeWorkItem
from meshcast_houdini import parms


def make(meshcast_tops, kind, values=None):
    cls = next(c for c in meshcast_tops.NODE_CLASSES if c.kind == kind)
    node = FakeNode(cls.templateBody(), values)
    return cls(node), node


def upstream(index, **attributes):
    item = FakeWorkItem(index)
    for name, value in attributes.items():
        item.setStringAttrib(name, value)
    return item


def test_register_types_adds_six_processors(meshcast_tops, fake_pdg):
    registry = FakeTypeRegistry()
    meshcast_tops.registerTypes(registry)
    assert [(n["name"], n["label"], n["category"], n["type"]) for n in registry.nodes] == [
        (f"meshcast_{k}", parms.NODE_LABELS[k], "meshcast", fake_pdg.nodeType.Processor)
        for k in parms.ALL_KINDS]


@pytest.mark.parametrize("kind", parms.ALL_KINDS)
def test_template_declares_exactly_the_parameters_the_callbacks_read(meshcast_tops, kind, tmp_path):
    processor, node = make(meshcast_tops, kind, {"input": str(tmp_path)} if kind != "environment" else {})
    template = json.loads(processor.templateBody())
    assert template["name"] == processor.templateName() == f"meshcast_{kind}"
    assert [p["name"] for p in template["parameters"]] == parms.parm_names(kind)
    assert {p["type"] for p in template["parameters"]} <= {"String", "Integer", "Float"}
    holder = FakeItemHolder()
    processor.onGenerate(holder, [upstream(0, meshcast_python="/venv/bin/python",
                                           meshcast_scene="/s", meshcast_run="/r")], "static")
    assert node.read == set(parms.parm_names(kind))  # every declared parameter is read


def test_train_generates_one_item_per_upstream_item(meshcast_tops, fake_pdg):
    processor, _ = make(meshcast_tops, "train", {"output_root": "/runs", "max_steps": "30"})
    env = upstream(0, meshcast_python="/venv/bin/python")
    env.addAttrib("CUDA_VISIBLE_DEVICES", fake_pdg.attribType.String).setValue("1")
    env.attributes["CUDA_VISIBLE_DEVICES"].setFlag(fake_pdg.attribFlag.EnvExport)
    items = []
    for i, name in enumerate(("fox", "cat")):
        item = FakeWorkItem(i, parent=env)
        item.setStringAttrib("meshcast_name", name)
        item.setStringAttrib("meshcast_scene", f"/scenes/{name}")
        items.append(item)
    holder = FakeItemHolder()
    assert processor.onGenerate(holder, items, fake_pdg.generationType.Static) == fake_pdg.result.Success
    assert [i.parent for i in holder.items] == items
    fox = holder.items[0]
    argv = shlex.split(fox.command)
    assert argv[0] == "/venv/bin/python" and argv[1] == "-E" and argv[2].endswith("run_job.py")
    assert argv[3:] == ["--", "train", "/scenes/fox", "--out", "/runs/fox", "--max-steps", "30"]
    assert fox.stringAttribValue("meshcast_run") == "/runs/fox"
    assert [(f.path, f.tag) for f in fox.expectedOutputFiles] == [("/runs/fox/model.safetensors",
                                                                   "file/safetensors")]
    # exported environment reaches the children through attribute inheritance
    assert fox.environment == {"CUDA_VISIBLE_DEVICES": "1"}
    assert not fox.in_process


def test_environment_node_exports_variables_in_process(meshcast_tops, fake_pdg):
    processor, _ = make(meshcast_tops, "environment", {
        "python": "/venv/bin/python", "cuda_home": "/cuda", "extra_env": "OMP_NUM_THREADS=2"})
    holder = FakeItemHolder()
    processor.onGenerate(holder, [], fake_pdg.generationType.Static)
    (item,) = holder.items
    assert item.in_process and item.command == ""
    assert item.environment == {"CUDA_HOME": "/cuda", "OMP_NUM_THREADS": "2"}
    assert item.stringAttribValue("meshcast_python") == "/venv/bin/python"
    assert "attribFlag.EnvExport" not in item.attributes["meshcast_python"].flags
    assert processor.onCookTask(item) == fake_pdg.result.Success


def test_bad_parameter_fails_the_node_with_a_cook_error(meshcast_tops, fake_pdg):
    processor, _ = make(meshcast_tops, "extract", {"resolution": 4})
    with pytest.raises(fake_pdg.CookError, match="meshcast Extract: resolution: must be at least 8"):
        processor.onGenerate(FakeItemHolder(), [upstream(0, meshcast_run="/r",
                                                         meshcast_python="/p")], "static")
    processor, _ = make(meshcast_tops, "environment", {"extra_env": "PYTHONPATH=/venv"})
    with pytest.raises(fake_pdg.CookError, match="PYTHONPATH is not allowed"):
        processor.onGenerate(FakeItemHolder(), [], "static")


def test_parameters_expand_work_item_attributes(meshcast_tops, fake_pdg):
    processor, _ = make(meshcast_tops, "extract", {"output_root": "/meshes/@shot"})
    item = upstream(0, meshcast_run="/r/a", meshcast_python="/p", shot="sh010")
    holder = FakeItemHolder()
    processor.onGenerate(holder, [item], "static")
    assert holder.items[0].stringAttribValue("meshcast_mesh") == "/meshes/sh010/a.ply"


def test_one_at_a_time_chains_the_items(meshcast_tops, fake_pdg):
    items = [FakeWorkItem(i) for i in (2, 0, 1)]
    processor, _ = make(meshcast_tops, "train", {"one_at_a_time": 1})
    deps = FakeDependencyHolder()
    assert processor.onAddInternalDependencies(deps, items, True) == fake_pdg.result.Success
    assert [(a.index, b.index) for a, b in deps.pairs] == [(1, 0), (2, 1)]
    processor, _ = make(meshcast_tops, "train", {"one_at_a_time": 0})
    deps = FakeDependencyHolder()
    processor.onAddInternalDependencies(deps, items, True)
    assert deps.pairs == []


def test_regenerate_defers_to_pdg(meshcast_tops, fake_pdg):
    processor, _ = make(meshcast_tops, "train")
    assert processor.onRegenerate(FakeItemHolder(), [], [], "regenerate") == fake_pdg.result.Missing
