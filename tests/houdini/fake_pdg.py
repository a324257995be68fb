"""Small fakes of the ``pdg`` module, written from SideFX's pdg documentation (20.5/21).

Only what the meshcast nodes use, with the documented behaviour that matters to them:

* ``pdg.WorkItemHolder.addWorkItem(parent=..., inProcess=...)``: a child work item starts
  with a copy of its parent's attributes (attributes, exported environment included, are
  inherited downstream); unknown options are an error here, so that the code cannot lean on
  options the documentation does not list.
* ``pdg.WorkItem``: ``setStringAttrib``, ``stringAttribValue`` (None when missing),
  ``addAttrib`` + ``setValue`` + ``setFlag(pdg.attribFlag.EnvExport)`` (exported to the job's
  environment), ``setCommand``, ``addExpectedOutputFile``, ``outputFiles``.
* ``pdg.Port.evaluateString/Int/Float(work_item)``: a parameter the node type did not declare
  in its template raises KeyError, and ``@name`` expands to the work item's attribute.
* ``FakeScheduler`` cooks like the local scheduler with the default cache mode: a work item
  whose expected outputs all exist is "cooked from cache" (pdg.workItemState.CookedCache)
  and its command is not run; otherwise its command runs out of process with the exported
  variables in its environment, its log keeps stdout and stderr, a non-zero exit fails it.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
import types
from dataclasses import dataclass, field
from typing import Any


class _Enum:
    def __init__(self, prefix: str, names: list[str]) -> None:
        for name in names:
            setattr(self, name, f"{prefix}.{name}")


class CookError(Exception):
    """pdg.CookError: raised in node callbacks to fail the node with a message."""


class PyProcessor:
    """pdg.processor.PyProcessor: ``self[name]`` is the node's parameter port."""

    def __init__(self, node: FakeNode) -> None:
        self._fake_node = node

    def __getitem__(self, name: str) -> FakePort:
        return self._fake_node.port(name)


def make_pdg_module() -> types.ModuleType:
    pdg = types.ModuleType("pdg")
    pdg.result = _Enum("result", ["Success", "Failure", "Missing", "All", "None"])
    pdg.attribType = _Enum("attribType", ["Int", "Float", "String", "File", "PyObject", "Dict"])
    pdg.attribFlag = _Enum("attribFlag", ["NoFlags", "NoCopy", "EnvExport", "ReadOnly"])
    pdg.nodeType = _Enum("nodeType", ["Processor", "Partitioner", "Mapper", "Scheduler"])
    pdg.generationType = _Enum("generationType", ["Static", "Dynamic", "Regenerate"])
    pdg.CookError = CookError
    processor = types.ModuleType("pdg.processor")
    processor.PyProcessor = PyProcessor
    pdg.processor = processor
    return pdg


def install(monkeypatch: Any) -> types.ModuleType:
    """Put the fake ``pdg`` (and ``pdg.processor``) into sys.modules for one test."""
    pdg = make_pdg_module()
    monkeypatch.setitem(sys.modules, "pdg", pdg)
    monkeypatch.setitem(sys.modules, "pdg.processor", pdg.processor)
    return pdg


@dataclass
class FakeFile:
    path: str
    tag: str = ""


@dataclass
class FakeAttribute:
    type: str
    values: list[Any] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    def setValue(self, value: Any, index: int = 0) -> None:
        while len(self.values) <= index:
            self.values.append(None)
        self.values[index] = value

    def setFlag(self, flag: str) -> None:
        self.flags.add(flag)


class FakeWorkItem:
    _next_id = 0

    def __init__(self, index: int, parent: FakeWorkItem | None = None, in_process: bool = False):
        FakeWorkItem._next_id += 1
        self.id = FakeWorkItem._next_id
        self.index = index
        self.parent = parent
        self.in_process = in_process
        self.attributes: dict[str, FakeAttribute] = copy.deepcopy(parent.attributes) if parent else {}
        self.command = ""
        self.expected: list[FakeFile] = []
        self.outputs: list[FakeFile] = []
        self.state = "Uncooked"
        self.log = ""

    # attributes ---------------------------------------------------------------------
    def stringAttribValue(self, name: str, index: int = 0) -> str | None:
        attribute = self.attributes.get(name)
        if attribute is None or attribute.type != "attribType.String" or index >= len(attribute.values):
            return None
        return attribute.values[index]

    def setStringAttrib(self, name: str, value: str, index: int = 0) -> None:
        self.addAttrib(name, "attribType.String").setValue(value, index)

    def addAttrib(self, name: str, type: str) -> FakeAttribute:
        existing = self.attributes.get(name)
        if existing is not None:
            if existing.type != type:
                raise TypeError(f"attribute {name} exists with type {existing.type}")
            return existing
        self.attributes[name] = FakeAttribute(type)
        return self.attributes[name]

    @property
    def environment(self) -> dict[str, str]:
        """Exported attributes: what the scheduler puts in the job's environment."""
        return {name: str(a.values[0]) for name, a in self.attributes.items()
                if "attribFlag.EnvExport" in a.flags and a.values}

    # command and files ----------------------------------------------------------------
    def setCommand(self, command: str) -> None:
        self.command = command

    def addExpectedOutputFile(self, path: str, tag: str = "", own: bool = True) -> None:
        self.expected.append(FakeFile(path, tag))

    @property
    def outputFiles(self) -> list[FakeFile]:
        return list(self.outputs)

    @property
    def expectedOutputFiles(self) -> list[FakeFile]:
        return list(self.expected)


