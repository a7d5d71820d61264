"""Condition expressions: compiling against the catalogue, missing values, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from cstool.conditions import (
    ACCOUNT_VARIABLES,
    USER_VARIABLES,
    Catalogue,
    Condition,
    ConditionError,
    Outcome,
    Verdict,
    compile_condition,
    usable_name,
)
from cstool.errors import InputError, Location
from cstool.schemas import KINDS
from cstool.yamlfile import load_model

EXAMPLE = "segment == 'Enterprise' and depth_band in ['red', 'orange'] and days_to_renewal <= 90"

T, F, M, E = Verdict.TRUE, Verdict.FALSE, Verdict.MISSING, Verdict.ERROR


def test_the_issue_example() -> None:
    """The example condition holds, fails and is missing as its values say."""
    c = compile_condition(EXAMPLE)
    assert c.names == {"segment", "depth_band", "days_to_renewal"}
    ok = {"segment": "Enterprise", "depth_band": "orange", "days_to_renewal": 90}
    assert c.evaluate(ok) == Outcome(T)
    assert c.holds(ok)
    assert c.evaluate({**ok, "days_to_renewal": 91}) == Outcome(F)
    assert c.evaluate({**ok, "segment": "SMB", "days_to_renewal": None}) == Outcome(F)
    assert c.evaluate({**ok, "days_to_renewal": None}) == Outcome(M, ("days_to_renewal",))
    assert not c.holds({**ok, "days_to_renewal": None})


@pytest.mark.parametrize(
    ("source", "context", "verdict", "missing"),
    [
        ("days_to_renewal <= 90", {}, M, ("days_to_renewal",)),
        ("days_to_renewal <= 90", {"days_to_renewal": None}, M, ("days_to_renewal",)),
        ("90 >= days_to_renewal", {"days_to_renewal": None}, M, ("days_to_renewal",)),
        ("days_to_renewal <= 90 or depth_band == 'red'", {"depth_band": "red"}, T, ()),
        ("days_to_renewal <= 90 or depth_band == 'red'", {"depth_band": "green"}, M,
         ("days_to_renewal",)),
        ("nps <= 6 and nps_days < 180", {}, M, ("nps",)),
        ("nps > 8 or nps < 7", {}, M, ("nps",)),
        ("not (nps >= 9)", {}, T, ()),
        ("nps is none", {}, T, ()),
        ("nps is not defined", {"nps": None}, T, ()),
        ("nps is none", {"nps": 0}, F, ()),
        ("nps == none", {}, T, ()),
        ("segment != 'SMB'", {}, M, ("segment",)),
        ("segment != 'SMB'", {"segment": "Enterprise"}, T, ()),
        ("touch_tier in ['tech', 'low']", {}, M, ("touch_tier",)),
        ("arr * 2 > 100", {"arr": None}, M, ("arr",)),
        ("arr / licenses_purchased > 100", {"arr": 1e6}, M, ("licenses_purchased",)),
        ("segment|lower == 'smb'", {"segment": "SMB"}, T, ()),
        ("segment|lower == 'smb'", {}, M, ("segment",)),
        ("segment", {"segment": ""}, F, ()),
        ("segment", {}, M, ("segment",)),
        ("depth_band_change <= -1", {"depth_band_change": -2}, T, ()),
        ("depth_band_change <= -1", {"depth_band_change": 0}, F, ()),
        ("renewal_date <= '2027-01-31'", {"renewal_date": "2026-12-01"}, T, ()),
        ("deployment >= 0.95 and deployment_band == 'green'",
         {"deployment": 0.96, "deployment_band": "green"}, T, ()),
        ("arr >= 100000 or segment == 'Enterprise'", {"segment": "Enterprise"}, T, ()),
        ("open_ctas == 0", {"open_ctas": 0}, T, ()),
        ("region in ['EMEA', 'APAC'] and employees > 1000", {"region": "EMEA", "employees": None},
         M, ("employees",)),
        ("true", {}, T, ()),
        ("false or none", {}, F, ()),
    ],
)  # fmt: skip
def test_evaluation(
    source: str, context: dict[str, Any], verdict: Verdict, missing: tuple[str, ...]
) -> None:
    """Each condition's verdict and missing variables for the given values."""
    outcome = compile_condition(source).evaluate(context)
    assert (outcome.verdict, outcome.missing, outcome.error) == (verdict, missing, None)


@pytest.mark.parametrize(
    ("source", "context", "error"),
    [
        ("segment > 5", {"segment": "SMB"}, "cannot compare text with a number"),
        ("arr < 'big'", {"arr": 5}, "cannot compare a number with text"),
        ("arr / licenses_purchased > 1", {"arr": 5, "licenses_purchased": 0}, "division by zero"),
    ],
)
def test_values_that_cannot_be_compared_are_an_error_outcome(
    source: str, context: dict[str, Any], error: str
) -> None:
    """A type clash or a division by zero is an ERROR outcome with the reason, never a crash."""
    outcome = compile_condition(source).evaluate(context)
    assert outcome == Outcome(E, (), error)
    assert not outcome


