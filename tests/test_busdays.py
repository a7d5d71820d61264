"""Business days: weekends, holidays, year ends, leap days, and the holidays settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import Result

from cstool.busdays import (
    Calendar,
    add_business_days,
    business_days_between,
    country_holidays,
    is_business_day,
    roll_forward,
)
from cstool.config import Config, resolve
from cstool.errors import InputError
from cstool.workspace import Workspace

D = date.fromisoformat
XMAS = [D("2026-12-25"), D("2027-01-01")]


@pytest.mark.parametrize(
    ("start", "n", "holidays", "due"),
    [
        ("2026-11-20", 0, [], "2026-11-20"),  # a Friday stays
        ("2026-11-20", 1, [], "2026-11-23"),  # Friday + 1 is Monday
        ("2026-11-21", 0, [], "2026-11-23"),  # Saturday rolls forward to Monday
        ("2026-11-21", 1, [], "2026-11-24"),  # ... then counts
        ("2026-11-22", 5, [], "2026-11-30"),  # Sunday + 5
        ("2026-11-23", 5, [], "2026-11-30"),  # a full week
        ("2026-11-23", -1, [], "2026-11-20"),  # Monday - 1 is Friday
        ("2026-11-21", -1, [], "2026-11-20"),  # Saturday rolls to Monday, then back
        ("2026-12-24", 1, XMAS, "2026-12-28"),  # over Christmas Friday and the weekend
        ("2026-12-31", 1, XMAS, "2027-01-04"),  # year end: New Year's Day Friday
        ("2025-12-31", 1, [D("2026-01-01")], "2026-01-02"),  # Dec 31 -> Jan 2
        ("2026-12-25", 0, XMAS, "2026-12-28"),  # a holiday rolls forward
        ("2028-02-28", 1, [], "2028-02-29"),  # leap day is a Tuesday
        ("2028-02-28", 2, [D("2028-02-29")], "2028-03-02"),  # leap day as a holiday
        ("2024-02-29", 252, [], "2025-02-17"),  # a year of business days from a leap day
        ("2027-01-04", -3, XMAS, "2026-12-29"),
    ],
)
def test_add_business_days(start: str, n: int, holidays: list[date], due: str) -> None:
    """Due dates skip weekends and holidays, rolling a non-business start forward first."""
    assert add_business_days(D(start), n, holidays) == D(due)
    assert Calendar(frozenset(holidays)).add(D(start), n) == D(due)


@pytest.mark.parametrize(
    ("a", "b", "holidays", "count"),
    [
        ("2026-11-23", "2026-11-30", [], 5),
        ("2026-11-30", "2026-11-23", [], -5),
        ("2026-11-23", "2026-11-20", [], -1),  # Monday back to Friday
        ("2026-11-22", "2026-11-20", [], -1),  # Sunday back to Friday
        ("2026-11-21", "2026-11-23", [], 0),  # a weekend holds no business day
        ("2026-12-21", "2027-01-04", XMAS, 8),
        ("2026-11-20", "2026-11-20", [], 0),
        ("2028-02-28", "2028-03-01", [], 2),
    ],
)
def test_business_days_between(a: str, b: str, holidays: list[date], count: int) -> None:
    """The count of business days in [a, b), negative backwards."""
    assert business_days_between(D(a), D(b), holidays) == count


def test_business_day_checks() -> None:
    """Weekends and holidays are not business days; rolling finds the next one."""
    assert is_business_day(D("2026-11-20"))
    assert not is_business_day(D("2026-11-21"))
    assert not is_business_day(D("2026-12-25"), XMAS)
    assert roll_forward(D("2026-12-25"), XMAS) == D("2026-12-28")
    assert roll_forward(D("2026-12-28"), XMAS) == D("2026-12-28")


def _naive_add(start: date, n: int, holidays: set[date]) -> date:
    """The definition, one day at a time: roll forward, then step over non-business days."""

    def business(d: date) -> bool:
        return d.weekday() < 5 and d not in holidays

    day = start
    while not business(day):
        day += timedelta(days=1)
    step = timedelta(days=1 if n >= 0 else -1)
    for _ in range(abs(n)):
        day += step
        while not business(day):
            day += step
    return day


_dates = st.dates(min_value=D("2000-01-01"), max_value=D("2090-12-31"))


@settings(max_examples=300, deadline=None)
@given(_dates, st.integers(-600, 600), st.sets(_dates, max_size=40))
def test_add_then_count_gives_n(start: date, n: int, holidays: set[date]) -> None:
    """Counting the business days to start + n gives n, and matches a day-by-day walk."""
    due = add_business_days(start, n, holidays)
    assert business_days_between(start, due, holidays) == n
    assert due == _naive_add(start, n, holidays)
    assert is_business_day(due, holidays)


def test_country_holidays_come_from_the_library() -> None:
    """holiday_country fills in a country's public holidays, for any year asked."""
    us = Calendar(country="US")
    assert not us.is_business_day(D("2026-07-03"))  # Independence Day observed (Friday)
    assert us.add(D("2026-07-02"), 1) == D("2026-07-06")
    assert us.add(D("2030-12-24"), 1) == D("2030-12-26")
    assert D("2026-11-26") in country_holidays("US", None, [2026])  # Thanksgiving
    ca = Calendar(country="US", subdivision="CA")
    assert not ca.is_business_day(D("2026-03-31"))  # Cesar Chavez Day in California
    assert Calendar(country="US").is_business_day(D("2026-03-31"))


