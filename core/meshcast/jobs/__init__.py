"""The job protocol (standard library only; see docs/protocol.md)."""
from meshcast.jobs import exit_codes
from meshcast.jobs.client import JobClient, JobOutcome
from meshcast.jobs.events import (
    EVENT_TYPES,
    PROTOCOL_VERSION,
    EventWriter,
    ProtocolError,
    make_event,
    parse_event,
    read_events,
)

__all__ = [
    "EVENT_TYPES",
    "PROTOCOL_VERSION",
    "EventWriter",
    "JobClient",
    "JobOutcome",
    "ProtocolError",
    "exit_codes",
    "make_event",
    "parse_event",
    "read_events",
]
