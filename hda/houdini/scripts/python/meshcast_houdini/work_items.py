"""Work items of a meshcast node: what each one runs, exports, publishes and must produce.

``plan_work_items`` makes one ``WorkItemSpec`` per upstream work item, or, when the node has
no input, one per file matching its Input Pattern (or one for its Input). A spec holds the
argument list (the meshcast Python running ``run_job.py``, which runs meshcast), the string
attributes it publishes for downstream nodes (``meshcast_scene``, ``meshcast_run``,
``meshcast_mesh``...), and the files it is expected to write. PDG skips a work item whose
expected files all exist (its cache), which is what makes a second cook free.

Paths are used as given (Houdini has already expanded ``$HIP`` and ``@attributes``).
"""
from __future__ import annotations

import glob
import ntpath
import os
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from meshcast_houdini import commands, environment
from meshcast_houdini.parms import Kind
from meshcast_houdini.settings import (
    AnyJobSettings,
    EnvironmentSettings,
    EvalSettings,
    ExtractSettings,
    NodeSettings,
    PrepareSettings,
    RenderSettings,
    SettingsError,
    TrainSettings,
)

RUN_JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_job.py")
NAME_ATTRIBUTE = "meshcast_name"
# The attribute each node publishes for the next one (and reads from the previous one).
OUTPUT_ATTRIBUTES: dict[str, str] = {
    "prepare": "meshcast_scene", "train": "meshcast_run", "extract": "meshcast_mesh",
    "render": "meshcast_renders", "eval": "meshcast_eval",
}
UPSTREAM_ATTRIBUTES = (NAME_ATTRIBUTE, environment.PYTHON_ATTRIBUTE, *OUTPUT_ATTRIBUTES.values())
POSED_SCENE_FILES = ("transforms.json", "transforms_train.json")


@dataclass(frozen=True)
class UpstreamItem:
    """What a node needs from one upstream work item: its index, its meshcast string
    attributes and its output file paths."""

    index: int
    attributes: Mapping[str, str] = field(default_factory=dict)
    output_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutputFile:
    path: str
    tag: str


@dataclass(frozen=True)
class WorkItemSpec:
    """One work item to add: parent upstream index (None: no parent), the argument list to
    run (empty: nothing to run, the item is done once generated), exported environment
    variables, published string attributes and expected output files."""

    name: str
    parent: int | None
    argv: tuple[str, ...]
    env: Mapping[str, str]
    attributes: Mapping[str, str]
    expected_outputs: tuple[OutputFile, ...]

    def command(self, platform: str | None = None) -> str:
        return commands.join_command(self.argv, platform) if self.argv else ""


@dataclass(frozen=True)
class PlanContext:
    """Where the job wrapper is and the environment the node was cooked in."""

    run_job: str = RUN_JOB
    environ: Mapping[str, str] = field(default_factory=lambda: dict(environment.default_environ()))


SettingsReader = Callable[[UpstreamItem | None], NodeSettings]


def plan_work_items(kind: Kind, read: SettingsReader, upstream: Sequence[UpstreamItem],
                    context: PlanContext) -> list[WorkItemSpec]:
    """Specs of the work items a ``kind`` node generates: one per upstream item, or one per
    Input Pattern match (for each upstream item, if any). ``read(item)`` evaluates the node's
    parameters for one upstream item (``None`` when the node has no input)."""
    specs = []
    items: Sequence[UpstreamItem | None] = upstream or [None]
    for item in items:
        settings = read(item)
        if isinstance(settings, EnvironmentSettings):
            specs.append(_plan_one(kind, settings, item, None, context))
        elif settings.input_pattern or item is None:
            # One item per pattern match (each a child of the upstream item, e.g. of an
            # environment node's item), or the node's single Input.
            specs += [_plan_one(kind, settings, item, source, context)
                      for source in pattern_sources(settings)]
        else:
            specs.append(_plan_one(kind, settings, item, None, context))
    return specs


def pattern_sources(settings: AnyJobSettings) -> list[str]:
    """Inputs of a node without upstream items: the Input Pattern's matches, else its Input,
    else none."""
    if settings.input_pattern:
        matches = sorted(glob.glob(settings.input_pattern))
        if not matches:
            raise SettingsError(f"input_pattern: nothing matches {settings.input_pattern!r}")
        return [m.rstrip("/\\") for m in matches]
    if settings.input:
        return [settings.input]
    # Nothing upstream (or every upstream item failed) and nothing set here: like any PDG
    # processor without input items, the node makes no work items.
    return []


def _plan_one(kind: Kind, settings: NodeSettings, item: UpstreamItem | None,
              source: str | None, context: PlanContext) -> WorkItemSpec:
    parent = None if item is None else item.index
    if isinstance(settings, EnvironmentSettings):
        python = settings.python or context.environ.get(environment.PYTHON_VARIABLE, "")
        attributes = {environment.PYTHON_ATTRIBUTE: python} if python else {}
        return WorkItemSpec(name="environment", parent=parent, argv=(),
                            env=environment.exported_variables(settings), attributes=attributes,
                            expected_outputs=())
    attrs = {} if item is None else dict(item.attributes)
    from_pattern = source is not None
    source = source or resolve_source(kind, settings, item)
    name = ("" if from_pattern else attrs.get(NAME_ATTRIBUTE, "")) or item_name(source)
    if isinstance(settings, PrepareSettings) and settings.pass_posed:
        posed = find_posed_scene(source)
        if posed is not None:
            return WorkItemSpec(name=name, parent=parent, argv=(), env={},
                                attributes={NAME_ATTRIBUTE: name, "meshcast_scene": source},
                                expected_outputs=(OutputFile(posed, "file/json"),))
    target, outputs, wrapper_args = _target_and_outputs(settings, source, name)
    python = environment.resolve_python(settings.python, attrs.get(environment.PYTHON_ATTRIBUTE),
                                        context.environ)
    meshcast_args = commands.build_command(settings, source, target)
    argv = (python, "-E", context.run_job, *wrapper_args, "--", *meshcast_args)
    attributes = {NAME_ATTRIBUTE: name, OUTPUT_ATTRIBUTES[kind]: target}
    if isinstance(settings, TrainSettings):
        attributes["meshcast_scene"] = source
    if kind in ("extract", "render", "eval"):
        attributes["meshcast_run"] = source
    return WorkItemSpec(name=name, parent=parent, argv=argv, env={}, attributes=attributes,
                        expected_outputs=tuple(outputs))


