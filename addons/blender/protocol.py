"""meshcast's job protocol (core/meshcast/jobs: JobClient, parse_event, exit codes), stdlib only.

In the installed zip it is the vendored subpackage ``jobs_protocol`` that ``build.py`` copies
from core/meshcast/jobs; in the source tree (addons/blender/ beside core/) it is imported from
../../core, or from an installed meshcast.
"""
from __future__ import annotations

import sys
from pathlib import Path

try:
    from .jobs_protocol import JobClient, JobOutcome, exit_codes, parse_event  # the built zip
except ImportError:
    try:
        from meshcast.jobs import JobClient, JobOutcome, exit_codes, parse_event
    except ImportError:
        _core = Path(__file__).resolve().parents[2] / "core"
        if not (_core / "meshcast" / "jobs" / "__init__.py").is_file():
            raise ImportError("meshcast's job protocol is missing: install the add-on from the zip "
                              "that addons/blender/build.py makes") from None
        sys.path.append(str(_core))
        from meshcast.jobs import JobClient, JobOutcome, exit_codes, parse_event

__all__ = ["JobClient", "JobOutcome", "exit_codes", "parse_event"]
