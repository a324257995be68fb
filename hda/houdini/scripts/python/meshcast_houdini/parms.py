"""The parameters of every meshcast TOP node: one list per node, the single source of truth.

The PDG node types (``pdg/types/meshcast_tops.py``) build their parameter templates from these
lists, the callbacks read exactly these names, and ``settings`` turns the values into typed
settings. Defaults are the meshcast CLI's own defaults (a test compares them with the real
parser). Training options whose default depends on ``--preset`` and the device are strings
that stay empty to mean "the preset's value".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

Kind = Literal["environment", "prepare", "train", "extract", "render", "eval"]
JOB_KINDS: tuple[Kind, ...] = ("prepare", "train", "extract", "render", "eval")
ALL_KINDS: tuple[Kind, ...] = ("environment", *JOB_KINDS)

ParmType = Literal["string", "file", "directory", "int", "float", "toggle", "menu"]
Value = str | int | float

# PDG parameter template types for each of our parameter kinds.
_TEMPLATE_TYPES = {
    "string": "String", "file": "String", "directory": "String", "menu": "String",
    "int": "Integer", "toggle": "Integer", "float": "Float",
}


@dataclass(frozen=True)
class Parm:
    """One node parameter: its name, label, kind, default and the help a user sees."""

    name: str
    label: str
    type: ParmType
    default: Value
    help: str
    menu: tuple[str, ...] = ()

    @property
    def template_type(self) -> str:
        return _TEMPLATE_TYPES[self.type]


def _common(output_root: str, output_help: str) -> tuple[Parm, ...]:
    return (
        Parm("input", "Input", "string", "",
             "File or folder to process. Empty: taken from the upstream work item (its meshcast "
             "attribute, else its first output file)."),
        Parm("input_pattern", "Input Pattern", "string", "",
             "When the node has no input: one work item per file or folder matching this glob "
             "pattern (e.g. $HIP/captures/*)."),
        Parm("output_root", "Output Root", "directory", output_root, output_help),
        Parm("python", "meshcast Python", "file", "",
             "Interpreter of the meshcast environment. Empty: set by an upstream meshcast "
             "Environment node, else $MESHCAST_PYTHON."),
        Parm("one_at_a_time", "One at a Time", "toggle", 0,
             "Run this node's work items one after another (one GPU shared by all items)."),
        Parm("extra_args", "Extra Arguments", "string", "",
             "More meshcast options, split like a command line (quotes work); never run "
             "through a shell."),
    )


_PRESET = "Empty: the preset's value for the chosen device."

PARMS: dict[Kind, tuple[Parm, ...]] = {
    "environment": (
        Parm("python", "meshcast Python", "file", "",
             "Python interpreter of the meshcast environment (e.g. /opt/meshcast/.venv/bin/python); "
             "work items run it. Empty: $MESHCAST_PYTHON."),
        Parm("cuda_home", "CUDA_HOME", "directory", "", "CUDA toolkit folder for the work items."),
        Parm("cuda_visible_devices", "CUDA_VISIBLE_DEVICES", "string", "",
             "GPUs the work items may use, e.g. 0 or 0,1. Empty: all."),
        Parm("extra_env", "Extra Variables", "string", "",
             "More environment variables, one NAME=VALUE per line. PYTHONPATH and PYTHONHOME are "
             "refused: they would break either Houdini or the meshcast Python."),
    ),
    "prepare": _common("$HIP/meshcast/scenes", "Scene folders are written to ROOT/NAME.") + (
        Parm("mode", "Mode", "menu", "object",
             "object: a sphere around the central object; scene: a sphere holding the cameras.",
             ("object", "scene")),
        Parm("frames", "Video Frames", "int", 150, "Video: frames to keep."),
        Parm("fps", "Video Frame Rate", "string", "",
             "Video: keep the sharpest frame of every 1/rate seconds instead of Video Frames "
             "(e.g. 2). Empty: use Video Frames."),
        Parm("max_size", "Max Image Size", "int", 1600,
             "Longest image side in pixels; 0 keeps the original size."),
        Parm("matcher", "Matcher", "menu", "auto",
             "auto: sequential for video and more than 150 images, else exhaustive.",
             ("auto", "exhaustive", "sequential")),
        Parm("camera", "Camera", "menu", "auto",
             "auto: one shared camera for video and same-size photos, else one per image.",
             ("auto", "single", "per-image")),
        Parm("camera_model", "Camera Model", "string", "SIMPLE_RADIAL",
             "COLMAP camera model estimated before undistortion (e.g. OPENCV)."),
        Parm("overwrite", "Overwrite", "toggle", 0, "Replace an existing scene folder."),
        Parm("keep_inputs", "Keep Inputs", "toggle", 0, "Keep the distorted input copies."),
        Parm("pass_posed", "Pass Posed Scenes", "toggle", 1,
             "Inputs that already are scenes (transforms.json or transforms_train.json) go "
             "through unchanged, without structure from motion."),
    ),
    "train": _common("$HIP/meshcast/runs", "Run folders are written to ROOT/NAME.") + (
        Parm("method", "Method", "menu", "neus",
             "neus: neural SDF, best meshes; nerf: hash-grid NeRF, fastest views.", ("neus", "nerf")),
        Parm("preset", "Preset", "menu", "preview", "Starting configuration.", ("preview", "quality")),
        Parm("device", "Device", "menu", "auto", "auto: CUDA when available.", ("auto", "cpu", "cuda")),
        Parm("max_steps", "Max Steps", "string", "", "Training steps. " + _PRESET),
        Parm("max_seconds", "Max Seconds", "string", "", "Wall-clock training budget in seconds. "
             "Empty: no limit."),
        Parm("batch_rays", "Rays per Batch", "string", "", "Rays per step. " + _PRESET),
        Parm("seed", "Seed", "string", "", "Random seed. Empty: 0."),
        Parm("data_max_size", "Max Image Size", "string", "",
             "Downscale images so the longer side is at most this. " + _PRESET),
        Parm("samples", "Samples per Ray", "string", "", "Uniform samples per ray. " + _PRESET),
        Parm("importance", "Importance Samples", "string", "",
             "Importance samples per ray (neus only). " + _PRESET),
        Parm("resume", "Resume", "toggle", 0, "Continue the run folder from its last checkpoint."),
    ),
    "extract": _common("", "Empty: the mesh goes into the run folder as mesh.FORMAT; "
                       "else it is written to ROOT/NAME.FORMAT.") + (
        Parm("resolution", "Resolution", "int", 512, "Grid samples per axis."),
        Parm("block_res", "Block Resolution", "int", 128, "Cells per block (bounds memory)."),
        Parm("format", "Format", "menu", "ply", "Mesh file format.", ("ply", "obj", "glb", "usd")),
        Parm("texture", "Texture", "menu", "vertex", "Vertex colours, a baked UV texture, or none.",
             ("vertex", "uv", "none")),
        Parm("texture_size", "Texture Size", "int", 1024, "Baked texture size in pixels."),
        Parm("keep_largest", "Keep Largest Piece", "toggle", 0, "Keep only the largest connected piece."),
        Parm("level", "Iso Level", "string", "", "Empty: SDF 0, NeRF density 10."),
        Parm("device", "Device", "menu", "auto", "auto: CUDA when available.", ("auto", "cpu", "cuda")),
    ),
    "render": _common("", "Empty: frames go to RUN/renders; else to ROOT/NAME.") + (
        Parm("orbit", "Orbit Views", "int", 0, "0: the scene's test views; N: N views on a circle."),
        Parm("video", "Video", "menu", "gif", "Also write a video of the frames.", ("gif", "mp4", "none")),
        Parm("max_size", "Max Image Size", "int", 400, "Longest image side in pixels."),
        Parm("device", "Device", "menu", "auto", "auto: CUDA when available.", ("auto", "cpu", "cuda")),
    ),
    "eval": _common("", "Empty: the metrics go to RUN/eval.json; else to ROOT/NAME.json.") + (
        Parm("gt", "Ground-Truth Mesh", "file", "", "Also compute Chamfer distance and F-score "
             "against this mesh."),
        Parm("samples", "Surface Samples", "int", 200000, "Surface samples per mesh."),
        Parm("tau", "F-score Threshold", "float", 0.01,
             "Fraction of the ground truth's bounding-box diagonal."),
    ),
}

NODE_TYPE_NAMES: dict[Kind, str] = {kind: f"meshcast_{kind}" for kind in ALL_KINDS}
NODE_LABELS: dict[Kind, str] = {
    "environment": "meshcast Environment", "prepare": "meshcast Prepare", "train": "meshcast Train",
    "extract": "meshcast Extract", "render": "meshcast Render", "eval": "meshcast Eval",
}


def parm_names(kind: Kind) -> list[str]:
    return [parm.name for parm in PARMS[kind]]


def template_body(kind: Kind) -> str:
    """The PDG parameter template (JSON text) of a node type, as ``templateBody`` returns it."""
    parameters = []
    for parm in PARMS[kind]:
        entry: dict[str, Value] = {
            "name": parm.name, "label": parm.label, "type": parm.template_type, "size": 1,
            "value": parm.default,
        }
        parameters.append(entry)
    return json.dumps({"name": NODE_TYPE_NAMES[kind], "parameters": parameters}, indent=1)