class FakeItemHolder:
    """pdg.WorkItemHolder."""

    OPTIONS = frozenset({"parent", "inProcess", "index", "name", "priority", "frame", "cloneResultData"})

    def __init__(self) -> None:
        self.items: list[FakeWorkItem] = []

    def addWorkItem(self, **kwargs: Any) -> FakeWorkItem:
        unknown = set(kwargs) - self.OPTIONS
        if unknown:
            raise TypeError(f"addWorkItem got undocumented options {sorted(unknown)}")
        parent = kwargs.get("parent")
        index = kwargs.get("index", parent.index if parent is not None else len(self.items))
        item = FakeWorkItem(index, parent, bool(kwargs.get("inProcess", False)))
        self.items.append(item)
        return item


class FakeDependencyHolder:
    """pdg.DependencyHolder."""

    def __init__(self) -> None:
        self.pairs: list[tuple[FakeWorkItem, FakeWorkItem]] = []

    def addDependency(self, dependent: FakeWorkItem, dependency: FakeWorkItem) -> None:
        self.pairs.append((dependent, dependency))


class FakePort:
    """pdg.Port of one parameter; ``@name`` expands to the work item's string attribute."""

    def __init__(self, name: str, template_type: str, value: Any) -> None:
        self.name, self.template_type, self.value = name, template_type, value

    def _expand(self, work_item: FakeWorkItem | None) -> str:
        text = str(self.value)
        if work_item is None:
            return text
        return re.sub(r"@([A-Za-z_][A-Za-z0-9_]*)",
                      lambda m: work_item.stringAttribValue(m.group(1)) or "", text)

    def evaluateString(self, work_item: FakeWorkItem | None = None) -> str:
        if self.template_type != "String":
            raise TypeError(f"{self.name} is a {self.template_type} parameter")
        return self._expand(work_item)

    def evaluateInt(self, work_item: FakeWorkItem | None = None) -> int:
        if self.template_type != "Integer":
            raise TypeError(f"{self.name} is a {self.template_type} parameter")
        return int(self.value)

    def evaluateFloat(self, work_item: FakeWorkItem | None = None) -> float:
        if self.template_type != "Float":
            raise TypeError(f"{self.name} is a {self.template_type} parameter")
        return float(self.value)


class FakeNode:
    """The parameters of one node, declared by a PDG template body (JSON text)."""

    def __init__(self, template_body: str, values: dict[str, Any] | None = None) -> None:
        template = json.loads(template_body)
        self.template_name = template["name"]
        self.declared = {p["name"]: p for p in template["parameters"]}
        values = dict(values or {})
        undeclared = set(values) - set(self.declared)
        if undeclared:
            raise KeyError(f"{self.template_name} has no parameters {sorted(undeclared)}")
        self.values = {name: values.get(name, p["value"]) for name, p in self.declared.items()}
        self.read: set[str] = set()

    def port(self, name: str) -> FakePort:
        if name not in self.declared:
            raise KeyError(f"{self.template_name} has no parameter {name!r}")
        self.read.add(name)
        return FakePort(name, self.declared[name]["type"], self.values[name])


class FakeTypeRegistry:
    """pdg.TypeRegistry as seen by registerTypes."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []

    def registerNode(self, node_class: type, node_type: str, **kwargs: Any) -> None:
        self.nodes.append({"class": node_class, "type": node_type, **kwargs})


@dataclass
class CookReport:
    ran: list[FakeWorkItem] = field(default_factory=list)
    cached: list[FakeWorkItem] = field(default_factory=list)
    in_process: list[FakeWorkItem] = field(default_factory=list)
    failed: list[FakeWorkItem] = field(default_factory=list)


class FakeScheduler:
    """Cooks work items like the local scheduler with the default (automatic) cache mode."""

    def __init__(self, base_env: dict[str, str] | None = None, timeout: float = 300) -> None:
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.timeout = timeout
        self.report = CookReport()

    def cook(self, processor: Any, items: list[FakeWorkItem]) -> None:
        for item in items:
            if item.expected and all(os.path.exists(f.path) for f in item.expected):
                item.state = "CookedCache"
                item.outputs = list(item.expected)
                self.report.cached.append(item)
            elif item.in_process:
                processor.onCookTask(item)
                item.state = "CookedSuccess"
                item.outputs = list(item.expected)
                self.report.in_process.append(item)
            else:
                self._run(item)

    def _run(self, item: FakeWorkItem) -> None:
        env = dict(self.base_env)
        env.update(item.environment)
        proc = subprocess.run(shlex.split(item.command), env=env, capture_output=True, text=True,
                              timeout=self.timeout, check=False)
        item.log = proc.stdout + proc.stderr
        self.report.ran.append(item)
        if proc.returncode == 0:
            item.state = "CookedSuccess"
            item.outputs = [f for f in item.expected if os.path.exists(f.path)]
        else:
            item.state = "CookedFail"
            self.report.failed.append(item)