def _target_and_outputs(settings: AnyJobSettings, source: str,
                        name: str) -> tuple[str, list[OutputFile], list[str]]:
    """Output path of the command, the files it must leave, and options for ``run_job``."""
    root = settings.output_root
    if isinstance(settings, PrepareSettings):
        target = _join(_required_root(root), name)
        return target, [OutputFile(_join(target, "transforms.json"), "file/json")], []
    if isinstance(settings, TrainSettings):
        target = _join(_required_root(root), name)
        return target, [OutputFile(_join(target, "model.safetensors"), "file/safetensors")], []
    if isinstance(settings, ExtractSettings):
        file_name = f"mesh.{settings.format}" if not root else f"{name}.{settings.format}"
        target = _join(root or source, file_name)
        return target, [OutputFile(target, f"file/geo/{settings.format}")], []
    if isinstance(settings, RenderSettings):
        target = _join(root, name) if root else _join(source, "renders")
        return target, render_outputs(settings, target), []
    if isinstance(settings, EvalSettings):
        target = _join(root, f"{name}.json") if root else _join(source, "eval.json")
        return target, [OutputFile(target, "file/json")], ["--result-json", target]
    raise TypeError(type(settings).__name__)


def render_outputs(settings: RenderSettings, folder: str) -> list[OutputFile]:
    """Frames of an orbit (known in advance) and the video. The test split's frame names
    depend on the scene, so only its video is declared (none when video is off)."""
    outputs = [OutputFile(_join(folder, f"orbit_{i:04d}.png"), "file/image/png")
               for i in range(settings.orbit)]
    if settings.video != "none" and settings.orbit != 1:
        outputs.append(OutputFile(_join(folder, f"video.{settings.video}"), f"file/video/{settings.video}"))
    return outputs


def resolve_source(kind: Kind, settings: AnyJobSettings, item: UpstreamItem | None) -> str:
    """The input path of a work item: the Input parameter, else what the upstream item carries."""
    if settings.input:
        return settings.input
    if item is None:
        raise SettingsError("input: no upstream work item and no Input")
    if kind == "prepare":
        if item.output_files:
            return item.output_files[0]
    elif kind == "train":
        scene = item.attributes.get("meshcast_scene") or _scene_from_files(item.output_files)
        if scene:
            return scene
    else:
        run = item.attributes.get("meshcast_run") or _run_from_files(item.output_files)
        if run:
            return run
    wanted = {"prepare": "an output file", "train": "a scene (meshcast_scene or transforms.json)"}
    raise SettingsError(f"input: upstream work item {item.index} carries no "
                        f"{wanted.get(kind, 'run folder (meshcast_run or model.safetensors)')}; "
                        "set Input")


def _scene_from_files(files: Sequence[str]) -> str | None:
    for path in files:
        base = _basename(path)
        if base.startswith("transforms") and base.endswith(".json"):
            return _dirname(path)
    return files[0] if files and os.path.isdir(files[0]) else None


def _run_from_files(files: Sequence[str]) -> str | None:
    for path in files:
        if _basename(path) == "model.safetensors":
            return _dirname(path)
    return None


def find_posed_scene(folder: str) -> str | None:
    """The transforms file that makes ``folder`` a posed scene already, or None."""
    for name in POSED_SCENE_FILES:
        path = _join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def item_name(path: str) -> str:
    """Name of a capture or scene: its file or folder name without extension."""
    base = _basename(path.rstrip("/\\")) or "capture"
    stem, ext = os.path.splitext(base)
    return stem if ext and stem else base


def outputs_exist(spec: WorkItemSpec) -> bool:
    """True when every expected output is on disk: PDG's cache would skip this work item."""
    return bool(spec.expected_outputs) and all(os.path.exists(o.path) for o in spec.expected_outputs)


def serial_dependencies(count: int) -> list[tuple[int, int]]:
    """(dependent, dependency) index pairs that chain ``count`` items one after another."""
    return [(i, i - 1) for i in range(1, count)]


def _required_root(root: str) -> str:
    if not root:
        raise SettingsError("output_root: empty; set the folder that receives the outputs")
    return root


def _join(folder: str, name: str) -> str:
    """Join with the separator style the folder already uses (Windows or POSIX)."""
    if "\\" in folder and "/" not in folder:
        return ntpath.join(folder, name)
    return posixpath.join(folder.replace("\\", "/") if "/" in folder else folder, name)


def _basename(path: str) -> str:
    return ntpath.basename(path) if "\\" in path else posixpath.basename(path)


def _dirname(path: str) -> str:
    return ntpath.dirname(path) if "\\" in path else posixpath.dirname(path)
