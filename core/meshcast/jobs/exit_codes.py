"""Process exit codes of every ``meshcast`` command (documented in docs/protocol.md)."""

OK = 0
INTERNAL = 1  # a bug in meshcast: the traceback is on stderr, please report it
USAGE = 2  # bad command line (unknown option, invalid value); argparse uses 2 as well
BAD_INPUT = 3  # input data is missing, unreadable or inconsistent (names the file)
FAILED = 4  # the job ran but could not succeed (diverged training, failed reconstruction)
MISSING_DEPENDENCY = 5  # an optional package the command needs is not installed
CANCELLED = 130  # interrupted (SIGINT/SIGTERM, or the client's cancel); last checkpoint kept

NAMES = {
    OK: "ok",
    INTERNAL: "internal",
    USAGE: "usage",
    BAD_INPUT: "bad_input",
    FAILED: "failed",
    MISSING_DEPENDENCY: "missing_dependency",
    CANCELLED: "cancelled",
}
