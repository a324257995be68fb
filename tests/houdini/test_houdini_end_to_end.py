"""The "folder of captures" example's work items, end to end through the real meshcast CLI.

The graph is hip_examples/examples.py's FOLDER_OF_CAPTURES (the same data its hython builder
turns into a .hip), made tiny for a CPU: two small demo scenes, 30 training steps, a 32^3
extraction grid. Each node is the real PDG node type from pdg/types/meshcast_tops.py driven
through the pdg fakes; its work items run out of process like the local scheduler runs them.
A second cook generates the same work items again and finds every expected output on disk,
so nothing runs (PDG's cache), and the files are untouched.
"""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
from examples import FOLDER_OF_CAPTURES, Example
from fake_pdg import FakeDependencyHolder, FakeItemHolder, FakeNode, FakeScheduler

TINY_TRAIN = {"device": "cpu", "max_steps": "30", "samples": "8", "importance": "4",
              "batch_rays": "256", "data_max_size": "24"}
TINY_EXTRACT = {"device": "cpu", "resolution": 32}


def expand_hip(example: Example, hip: str) -> Example:
    """What Houdini does when it evaluates the parameters: $HIP -> the .hip file's folder."""
    nodes = tuple(replace(n, parms={k: v.replace("$HIP", hip) if isinstance(v, str) else v
                                    for k, v in n.parms.items()}) for n in example.top_nodes)
    return replace(example, top_nodes=nodes)


def cook_example(meshcast_tops, example: Example):
    """Generate and cook each node in order; successful items feed the next node."""
    classes = {cls.templateName(): cls for cls in meshcast_tops.NODE_CLASSES}
    scheduler = FakeScheduler()
    upstream, by_node = [], {}
    for spec in example.top_nodes:
        cls = classes[spec.type]
        processor = cls(FakeNode(cls.templateBody(), dict(spec.parms)))
        holder = FakeItemHolder()
        processor.onGenerate(holder, upstream, "static")
        processor.onAddInternalDependencies(FakeDependencyHolder(), holder.items, True)
        scheduler.cook(processor, holder.items)
        by_node[spec.name] = holder.items
        upstream = [i for i in holder.items if i.state in ("CookedSuccess", "CookedCache")]
    return scheduler.report, by_node


def make_captures(folder):
    from meshcast.demo.scene import DemoObject, make_demo_scene

    objects = {"blob_a": DemoObject(center=(1.5, -0.5, 0.75), scale=2.0),
               "blob_b": DemoObject(center=(-3.0, 2.0, 0.5), scale=1.5)}
    for name, obj in objects.items():
        make_demo_scene(folder / name, n_views=8, resolution=24, n_test=1, obj=obj)
    return objects


@pytest.mark.slow
def test_folder_of_captures_end_to_end_then_nothing_is_recomputed(tmp_path, meshcast_tops,
                                                                     meshcast_python):
    import trimesh

    objects = make_captures(tmp_path / "captures")
    example = FOLDER_OF_CAPTURES.with_parms("train", **TINY_TRAIN).with_parms("extract", **TINY_EXTRACT)
    example = expand_hip(example, str(tmp_path))

    report, items = cook_example(meshcast_tops, example)
    assert not report.failed, [i.log for i in report.failed]
    assert [len(items[n]) for n in ("environment", "prepare", "train", "extract")] == [1, 2, 2, 2]
    # the captures already are posed scenes: prepare passes them through, nothing to compute
    assert all(i.command == "" and i.state == "CookedCache" for i in items["prepare"])
    ran = sorted((i.stringAttribValue("meshcast_name"), i.command.split()[4]) for i in report.ran)
    assert ran == [("blob_a", "extract"), ("blob_a", "train"), ("blob_b", "extract"), ("blob_b", "train")]
    assert all(i.environment == {} and i.stringAttribValue("meshcast_python") == meshcast_python
               for i in items["train"])

    meshes = {}
    for item in items["extract"]:
        name = item.stringAttribValue("meshcast_name")
        mesh_path = item.stringAttribValue("meshcast_mesh")
        assert mesh_path == str(tmp_path / "meshcast" / "runs" / name / "mesh.ply")
        assert [f.path for f in item.outputFiles] == [mesh_path]
        assert "wrote mesh: " + mesh_path in item.log and "finished: mesh=" in item.log
        meshes[name] = trimesh.load(mesh_path, force="mesh")
    for item in items["train"]:
        assert "[train] 30/30 (100%)" in item.log
        assert os.path.isfile(os.path.join(item.stringAttribValue("meshcast_run"), "model.safetensors"))
    for name, obj in objects.items():
        mesh = meshes[name]
        assert len(mesh.faces) > 100
        # each mesh lands on its own object, in the scene's world coordinates
        centre = mesh.bounds.mean(axis=0)
        assert np.linalg.norm(centre - np.asarray(obj.center)) < 0.35 * obj.scale, (name, centre)
        assert mesh.extents.max() < 1.4 * obj.scale

    outputs = [f.path for n in ("train", "extract") for i in items[n] for f in i.expectedOutputFiles]
    stamps = {p: os.stat(p).st_mtime_ns for p in outputs}

    again, items_again = cook_example(meshcast_tops, example)
    assert again.ran == [] and again.failed == []
    assert len(again.cached) == 2 + 2 + 2  # prepare, train, extract: all from the cache
    assert {p: os.stat(p).st_mtime_ns for p in outputs} == stamps
    assert [i.stringAttribValue("meshcast_mesh") for i in items_again["extract"]] == \
        [i.stringAttribValue("meshcast_mesh") for i in items["extract"]]


def test_a_failed_run_fails_its_work_item_with_meshcast_message(tmp_path, meshcast_tops,
                                                                meshcast_python):
    broken = tmp_path / "captures" / "broken"
    broken.mkdir(parents=True)
    (broken / "transforms_train.json").write_text('{"frames": "not a list"}')
    example = expand_hip(FOLDER_OF_CAPTURES.with_parms("train", **TINY_TRAIN), str(tmp_path))
    report, items = cook_example(meshcast_tops, example)
    (failed,) = report.failed
    assert failed in items["train"] and failed.state == "CookedFail"
    last = failed.log.strip().splitlines()[-1]
    assert last.startswith("meshcast failed (bad_input, exit code 3): ")
    assert "transforms_train.json" in last
    assert items["extract"] == []  # nothing downstream of a failed item
