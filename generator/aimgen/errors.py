"""Errors that end a command, each carrying the exit code it maps to (the README documents the codes)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_NO_PLAN = 3
EXIT_ENVIRONMENT = 4


class AimgenError(Exception):
    """An expected failure: reported as one line, never as a traceback."""

    exit_code = EXIT_INVALID

    def __init__(self, message: str, *, file: str | None = None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.path = path

    def line(self) -> str:
        where = ""
        if self.file:
            where = self.file
        if self.path:
            where = f"{where}: {self.path}" if where else self.path
        return f"{where}: {self.message}" if where else self.message


class InvalidInput(AimgenError):
    exit_code = EXIT_INVALID


class UsageError(AimgenError):
    exit_code = EXIT_USAGE


class NoFeasiblePlan(AimgenError):
    exit_code = EXIT_NO_PLAN


class EnvironmentProblem(AimgenError):
    """A missing tool, an unreachable source, a full disk: nothing wrong with the input."""

    exit_code = EXIT_ENVIRONMENT
