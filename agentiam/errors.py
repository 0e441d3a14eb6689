"""Errors that reach the user as a message and an exit code, never as a traceback."""

from __future__ import annotations


class AgentiamError(Exception):
    """A problem the user can act on. The CLI prints the message and exits with `exit_code`."""

    exit_code = 2


class UsageError(AgentiamError):
    """Bad flags, configuration or input files."""


class InputFormatError(UsageError):
    """An input file that is not what agentiam can read."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class DatabaseError(AgentiamError):
    """The inventory database cannot be used as it is (newer schema, corrupt file, locked)."""


class CollectorError(Exception):
    """A collector scope failed; recorded on its collector_run, the scan goes on with the others."""