def test_an_error_with_a_missing_value_counts_as_missing() -> None:
    """When a value is missing, a failure is put down to the missing value."""
    outcome = compile_condition("industry in segment").evaluate({"industry": "x"})
    assert outcome == Outcome(M, ("segment",))


def test_missing_names_are_reported_sorted() -> None:
    """Several missing variables are named in alphabetical order, run after run."""
    c = compile_condition("(nps < 7 or arr > 5) or (employees > 9 or depth > 0.5)")
    assert c.evaluate({}).missing == ("arr", "depth", "employees", "nps")


def test_user_variables() -> None:
    """Recipient conditions see the user's fields, days_inactive and features_unused."""
    c = USER_VARIABLES.compile(
        "role == 'Power User' and days_inactive >= 14 and 'reports' in features_unused"
    )
    user = {"role": "Power User", "days_inactive": 20, "features_unused": ["reports"]}
    assert c.evaluate(user) == Outcome(T)
    assert c.evaluate({**user, "features_unused": None}) == Outcome(M, ("features_unused",))
    assert USER_VARIABLES.compile("is_advocate and not unsubscribed").holds(
        {"is_advocate": True, "unsubscribed": False}
    )
    with pytest.raises(ConditionError, match="unknown variable 'depth_band'") as e:
        USER_VARIABLES.compile("depth_band == 'red'")
    assert e.value.hint == "the recipient variables are: " + ", ".join(
        v.name for v in USER_VARIABLES
    )


@pytest.mark.parametrize(
    ("source", "message", "hint"),
    [
        ("depht_band == 'red'", "unknown variable 'depht_band'",
         "did you mean depth_band? `cstool playbooks vars` lists the variables"),
        ("foo > 1 and bar < 2", "unknown variables 'bar', 'foo'",
         "`cstool playbooks vars` lists the variables"),
        ("lipsum", "unknown variable 'lipsum'", "`cstool playbooks vars` lists the variables"),
        ("segment = 'SMB'", "unexpected '=' after a complete expression",
         "use == to compare and and/or to combine"),
        ("segment == 'SMB' && arr > 1", "not a valid condition: unexpected char '&' at 17",
         "write a Jinja expression"),
        ("segment == 'SMB' and", "not a valid condition: unexpected 'end of template'",
         "write a Jinja expression"),
        ("{{ segment }}", "not a valid condition: expected token ':', got '}'",
         "write a Jinja expression"),
        ("   ", "the condition is empty", "write a Jinja expression"),
        ("range(10) == 1", "function calls are not allowed in a condition", "filters such as"),
        ("segment.upper() == 'SMB'", "function calls are not allowed in a condition",
         "filters such as"),
        ("segment.__class__", "attribute and item access (x.y, x[0]) are not allowed in a "
         "condition", "variables are plain values"),
        ("features_unused[0] == 'x'", "attribute and item access (x.y, x[0]) are not allowed in a "
         "condition", "variables are plain values"),
        ("depth_band == 'gren'", "'gren' is never a value of depth_band",
         "did you mean 'green'? depth_band is one of green, lime, yellow, orange, red (or none)"),
        ("depth_band in ['red', 'orang']", "'orang' is never a value of depth_band",
         "did you mean 'orange'?"),
        ("'tec' == touch_tier", "'tec' is never a value of touch_tier",
         "did you mean 'tech'? touch_tier is one of high, low, tech (or none)"),
        ("touch_tier != 'Tech'", "'Tech' is never a value of touch_tier", "did you mean 'tech'?"),
        ("segment|nosuch == 1", "not a valid condition: No filter named 'nosuch'.",
         "write a Jinja expression"),
        ("segment is nosuch", "not a valid condition: No test named 'nosuch'.",
         "write a Jinja expression"),
    ],
)  # fmt: skip
def test_bad_conditions_are_refused_when_compiled(source: str, message: str, hint: str) -> None:
    """Each bad condition is a ConditionError with a message and a fitting hint."""
    with pytest.raises(ConditionError) as e:
        ACCOUNT_VARIABLES.compile(source)
    assert e.value.message == message
    assert hint in e.value.hint


def test_a_located_compile_error_is_an_input_error() -> None:
    """With a location and key the error names the file, line and key path."""
    with pytest.raises(InputError) as e:
        ACCOUNT_VARIABLES.compile(
            "depht_band == 'red'", where=Location("playbooks/a.yaml", line=4), key="when"
        )
    assert str(e.value) == "playbooks/a.yaml: line 4: when: unknown variable 'depht_band'"
    assert e.value.hint == "did you mean depth_band? `cstool playbooks vars` lists the variables"
    assert e.value.exit_code == 1


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    when: str

    @field_validator("when")
    @classmethod
    def _compiles(cls, v: str, info: ValidationInfo) -> str:
        catalogue: Catalogue = (info.context or {}).get("variables", ACCOUNT_VARIABLES)
        catalogue.compile(v)
        return v


