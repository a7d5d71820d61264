"""Parameters shared by several commands, checked the way the exit codes are documented.

A bad date is bad input (exit 1, a plain message); an unknown encoding name is a usage
error (exit 2), like any other bad option value.
"""

from __future__ import annotations

import codecs
import re
from datetime import date
from typing import Any

import typer

from cstool.console import fail
from cstool.errors import InputError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(flag: str, value: str | date) -> date:
    """``value`` as a YYYY-MM-DD date, or an exit 1 naming ``flag``."""
    if isinstance(value, date):  # a default
        return value
    try:
        if _ISO_DATE.fullmatch(value.strip()):
            return date.fromisoformat(value.strip())
    except ValueError:
        pass
    raise fail(
        InputError(
            f"{flag} {value!r} is not a date in the form YYYY-MM-DD",
            hint=f"e.g. {flag} 2026-11-20",
        )
    )


def date_option(flag: str, help: str) -> Any:
    """A YYYY-MM-DD option (metavar DATE) whose default is explained in its help."""
    return typer.Option(
        flag,
        parser=lambda value: parse_date(flag, value),
        metavar="DATE",
        help=help,
        show_default=False,
    )


def parse_encoding(value: str) -> str:
    """An encoding name Python knows, else a usage error (exit 2)."""
    try:
        codecs.lookup(value)
    except LookupError:
        raise typer.BadParameter(
            f"unknown encoding {value!r}; use a Python codec name such as utf-8, cp1252, "
            "latin-1 or utf-16"
        ) from None
    return value


def parse_delimiter(value: str) -> str:
    """A field delimiter: one character, or tab, \\t, semicolon, ...; else exit 2."""
    from cstool.csvfile import delimiter_of

    try:
        return delimiter_of(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
