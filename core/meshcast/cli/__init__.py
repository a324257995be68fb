"""``meshcast`` command line: one module per command under ``meshcast.cli``.

Each command module defines ``register(subparsers) -> ArgumentParser`` (which must import
nothing heavy: ``--help`` stays fast) and ``run(args, reporter) -> dict``; it may define
``format_result(data) -> str`` for the human summary. This module adds the common options
(``--events``, ``--quiet``), turns errors into protocol events and exit codes, and makes
SIGTERM behave like Ctrl-C (the job stops cleanly and keeps its last checkpoint).
"""
from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from meshcast import __version__
from meshcast.errors import CancelledError, MeshcastError
from meshcast.jobs import exit_codes
from meshcast.jobs.events import EventWriter

COMMANDS = ("demo", "doctor", "scene", "prepare", "train", "extract", "render", "eval")

EPILOG = """exit codes: 0 ok, 1 internal error (a bug), 2 usage, 3 bad input, 4 job failed,
5 missing optional dependency, 130 cancelled. Events: docs/protocol.md"""


def add_common_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "--events",
        action="append",
        metavar="PATH|-",
        default=None,
        help="write protocol events (one JSON object per line) to a file or '-' for stdout; "
        "may be given twice",
    )
    group.add_argument("--quiet", action="store_true", help="no progress bar or messages on stderr")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; ``argv`` (default ``sys.argv[1:]``) lets a command shape its options
    (``train`` lists the fields of the ``--method`` given)."""
    parser = argparse.ArgumentParser(
        prog="meshcast",
        description="Neural 3D reconstruction: captures in, clean aligned meshes out.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"meshcast {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"meshcast.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"meshcast.cli.{name}":
                continue  # command not built yet
            raise
        if getattr(module, "REGISTER_TAKES_ARGV", False):
            sub = module.register(subparsers, list(sys.argv[1:] if argv is None else argv))
        else:
            sub = module.register(subparsers)
        sub.set_defaults(_module=module)
        _add_common_recursive(sub)
    return parser


def _add_common_recursive(parser: argparse.ArgumentParser) -> None:
    nested = [
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ]
    if not nested:
        add_common_options(parser)
        return
    for action in nested:
        for child in set(action.choices.values()):
            _add_common_recursive(child)


def _raise_cancel(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if getattr(args, "command", None) is None or not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return exit_codes.USAGE
    from meshcast.reporting import Reporter  # tqdm is imported lazily inside

    writer = EventWriter(args.command, args.events or [])
    reporter = Reporter(writer, bar=not args.quiet and sys.stderr.isatty(), quiet=args.quiet)
    previous = signal.signal(signal.SIGTERM, _raise_cancel)
    # a shell's background jobs start with SIGINT ignored; cancelling must work there too
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        data = args.run(args, reporter)
        reporter.close()
        writer.emit("result", data=data or {})
        _print_result(args, data or {}, to_stderr=writer.to_stdout)
        return exit_codes.OK
    except KeyboardInterrupt:
        return _fail(writer, reporter, CancelledError("cancelled; the last checkpoint is kept"))
    except MeshcastError as exc:
        return _fail(writer, reporter, exc)
    except Exception as exc:  # noqa: BLE001 (a bug: say so, with the traceback on stderr)
        traceback.print_exc()
        error = MeshcastError(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="this is a bug in meshcast; please report it with the traceback above",
            code="internal",
        )
        error.exit_code = exit_codes.INTERNAL
        return _fail(writer, reporter, error)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        writer.close()


def _fail(writer: EventWriter, reporter: Any, exc: MeshcastError) -> int:
    reporter.close()
    writer.emit(
        "error", code=exc.code, message=exc.message, hint=exc.hint, exit_code=exc.exit_code
    )
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"  hint: {exc.hint}", file=sys.stderr)
    return exc.exit_code


def _print_result(args: argparse.Namespace, data: dict[str, Any], to_stderr: bool) -> None:
    if args.quiet:
        return
    formatter = getattr(args._module, "format_result", None)
    text = formatter(data) if formatter else json.dumps(data, indent=2, default=str)
    if text:
        print(text, file=sys.stderr if to_stderr else sys.stdout)
