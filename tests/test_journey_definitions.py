"""Journey files: the shipped ones load; every bad file is refused with its line and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cstool.conditions import ACCOUNT_VARIABLES, USER_VARIABLES, Condition
from cstool.errors import InputError, NotFoundError
from cstool.journeys.definitions import AtRule, find, load_journeys, parse_at

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
name: welcome
description: A welcome.
category: onboarding
audience: "touch_tier != 'high'"
recipients: "role in ['Admin']"
from: csm
steps:
  - {id: hello, template: onboarding-welcome, at: "onboarding_date + 1 days"}
"""


def write(tmp_path: Path, text: str, name: str = "j.yaml") -> Path:
    folder = tmp_path / "journeys"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_shipped_journeys_load_with_their_rules() -> None:
    """Every shipped journey validates; rules compile to the kinds the files say."""
    loaded = {d.model.name: d.model for d in load_journeys(REPO / "journeys")}
    assert set(loaded) == {
        "onboarding",
        "feature-nudge",
        "renewal",
        "nps-survey",
        "power-user-inactive",
        "csm-out-of-office",
    }
    onboarding = loaded["onboarding"]
    assert onboarding.from_csm and onboarding.holdout == 0
    assert onboarding.steps[1].rule == AtRule("onboarding_date", 30)
    nudge = loaded["feature-nudge"]
    assert nudge.holdout == pytest.approx(0.10) and nudge.reentry_days == 90
    assert nudge.sender == "success@example.com"
    assert [c[:2] for c in nudge.steps[0].choices] == [
        ("A", "feature-nudge-a"),
        ("B", "feature-nudge-b"),
    ]
    assert isinstance(nudge.steps[0].rule, Condition)
    assert loaded["renewal"].steps[0].rule == AtRule("renewal_date", -60)


def test_a_good_file_loads(tmp_path: Path) -> None:
    """The minimal journey loads and finds by name."""
    defs = load_journeys(write(tmp_path, GOOD))
    assert find(defs, "welcome").model.steps[0].id == "hello"


BAD = [
    ("category: onboarding", "category: weekly", "category:", 3),
    ("from: csm", "from: not-an-address", "is not an email address", 6),
    ("from: csm", "from: csm\nholdout: 10", "is not a share", 7),
    ("from: csm", "from: csm\nholdout: 150%", "is not a share", 7),
    ("from: csm", "from: csm\nreentry_days: 0", "reentry_days", 7),
    ("from: csm", "from: csm\ncolour: red", "colour: unknown key", 7),
    ("name: welcome", "name: ../../etc", "is not a journey name", 1),
    ("audience: \"touch_tier != 'high'\"", 'audience: "tier == 1"', "unknown variable 'tier'", 4),
    ("audience: \"touch_tier != 'high'\"", "audience: \"touch_tier == 'hgh'\"", "never a value", 4),
    ("recipients: \"role in ['Admin']\"", 'recipients: "depth > 0.5"', "unknown variable", 5),
    (
        'at: "onboarding_date + 1 days"',
        'at: "onboarding_date + 1 weeks"',
        "is not a date rule",
        8,
    ),
    ('at: "onboarding_date + 1 days"', 'at: "arr + 1 days"', "not a date variable", 8),
    ('at: "onboarding_date + 1 days"', 'when: "nope > 1"', "unknown variable 'nope'", 8),
    (
        'at: "onboarding_date + 1 days"',
        'at: "onboarding_date + 1 days", when: "true"',
        "exactly one due rule",
        8,
    ),
    ('at: "onboarding_date + 1 days"', 'template: x, when: "true"', "", 8),
    ("template: onboarding-welcome", "template: ../../etc/passwd", "is not a template name", 8),
    ("id: hello", "id: Hello World", "is not a step id", 8),
    (
        'at: "onboarding_date + 1 days"',
        "after: {step: later, days: 3}",
        "'later' is not an earlier step",
        8,
    ),
]


@pytest.mark.parametrize(("old", "new", "message", "line"), BAD)
def test_bad_journey_files_are_refused(
    tmp_path: Path, old: str, new: str, message: str, line: int
) -> None:
    """A bad key or value is an InputError naming the file, the line and what is wrong."""
    assert old in GOOD
    folder = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as e:
        load_journeys(folder)
    assert e.value.location is not None and e.value.location.file == "journeys/j.yaml"
    assert e.value.location.line == line
    assert message in e.value.message
    assert e.value.hint


def test_template_and_variants_together_are_refused(tmp_path: Path) -> None:
    """A step names a template or variants, not both."""
    text = GOOD.replace(
        "template: onboarding-welcome,",
        "template: a, variants: [{template: b}, {template: c}],",
    )
    with pytest.raises(InputError, match="either template: or variants:"):
        load_journeys(write(tmp_path, text))


def test_duplicate_step_ids_and_names_are_refused(tmp_path: Path) -> None:
    """Step ids are unique in a journey; journey names across files."""
    text = GOOD + '  - {id: hello, template: onboarding-day30, at: "onboarding_date + 30 days"}\n'
    with pytest.raises(InputError, match="used twice"):
        load_journeys(write(tmp_path, text))
    folder = write(tmp_path / "two", GOOD)
    write(tmp_path / "two", GOOD, "k.yaml")
    with pytest.raises(InputError, match=r"already the name of journeys/j\.yaml"):
        load_journeys(folder)


def test_unknown_journey_names_the_close_one(tmp_path: Path) -> None:
    """find() suggests the closest name; a name with a path is refused outright."""
    defs = load_journeys(write(tmp_path, GOOD))
    with pytest.raises(NotFoundError, match="no journey called 'welcom'") as e:
        find(defs, "welcom")
    assert e.value.hint is not None and "did you mean welcome?" in e.value.hint
    with pytest.raises(InputError, match="not a valid journey name"):
        find(defs, "../welcome")


def test_step_rules_see_user_and_account_variables(tmp_path: Path) -> None:
    """A step's when: may mix account and user variables; the audience may not use user ones."""
    text = GOOD.replace(
        'at: "onboarding_date + 1 days"', "when: \"depth_band == 'red' and role == 'Admin'\""
    )
    rule = load_journeys(write(tmp_path, text))[0].model.steps[0].rule
    assert isinstance(rule, Condition) and rule.names == {"depth_band", "role"}


DATE_VARIABLES = sorted(
    v.name for v in [*ACCOUNT_VARIABLES, *USER_VARIABLES] if v.type.startswith("date")
)


@given(st.sampled_from(DATE_VARIABLES), st.integers(-99_999, 99_999))
def test_at_rules_round_trip(variable: str, days: int) -> None:
    """An at: rule written out reads back as the same rule."""
    rule = AtRule(variable, days)
    catalogue = ACCOUNT_VARIABLES.with_variables(USER_VARIABLES)
    assert parse_at(str(rule), catalogue) == rule
