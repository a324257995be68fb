"""The example graphs, as data: which TOP nodes, which parameters, how they are wired.

Standard library only. ``build_capture_to_mesh.py`` and ``build_folder_of_captures.py`` turn
these into .hip files with hython; the tests run the same graphs' work items without Houdini
(tests/houdini/test_houdini_end_to_end.py), so the examples and the tests cannot drift apart.
``$HIP`` is the folder of the .hip file; Houdini expands it when the parameters are evaluated.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

Value = str | int | float


@dataclass(frozen=True)
class TopNode:
    """One TOP node: its name in the network, its type and the parameters set on it.
    Each node's input is the node before it in the example's list."""

    name: str
    type: str
    parms: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    top_nodes: tuple[TopNode, ...]
    # A geometry object with the meshcast Mesh Import SOP reading this file (None: no SOPs).
    mesh_file: str | None = None

    def with_parms(self, node_name: str, **parms: Value) -> Example:
        """A copy with more parameters set on one node (used by tests for tiny runs)."""
        nodes = tuple(replace(n, parms={**n.parms, **parms}) if n.name == node_name else n
                      for n in self.top_nodes)
        if nodes == self.top_nodes and node_name not in {n.name for n in nodes}:
            raise KeyError(node_name)
        return replace(self, top_nodes=nodes)

    def node(self, name: str) -> TopNode:
        return next(n for n in self.top_nodes if n.name == name)


CAPTURE_TO_MESH = Example(
    name="capture_to_mesh",
    title="Photos or a video -> prepare -> train -> extract -> mesh in SOPs",
    top_nodes=(
        TopNode("environment", "meshcast_environment", {"cuda_visible_devices": "0"}),
        TopNode("prepare", "meshcast_prepare", {
            "input": "$HIP/capture", "output_root": "$HIP/meshcast/scenes", "mode": "object",
            "frames": 150,
        }),
        TopNode("train", "meshcast_train", {
            "output_root": "$HIP/meshcast/runs", "method": "neus", "preset": "preview",
        }),
        TopNode("extract", "meshcast_extract", {"resolution": 512, "format": "ply"}),
    ),
    mesh_file="$HIP/meshcast/runs/capture/mesh.ply",
)

FOLDER_OF_CAPTURES = Example(
    name="folder_of_captures",
    title="Many captures in a folder -> one mesh each",
    top_nodes=(
        TopNode("environment", "meshcast_environment"),
        TopNode("prepare", "meshcast_prepare", {
            "input_pattern": "$HIP/captures/*", "output_root": "$HIP/meshcast/scenes",
            "pass_posed": 1,
        }),
        TopNode("train", "meshcast_train", {
            "output_root": "$HIP/meshcast/runs", "one_at_a_time": 1,
        }),
        TopNode("extract", "meshcast_extract", {"format": "ply", "keep_largest": 1}),
    ),
)

EXAMPLES = (CAPTURE_TO_MESH, FOLDER_OF_CAPTURES)
