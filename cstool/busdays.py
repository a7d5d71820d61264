"""Business days: due dates that skip weekends and holidays.

Business days are Monday to Friday, less the holidays: the dates listed under ``holidays:``
in ``cstool.yaml``, plus, when ``holiday_country`` (and optionally ``holiday_subdivision``) is
set, that country's public holidays from the ``holidays`` library.

Semantics, as CTAs use them: a due date counts ``n`` business days from the as-of date. An
as-of date that is not a business day (a Saturday, a holiday) first rolls forward to the next
business day; ``n = 0`` is that day. So with no holidays, Friday + 1 is Monday, Saturday + 0
is Monday and Saturday + 1 is Tuesday; a negative ``n`` counts back from the rolled day.
:func:`business_days_between` counts the business days in ``[a, b)`` (when ``b`` is before
``a``: minus those in ``[b, a)``), so that
``business_days_between(d, add_business_days(d, n)) == n`` always.

The arithmetic is numpy's ``busday_offset`` and ``busday_count`` over a ``busdaycalendar``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cstool.config import Config

WEEKMASK = "1111100"  # Monday to Friday


@functools.lru_cache(maxsize=64)
def _busdaycalendar(holidays: frozenset[date]) -> Any:
    import numpy as np

    return np.busdaycalendar(weekmask=WEEKMASK, holidays=sorted(holidays))


def _calendar(holidays: Iterable[date]) -> Any:
    return _busdaycalendar(holidays if isinstance(holidays, frozenset) else frozenset(holidays))


def add_business_days(start: date, n: int, holidays: Iterable[date] = ()) -> date:
    """The date ``n`` business days after ``start`` (before it when ``n`` is negative).

    A ``start`` that is not a business day rolls forward to the next one first.
    """
    import numpy as np

    day = np.busday_offset(start, n, roll="forward", busdaycal=_calendar(holidays))
    result: date = day.astype(object)
    return result


def business_days_between(a: date, b: date, holidays: Iterable[date] = ()) -> int:
    """The number of business days in ``[a, b)``; minus those in ``[b, a)`` when ``b < a``."""
    import numpy as np

    if b < a:  # numpy counts (b, a] backwards; [b, a) keeps between(d, add(d, n)) == n
        return -business_days_between(b, a, holidays)
    return int(np.busday_count(a, b, busdaycal=_calendar(holidays)))


def is_business_day(day: date, holidays: Iterable[date] = ()) -> bool:
    """Whether ``day`` is a weekday that is not a holiday."""
    import numpy as np

    return bool(np.is_busday(day, busdaycal=_calendar(holidays)))


def roll_forward(day: date, holidays: Iterable[date] = ()) -> date:
    """``day`` when it is a business day, else the next business day."""
    return add_business_days(day, 0, holidays)


def country_holidays(country: str, subdivision: str | None, years: Iterable[int]) -> list[date]:
    """The public holidays of ``country`` (ISO 3166 code) in ``years``, from ``holidays``.

    Raises ``ValueError`` for a country or subdivision the library does not know.
    """
    import holidays as holidays_lib

    try:
        found = holidays_lib.country_holidays(country, subdiv=subdivision, years=list(years))
    except NotImplementedError as e:
        raise ValueError(str(e)) from None
    return sorted(found)


@dataclass(frozen=True)
class Calendar:
    """The workspace's business-day calendar: weekends, listed holidays, a country's holidays.

    Its methods follow the module's semantics (see the module docstring).

    Country holidays are looked up for the years a call needs, and remembered.
    """

    holidays: frozenset[date] = frozenset()
    country: str | None = None
    subdivision: str | None = None
    _years: dict[int, frozenset[date]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _spans: dict[tuple[int, int], frozenset[date]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_config(cls, config: Config) -> Calendar:
        """The calendar of ``holidays``, ``holiday_country`` and ``holiday_subdivision``."""
        return cls(frozenset(config.holidays), config.holiday_country, config.holiday_subdivision)

    def holidays_for(self, first_year: int, last_year: int) -> frozenset[date]:
        """Every holiday from ``first_year`` to ``last_year`` (listed ones: all of them)."""
        if self.country is None:
            return self.holidays
        span = self._spans.get((first_year, last_year))
        if span is not None:
            return span
        missing = [y for y in range(first_year, last_year + 1) if y not in self._years]
        for year in missing:
            self._years[year] = frozenset(country_holidays(self.country, self.subdivision, [year]))
        years = (self._years[y] for y in range(first_year, last_year + 1))
        span = self._spans[(first_year, last_year)] = self.holidays.union(*years)
        return span

    def _around(self, *days: date, n: int = 0) -> frozenset[date]:
        # n business days span at most n / 5 weeks plus holidays: a year of margin each way
        # covers any due date, and a busier span is extended by n itself.
        spread = abs(n) // 200 + 1
        return self.holidays_for(
            min(d.year for d in days) - spread, max(d.year for d in days) + spread
        )

    def add(self, start: date, n: int) -> date:
        """``n`` business days after ``start`` (rolled forward first): a due date."""
        return add_business_days(start, n, self._around(start, n=n))

    def between(self, a: date, b: date) -> int:
        """The business days in ``[a, b)``; minus those in ``[b, a)`` when ``b < a``."""
        return business_days_between(a, b, self._around(a, b))

    def is_business_day(self, day: date) -> bool:
        """Whether ``day`` is a weekday and not a holiday."""
        return is_business_day(day, self._around(day))

    def roll_forward(self, day: date) -> date:
        """``day`` when it is a business day, else the next business day."""
        return self.add(day, 0)
