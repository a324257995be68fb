"""meshcast TOP node types: Environment, Prepare, Train, Extract, Render, Eval.

PDG loads every module in ``$HOUDINI_PATH/pdg/types`` at startup and calls its
``registerTypes``; the meshcast package JSON puts ``hda/houdini`` on ``HOUDINI_PATH``. Each
class is a Python processor (pdg.processor.PyProcessor) whose parameters come from
``meshcast_houdini.parms`` and whose callbacks are one line into ``meshcast_houdini.tops``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pdg
from meshcast_houdini import parms, tops
from meshcast_houdini.pdg_protocols import PdgDependencyHolder, PdgWorkItem, PdgWorkItemHolder
from pdg.processor import PyProcessor


class MeshcastProcessor(PyProcessor):
    """Shared callbacks; subclasses only say which node they are."""

    kind: parms.Kind = "train"

    def __init__(self, node: Any) -> None:
        PyProcessor.__init__(self, node)

    @classmethod
    def templateName(cls) -> str:
        return parms.NODE_TYPE_NAMES[cls.kind]

    @classmethod
    def templateBody(cls) -> str:
        return parms.template_body(cls.kind)

    def onGenerate(self, item_holder: PdgWorkItemHolder, upstream_items: Sequence[PdgWorkItem],
                   generation_type: Any) -> Any:
        return tops.generate(self.kind, self, item_holder, upstream_items)

    def onRegenerate(self, item_holder: PdgWorkItemHolder, existing_items: Sequence[PdgWorkItem],
                     upstream_items: Sequence[PdgWorkItem], generation_type: Any) -> Any:
        # Generation is a pure function of parameters and upstream items: let PDG's own
        # regeneration compare the items onGenerate makes with the existing ones.
        return pdg.result.Missing

    def onAddInternalDependencies(self, dependency_holder: PdgDependencyHolder,
                                  work_items: Sequence[PdgWorkItem], is_static: bool) -> Any:
        if self.kind == "environment":
            return pdg.result.Success
        return tops.add_internal_dependencies(self, dependency_holder, work_items)

    def onCookTask(self, work_item: PdgWorkItem) -> Any:
        # Only items without a command cook in process (environment, posed-scene pass-through):
        # their attributes were set when they were generated.
        return pdg.result.Success


class EnvironmentProcessor(MeshcastProcessor):
    kind: parms.Kind = "environment"


class PrepareProcessor(MeshcastProcessor):
    kind: parms.Kind = "prepare"


class TrainProcessor(MeshcastProcessor):
    kind: parms.Kind = "train"


class ExtractProcessor(MeshcastProcessor):
    kind: parms.Kind = "extract"


class RenderProcessor(MeshcastProcessor):
    kind: parms.Kind = "render"


class EvalProcessor(MeshcastProcessor):
    kind: parms.Kind = "eval"


NODE_CLASSES: tuple[type[MeshcastProcessor], ...] = (
    EnvironmentProcessor, PrepareProcessor, TrainProcessor, ExtractProcessor, RenderProcessor,
    EvalProcessor,
)


def registerTypes(type_registry: Any) -> None:
    """Called by PDG when it loads this module: one TOP node type per class."""
    for cls in NODE_CLASSES:
        type_registry.registerNode(cls, pdg.nodeType.Processor, name=parms.NODE_TYPE_NAMES[cls.kind],
                                   label=parms.NODE_LABELS[cls.kind], category="meshcast")
