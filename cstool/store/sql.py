"""What the domain modules share: quoting declared identifiers, how days are stored, and
merging JSON attributes."""

from __future__ import annotations

from datetime import date, timedelta

EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    """Days since 1970-01-01: how usage dates are stored."""
    return (d - EPOCH).days


def day_date(n: int) -> date:
    """The date of a stored day number."""
    return EPOCH + timedelta(days=int(n))


def q(name: str) -> str:
    """Quote an identifier that comes from the declared schemas (never from a file)."""
    return '"' + name.replace('"', '""') + '"'


def merged_attributes(stored: str, new: str) -> str:
    """SQL for a row's stored JSON ``attributes`` with new ones merged in.

    A JSON merge patch: keys of ``new`` are added or updated, stored keys ``new`` does not
    have are kept (an export without a column says nothing about it). The result is
    minified JSON, as :func:`attributes_differ` compares it.
    """
    return f"json_patch(coalesce({stored}, '{{}}'), {new})"


def attributes_differ(stored: str, new: str) -> str:
    """SQL that is true when merging ``new`` into ``stored`` attributes would change them."""
    return f"json(coalesce({stored}, '{{}}')) IS NOT {merged_attributes(stored, new)}"
