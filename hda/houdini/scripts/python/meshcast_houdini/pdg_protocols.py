"""Typed protocols for the few ``pdg`` calls the meshcast nodes make (types-houdini has no
``pdg`` stubs). Each method is documented by SideFX for Houdini 20.5 and 21; the table in
docs/houdini.md links the pages. The test fakes in tests/houdini/fake_pdg.py implement them.
"""
from __future__ import annotations

from typing import Any, Protocol


class PdgFile(Protocol):
    """pdg.File: a path with a tag."""

    @property
    def path(self) -> str: ...

    @property
    def tag(self) -> str: ...


class PdgAttribute(Protocol):
    """pdg.AttributeString (returned by pdg.WorkItem.addAttrib)."""

    def setValue(self, value: str, index: int = 0) -> None: ...

    def setFlag(self, flag: Any) -> None: ...


class PdgWorkItem(Protocol):
    """pdg.WorkItem: attributes, command, expected and actual output files."""

    @property
    def index(self) -> int: ...

    @property
    def outputFiles(self) -> list[Any]: ...

    @property
    def expectedOutputFiles(self) -> list[Any]: ...

    def stringAttribValue(self, name: str, index: int = 0) -> str | None: ...

    def setStringAttrib(self, name: str, value: str, index: int = 0) -> None: ...

    def addAttrib(self, name: str, type: Any) -> PdgAttribute: ...

    def setCommand(self, command: str) -> None: ...

    def addExpectedOutputFile(self, path: str, tag: str = "", own: bool = True) -> None: ...


class PdgPort(Protocol):
    """pdg.Port: one parameter of a node, evaluated for a work item (``@attrib`` expansion)."""

    def evaluateString(self, work_item: PdgWorkItem | None = None) -> str: ...

    def evaluateInt(self, work_item: PdgWorkItem | None = None) -> int: ...

    def evaluateFloat(self, work_item: PdgWorkItem | None = None) -> float: ...


class PdgNode(Protocol):
    """pdg.Node / pdg.NodeInterface as a Python processor sees itself (``self``)."""

    def __getitem__(self, name: str) -> PdgPort: ...


class PdgWorkItemHolder(Protocol):
    """pdg.WorkItemHolder: creates the work items of one onGenerate call."""

    def addWorkItem(self, **kwargs: Any) -> PdgWorkItem: ...


class PdgDependencyHolder(Protocol):
    """pdg.DependencyHolder: dependencies between work items of one node."""

    def addDependency(self, dependent: PdgWorkItem, dependency: PdgWorkItem) -> None: ...
