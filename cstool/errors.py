"""The one hierarchy of cstool errors.

Every error carries a message, an optional location (``file: line 41 (record 39), column arr``)
and a hint that says what to do. The CLI maps each class to one exit code in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, and optionally a line, record and column."""

    file: str
    line: int | None = None
    record: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        details = []
        if self.line is not None:
            details.append(f"line {self.line}")
            if self.record is not None and self.record != self.line:
                details[-1] += f" (record {self.record})"
        elif self.record is not None:
            details.append(f"record {self.record}")
        if self.column is not None:
            details.append(f"column {self.column}")
        return self.file + (": " + ", ".join(details) if details else "")


@dataclass(frozen=True)
class Problem:
    """One located problem found while validating input."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class CstoolError(Exception):
    """Base of every error cstool raises on purpose."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        problems: list[Problem] | None = None,
        total: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.problems = problems or []
        self.total = total if total is not None else len(self.problems)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InputError(CstoolError):
    """Input was rejected (bad file, bad config); nothing was written. Exit 1."""

    exit_code = 1


class NotFoundError(InputError):
    """Something named on the command line does not exist (account, workspace). Exit 1."""


class UsageError(CstoolError):
    """The command was called wrongly. Exit 2."""

    exit_code = 2


class EnvironmentProblem(CstoolError):
    """The environment stopped the work: lock held, permissions, disk, SMTP. Exit 3."""

    exit_code = 3


class LockHeld(EnvironmentProblem):
    """Another cstool process is writing to the same workspace."""


class PartialFailure(CstoolError):
    """The run finished but some items failed; state is consistent and resumable. Exit 4."""

    exit_code = 4

    def __init__(self, message: str, *, result: object = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.result = result
