"""Map pydantic config models onto command-line options, one option per config path.

A field ``lr`` of the sub-model ``optim`` becomes ``--optim.lr``; ``max_seconds`` at the top
becomes ``--max-seconds``. Values are parsed as JSON when they look like JSON (numbers, lists,
``true``/``false``) and validated by the model, so the error names the option. Boolean fields
also work as bare flags (``--keep-largest``). Fields whose type is a union of models (a
discriminated choice such as the training method) are left to the command to expose.
"""
from __future__ import annotations

import argparse
import json
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from meshcast.errors import UsageError

_DEST_PREFIX = "cfg:"


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_model_union(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_model(arg) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _is_model_union(typing.get_args(annotation)[0])
    return False


def option_name(path: str) -> str:
    return "--" + path.replace("_", "-")


def add_model_options(
    parser: argparse.ArgumentParser | Any,
    model_cls: type[BaseModel],
    prefix: str = "",
    skip: tuple[str, ...] = (),
) -> None:
    """Add one option per leaf field of ``model_cls`` (recursing into sub-models)."""
    group = parser.add_argument_group(f"{prefix.rstrip('.') or model_cls.__name__} settings")
    for name, info in model_cls.model_fields.items():
        path = prefix + name
        if path in skip:
            continue
        annotation = info.annotation
        if _is_model(annotation):
            add_model_options(parser, annotation, prefix=path + ".", skip=skip)
            continue
        if _is_model_union(annotation):
            continue
        kwargs: dict[str, Any] = {
            "dest": _DEST_PREFIX + path,
            "default": argparse.SUPPRESS,
            "metavar": _metavar(annotation),
        }
        default = info.default if info.default is not None else None
        description = (info.description or "").strip()
        default_text = "" if default is None else f" (default: {json.dumps(default, default=str)})"
        kwargs["help"] = (description + default_text).strip() or None
        if annotation is bool:
            kwargs.update(nargs="?", const="true")
        choices = _literal_choices(annotation)
        if choices:
            kwargs["choices"] = choices
        group.add_argument(option_name(path), **kwargs)


def _literal_choices(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return None


def _metavar(annotation: Any) -> str:
    if annotation is bool:
        return "BOOL"
    if annotation in (int, float):
        return annotation.__name__.upper()
    if _literal_choices(annotation):
        return "{" + ",".join(_literal_choices(annotation) or []) + "}"
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return "JSON_LIST"
    return "VALUE"


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The config values given on the command line, as a nested dict."""
    nested: dict[str, Any] = {}
    for dest, value in vars(args).items():
        if not dest.startswith(_DEST_PREFIX):
            continue
        keys = dest[len(_DEST_PREFIX):].split(".")
        node = nested
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = _parse_value(value) if isinstance(value, str) else value
    return nested


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def apply_overrides(config: BaseModel, overrides: dict[str, Any]) -> BaseModel:
    """A new, validated config: ``config`` with ``overrides`` merged in (never mutated)."""
    data = _deep_merge(config.model_dump(mode="json"), overrides)
    try:
        return type(config).model_validate(data)
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc), hint="see --help for valid values") from exc


def describe_validation_error(exc: ValidationError, source: str | None = None) -> str:
    """One readable line per problem, naming the option/field (and the file when given)."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"{option_name(loc) if source is None else loc}: {err['msg']}")
    where = f"{source}: " if source else ""
    return where + "invalid configuration: " + "; ".join(lines)
