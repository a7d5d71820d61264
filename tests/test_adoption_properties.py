"""Properties of bands and cut points: monotone bands, numpy-exact quintiles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cstool.adoption import BAND_RANK, band_of, cut_points

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
sorted_cuts = st.lists(unit, min_size=4, max_size=4).map(lambda c: tuple(sorted(c)))
# No example database: these tests leave nothing in the repository.
quiet = settings(database=None)


@quiet
@given(cuts=sorted_cuts, a=unit, b=unit)
def test_band_never_drops_as_the_value_rises(
    cuts: tuple[float, float, float, float], a: float, b: float
) -> None:
    """For any rising cut points in [0, 1], a higher value never gets a worse band."""
    lo, hi = sorted((a, b))
    low_band, high_band = band_of(lo, cuts), band_of(hi, cuts)
    assert low_band is not None and high_band is not None
    assert BAND_RANK[low_band] <= BAND_RANK[high_band]


@quiet
@given(cuts=sorted_cuts, v=unit)
def test_band_follows_the_cut_points(cuts: tuple[float, float, float, float], v: float) -> None:
    """v >= c80 is green ... below c20 red, and 0 is red whatever the cut points."""
    c20, c40, c60, c80 = cuts
    expected = (
        "red"
        if v == 0
        else "green"
        if v >= c80
        else "lime"
        if v >= c60
        else "yellow"
        if v >= c40
        else "orange"
        if v >= c20
        else "red"
    )
    assert band_of(v, cuts) == expected


@quiet
@given(cuts=sorted_cuts)
def test_missing_value_has_no_band(cuts: tuple[float, float, float, float]) -> None:
    """None and NaN get no band."""
    assert band_of(None, cuts) is None
    assert band_of(math.nan, cuts) is None


@quiet
@given(values=st.lists(unit, min_size=1, max_size=60))
def test_cut_points_equal_numpy_linear_quantiles(values: list[float]) -> None:
    """cut_points is numpy's (and pandas') linear-interpolation 20/40/60/80th percentiles."""
    expected = np.quantile(np.array(values), [0.2, 0.4, 0.6, 0.8], method="linear")
    got = cut_points(values)
    assert got == tuple(float(x) for x in expected)
    assert got == pytest.approx(tuple(pd.Series(values).quantile([0.2, 0.4, 0.6, 0.8])))
    assert list(got) == sorted(got)


def test_cut_points_known_answer() -> None:
    """Quintiles of 0, .25, .5, .75, 1 interpolate to .2, .4, .6, .8."""
    assert cut_points([1.0, 0.0, 0.5, 0.25, 0.75]) == pytest.approx((0.2, 0.4, 0.6, 0.8))


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0.8, "green"),
        (0.6, "lime"),
        (0.4, "yellow"),
        (0.2, "orange"),
        (0.19, "red"),
        (1.0, "green"),
    ],
)
def test_a_value_on_a_cut_point_takes_the_higher_band(value: float, band: str) -> None:
    """Each band starts at its cut point inclusive."""
    assert band_of(value, (0.2, 0.4, 0.6, 0.8)) == band


def test_threshold_rows_say_which_cut_points_apply() -> None:
    """A calibrated set replaced by an override reads "overridden"; the override "applies"."""
    from cstool.adoption import Cuts, Thresholds, threshold_rows

    stored = {
        ("SMB", "depth"): Cuts("SMB", "depth", (0.1, 0.2, 0.3, 0.4), 40, "2026-11-20", "x"),
        ("SMB", "breadth"): Cuts("SMB", "breadth", (0.5, 0.6, 0.7, 0.8), 40, "2026-11-20", "x"),
    }
    rows = threshold_rows(Thresholds(stored, {"SMB": {"depth": (0.0, 0.1, 0.2, 0.3)}}))
    # Measures in the order deployment, depth, breadth; an override after the set it replaces.
    assert [(r["measure"], r["applies"]) for r in rows] == [
        ("depth", "overridden"),
        ("depth", "override (cstool.yaml)"),
        ("breadth", "calibrated"),
    ]
    assert rows[1]["c20"] == 0.0 and rows[1]["n"] is None
