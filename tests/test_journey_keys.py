"""Ledger keys: whatever the user id, a safe file name and Message-ID, stable and distinct."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cstool.journeys.render import ledger_key, unit
from cstool.mail import check_key, message_id

NAMES = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,39}", fullmatch=True)


@given(NAMES, NAMES, st.text(min_size=1), st.integers(0, 10_000))
def test_ledger_keys_are_safe_file_names(journey: str, step: str, user: str, cycle: int) -> None:
    """Any user id (slashes, dots, control characters) gives a key that names a file in the
    outbox and the left part of a Message-ID, the same on every call."""
    key = ledger_key(journey, step, user, cycle)
    assert check_key(key) == key and "/" not in key and not key.startswith(".")
    assert message_id(key, "acme.example") == f"<{key}@acme.example>"
    assert ledger_key(journey, step, user, cycle) == key


@given(NAMES, st.text(min_size=1), st.text(min_size=1))
def test_distinct_people_get_distinct_keys(journey: str, a: str, b: str) -> None:
    """Two user ids give two keys (the key holds a hash of the id, never the id)."""
    if a != b:
        assert ledger_key(journey, "s", a, 0) != ledger_key(journey, "s", b, 0)


@given(st.text(), st.text())
def test_hash_units_are_in_range_and_stable(a: str, b: str) -> None:
    """The A/B and holdout hash is a number in [0, 1), the same for the same parts."""
    u = unit(a, b)
    assert 0 <= u < 1 and unit(a, b) == u