def test_listed_and_country_holidays_add_up() -> None:
    """Listed dates are holidays on top of the country's."""
    c = Calendar(frozenset({D("2026-07-06")}), country="US")
    assert c.add(D("2026-07-02"), 1) == D("2026-07-07")
    assert c.between(D("2026-07-02"), D("2026-07-08")) == 2


# ---- configuration -------------------------------------------------------------------------


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cstool.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_holidays_settings_are_read(tmp_path: Path) -> None:
    """holidays (quoted or not), holiday_country and holiday_subdivision build the calendar."""
    path = _yaml(
        tmp_path,
        "holidays:\n  - 2026-12-24\n  - '2026-12-31'\nholiday_country: US\n"
        "holiday_subdivision: CA\n",
    )
    config = resolve(path, env={}).config
    assert config.holidays == [D("2026-12-24"), D("2026-12-31")]
    calendar = Calendar.from_config(config)
    assert calendar == Calendar(frozenset(config.holidays), "US", "CA")
    assert calendar.add(D("2026-12-23"), 1) == D("2026-12-28")
    assert Calendar.from_config(Config()) == Calendar()


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("holidays:\n  - 2026-12-25\n  - christmas\n",
         "cstool.yaml: line 3: holidays.1: 'christmas' is not a date",
         "write holidays as YYYY-MM-DD, e.g. 2026-12-25"),
        ("holidays: [20261225]\n", "cstool.yaml: line 1: holidays.0: 20261225 is not a date",
         "write holidays as YYYY-MM-DD, e.g. 2026-12-25"),
        ("holidays:\n  - 2026-02-30\n", "cstool.yaml: line 2: holidays.0: 2026-02-30 is not a "
         "valid date (day is out of range for month)", "write a real date as YYYY-MM-DD"),
        ("holidays:\n  - '2026-02-30'\n", "cstool.yaml: line 2: holidays.0: Input should be a "
         "valid date or datetime, day value is outside expected range",
         "fix the value in cstool.yaml"),
        ("holidays:\n  - 2026-12-25 10:00:00\n", "cstool.yaml: line 2: holidays.0: "
         "datetime.datetime(2026, 12, 25, 10, 0) is not a date",
         "write holidays as YYYY-MM-DD, e.g. 2026-12-25"),
        ("holidays: 2026-12-25\n", "cstool.yaml: line 1: holidays: Input should be a valid list",
         "fix the value in cstool.yaml; the README's Configuration section lists the settings"),
        ("holiday_country: XX\n", "cstool.yaml: line 1: holiday_country: Country XX not "
         "available", "use an ISO 3166 country code"),
        ("holiday_country: US\nholiday_subdivision: ZZ\n", "cstool.yaml: line 2: "
         "holiday_subdivision: Entity `US` does not have subdivision ZZ",
         "use an ISO 3166 country code"),
        ("holiday_subdivision: CA\n", "cstool.yaml: line 1: holiday_subdivision: a subdivision "
         "needs holiday_country", "set holiday_country (e.g. US) or remove holiday_subdivision"),
    ],
)  # fmt: skip
def test_bad_holiday_settings_name_key_and_line(
    tmp_path: Path, text: str, message: str, hint: str
) -> None:
    """A holiday entry that is not a date, or an unknown country, is exit 1 with key and line."""
    with pytest.raises(InputError) as e:
        resolve(_yaml(tmp_path, text), env={})
    assert str(e.value) == message
    assert (e.value.hint or "").startswith(hint)
    assert e.value.exit_code == 1


def test_holidays_from_the_environment(tmp_path: Path) -> None:
    """CSTOOL_HOLIDAYS is read as a YAML list of dates; CSTOOL_HOLIDAY_COUNTRY verbatim."""
    r = resolve(None, env={"CSTOOL_HOLIDAYS": "[2026-12-25]", "CSTOOL_HOLIDAY_COUNTRY": "GB"})
    assert (r.config.holidays, r.config.holiday_country) == ([D("2026-12-25")], "GB")


def test_config_show_lists_the_holiday_settings(cli: Callable[..., Result], ws: Workspace) -> None:
    """config show prints holidays, holiday_country and holiday_subdivision with sources."""
    text = ws.config_path.read_text(encoding="utf-8")
    assert "\nholidays: []" in text
    text = text.replace("\nholidays: []", "\nholidays: [2026-12-25, 2027-01-01]")
    ws.config_path.write_text(text, encoding="utf-8")
    result = cli("-w", "ws", "config", "show", "--format", "json")
    assert result.exit_code == 0, result.stderr
    settings = {s["key"]: s for s in json.loads(result.stdout)}
    assert settings["holidays"] == {
        "key": "holidays",
        "value": ["2026-12-25", "2027-01-01"],
        "source": "cstool.yaml",
    }
    assert settings["holiday_country"] == {
        "key": "holiday_country",
        "value": None,
        "source": "default",
    }
    assert settings["holiday_subdivision"]["source"] == "default"
