"""Errors a person can act on. Each names what went wrong, where, and how to fix it.

The CLI turns a MeshcastError into an ``error`` event and the matching exit code; anything
else is a bug (exit code 1, traceback on stderr). Standard library only.
"""
from __future__ import annotations

from meshcast.jobs import exit_codes


class MeshcastError(Exception):
    """Base class: ``code`` is machine-readable, ``hint`` tells the fix."""

    code = "meshcast.error"
    exit_code = exit_codes.FAILED

    def __init__(self, message: str, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message + (f"\n  hint: {self.hint}" if self.hint else "")


class BadInputError(MeshcastError):
    """Input data is missing, unreadable or inconsistent (exit code 3)."""

    code = "input.invalid"
    exit_code = exit_codes.BAD_INPUT


class JobFailedError(MeshcastError):
    """The job ran but could not succeed, e.g. training diverged (exit code 4)."""

    code = "job.failed"
    exit_code = exit_codes.FAILED


class MissingDependencyError(MeshcastError):
    """An optional package is needed (exit code 5)."""

    code = "dependency.missing"
    exit_code = exit_codes.MISSING_DEPENDENCY

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed",
            hint=f"pip install 'meshcast[{extra}]'  (or: pip install {package})",
            code=f"dependency.missing.{package}",
        )


class CancelledError(MeshcastError):
    """Stopped by the user (SIGINT/SIGTERM); the last checkpoint is kept (exit code 130)."""

    code = "job.cancelled"
    exit_code = exit_codes.CANCELLED


class UsageError(MeshcastError):
    """A bad command line or configuration value (exit code 2)."""

    code = "usage.invalid"
    exit_code = exit_codes.USAGE