def test_a_condition_in_a_definition_file_is_located(tmp_path: Path) -> None:
    """Compiled in a field validator, a bad condition names the file, line and key."""
    path = tmp_path / "renewal.yaml"
    path.write_text("name: renewal\n# why\nwhen: >-\n  days_to_renewl <= 90\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_model(path, Playbook)
    assert str(e.value) == "renewal.yaml: line 3: when: unknown variable 'days_to_renewl'"
    assert e.value.hint == (
        "did you mean days_to_renewal? `cstool playbooks vars` lists the variables"
    )


def test_attributes_are_known_once_added(tmp_path: Path) -> None:
    """Extra account columns become variables by name, at validation time."""
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nwhen: \"health == 'poor'\"\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown variable 'health'"):
        load_model(path, Playbook)
    known = ACCOUNT_VARIABLES.with_attributes(["health", "Health Score", "class", "segment"])
    assert load_model(path, Playbook, context={"variables": known}).when == "health == 'poor'"
    assert "Health Score" not in known and "class" not in known
    assert known.get("health") is not None
    assert known.get("health").group == "attribute"  # type: ignore[union-attr]
    assert known.get("segment") == ACCOUNT_VARIABLES.get("segment")
    assert len(known) == len(ACCOUNT_VARIABLES) + 1
    assert "health" not in ACCOUNT_VARIABLES


@pytest.mark.parametrize(
    ("name", "usable"),
    [("health", True), ("Health Score", False), ("class", False), ("none", False),
     ("_x", False), ("x1", True), ("1x", False), ("true", False)],
)  # fmt: skip
def test_usable_name(name: str, usable: bool) -> None:
    """Only identifiers that are not keywords can be variables."""
    assert usable_name(name) is usable


ISSUE_ACCOUNT_VARIABLES = [
    *(c.name for c in KINDS["accounts"].columns),
    "deployment", "depth", "breadth", "deployment_band", "depth_band", "breadth_band",
    "deployment_band_change", "depth_band_change", "breadth_band_change",
    "days_to_renewal", "days_since_onboarding", "nps", "nps_days", "open_ctas", "touch_tier",
]  # fmt: skip
ISSUE_USER_VARIABLES = [
    *(c.name for c in KINDS["users"].columns),
    "days_inactive",
    "features_unused",
]


def test_the_catalogues_document_every_variable_of_the_issues() -> None:
    """Each documented variable has a type, description and example; none is left out."""
    assert [v.name for v in ACCOUNT_VARIABLES] == ISSUE_ACCOUNT_VARIABLES
    assert [v.name for v in USER_VARIABLES] == ISSUE_USER_VARIABLES
    for v in [*ACCOUNT_VARIABLES, *USER_VARIABLES]:
        assert v.type and v.description and v.example and v.group


@pytest.mark.parametrize("catalogue", [ACCOUNT_VARIABLES, USER_VARIABLES], ids=["account", "user"])
def test_every_documented_example_compiles(catalogue: Catalogue) -> None:
    """The example of each variable is valid in a condition (as a comparison, or as given)."""
    for v in catalogue:
        source = v.example if v.name in v.example else f"{v.name} == {v.example}"
        assert isinstance(catalogue.compile(source), Condition)


def test_a_compiled_condition_is_reused() -> None:
    """One compiled condition evaluates many contexts without keeping state between them."""
    c = compile_condition("nps <= 6")
    assert [c.evaluate({"nps": n}).verdict for n in (None, 6, 7, None, 0)] == [M, T, F, M, T]


def _reference(value: int | None, threshold: int, other: str | None) -> Verdict:
    """Three-valued truth of ``days_to_renewal <= t or depth_band == 'red'``."""
    first = None if value is None else value <= threshold
    second = None if other is None else other == "red"
    if first or second:
        return T
    return M if first is None or second is None else F


@given(
    st.one_of(st.none(), st.integers(-1000, 1000)),
    st.integers(-1000, 1000),
    st.one_of(st.none(), st.sampled_from(["red", "green", "yellow"])),
)
def test_missing_values_follow_three_valued_logic(
    value: int | None, threshold: int, band: str | None
) -> None:
    """A true side holds the whole 'or'; a missing side that decides it makes it missing."""
    c = compile_condition(f"days_to_renewal <= {threshold} or depth_band == 'red'")
    assert c.evaluate({"days_to_renewal": value, "depth_band": band}).verdict == _reference(
        value, threshold, band
    )
