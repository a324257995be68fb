"""The meshcast TOP nodes' callbacks: read parameters, plan, apply the plan to PDG work items.

Called with one line from each node type in ``pdg/types/meshcast_tops.py``. Only this module
and that file touch ``pdg``; ``pdg`` is imported inside the functions (never at module level)
so that the module can be imported, type-checked and tested without Houdini.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshcast_houdini import parms, work_items
from meshcast_houdini.parms import Kind, Value
from meshcast_houdini.pdg_protocols import (
    PdgDependencyHolder,
    PdgNode,
    PdgWorkItem,
    PdgWorkItemHolder,
)
from meshcast_houdini.settings import NodeSettings, SettingsError, read_settings
from meshcast_houdini.work_items import PlanContext, UpstreamItem, WorkItemSpec


def read_parm_values(node: PdgNode, kind: Kind, work_item: PdgWorkItem | None) -> dict[str, Value]:
    """Every parameter of a ``kind`` node, evaluated for ``work_item`` (``@attr`` expands)."""
    values: dict[str, Value] = {}
    for parm in parms.PARMS[kind]:
        port = node[parm.name]
        # Without a work item, call the documented no-argument form.
        args = () if work_item is None else (work_item,)
        if parm.template_type == "Integer":
            values[parm.name] = port.evaluateInt(*args)
        elif parm.template_type == "Float":
            values[parm.name] = port.evaluateFloat(*args)
        else:
            values[parm.name] = port.evaluateString(*args)
    return values


def upstream_item(work_item: PdgWorkItem, position: int) -> UpstreamItem:
    """What the planner needs from an upstream pdg.WorkItem: meshcast attributes, outputs."""
    attributes = {}
    for name in work_items.UPSTREAM_ATTRIBUTES:
        value = work_item.stringAttribValue(name)
        if value:
            attributes[name] = value
    files = list(work_item.outputFiles) or list(work_item.expectedOutputFiles)
    return UpstreamItem(index=position, attributes=attributes,
                        output_files=tuple(str(f.path) for f in files))


def generate(kind: Kind, node: PdgNode, item_holder: PdgWorkItemHolder,
             upstream_items: Sequence[PdgWorkItem], context: PlanContext | None = None) -> Any:
    """onGenerate: one work item per upstream item (or per Input Pattern match)."""
    import pdg

    upstream = [upstream_item(item, i) for i, item in enumerate(upstream_items)]

    def read(item: UpstreamItem | None) -> NodeSettings:
        pdg_item = None if item is None else upstream_items[item.index]
        return read_settings(kind, read_parm_values(node, kind, pdg_item))

    try:
        specs = work_items.plan_work_items(kind, read, upstream, context or PlanContext())
    except SettingsError as exc:
        raise pdg.CookError(f"{parms.NODE_LABELS[kind]}: {exc}") from None
    for spec in specs:
        parent = None if spec.parent is None else upstream_items[spec.parent]
        add_work_item(item_holder, spec, parent, pdg)
    return pdg.result.Success


def add_work_item(item_holder: PdgWorkItemHolder, spec: WorkItemSpec,
                  parent: PdgWorkItem | None, pdg: Any) -> PdgWorkItem:
    """Create the pdg.WorkItem for ``spec``: attributes, exported environment, command and
    expected outputs. A spec without a command becomes an in-process item that cooks at once."""
    options: dict[str, Any] = {}
    if parent is not None:
        options["parent"] = parent
    if not spec.argv:
        options["inProcess"] = True
    work_item = item_holder.addWorkItem(**options)
    for name, value in spec.attributes.items():
        work_item.setStringAttrib(name, value)
    for name, value in spec.env.items():
        attribute = work_item.addAttrib(name, pdg.attribType.String)
        attribute.setValue(value)
        attribute.setFlag(pdg.attribFlag.EnvExport)
    if spec.argv:
        work_item.setCommand(spec.command())
    for output in spec.expected_outputs:
        work_item.addExpectedOutputFile(output.path, output.tag, True)
    return work_item


def add_internal_dependencies(node: PdgNode, dependency_holder: PdgDependencyHolder,
                              items: Sequence[PdgWorkItem]) -> Any:
    """onAddInternalDependencies: with One at a Time on, each item waits for the previous."""
    import pdg

    if node["one_at_a_time"].evaluateInt():
        ordered = sorted(items, key=lambda item: item.index)
        for dependent, dependency in work_items.serial_dependencies(len(ordered)):
            dependency_holder.addDependency(ordered[dependent], ordered[dependency])
    return pdg.result.Success
