"""The shipped playbooks, journeys and email templates are well formed and render.

A content check with yaml and jinja2 alone: every definition loads and has its keys, every
condition and reason uses only the documented variables, every template named exists, parses
and renders in a strict sandbox for a full and a sparse context, and every journey email
carries the unsubscribe link and the postal footer of the shared layout.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = Path(__file__).resolve().parents[1]
PLAYBOOKS = REPO / "playbooks"
JOURNEYS = REPO / "journeys"
TEMPLATES = REPO / "email_templates"

ACCOUNT_FIELDS = {
    "account_id",
    "name",
    "industry",
    "segment",
    "arr",
    "licenses_purchased",
    "csm",
    "lifecycle_stage",
    "onboarding_date",
    "renewal_date",
    "employees",
    "region",
}
MEASURES = ("deployment", "depth", "breadth")
# The condition variables per account (playbooks, journey audiences).
ACCOUNT_VARS = (
    ACCOUNT_FIELDS
    | set(MEASURES)
    | {f"{m}_band" for m in MEASURES}
    | {f"{m}_band_change" for m in MEASURES}
    | {"days_to_renewal", "days_since_onboarding", "nps", "nps_days", "open_ctas", "touch_tier"}
)
USER_FIELDS = {
    "user_id",
    "account_id",
    "email",
    "first_name",
    "last_name",
    "role",
    "level",
    "activated_at",
    "is_advocate",
    "unsubscribed",
}
# Journey recipient and step rules see the user as well as the account.
USER_VARS = ACCOUNT_VARS | USER_FIELDS | {"days_inactive", "features_unused"}

PLAYBOOK_REQUIRED = {
    "name",
    "description",
    "type",
    "priority",
    "when",
    "reason",
    "owner",
    "due_in",
    "tasks",
}
PLAYBOOK_OPTIONAL = {"audience", "close_when", "cooldown_days"}
TYPES = {"risk", "expansion", "lifecycle", "activity", "objective", "reference"}
PRIORITIES = {"low", "medium", "high", "urgent"}
JOURNEY_REQUIRED = {"name", "description", "category", "audience", "recipients", "from", "steps"}
JOURNEY_OPTIONAL = {"holdout", "reentry_days"}
STAGES = ("Onboarding", "Adopting", "Mature", "At Risk", "Renewing")
CATEGORIES = {"onboarding", "adoption", "renewal", "survey", "announcement", "transactional"}
AT_RULE = re.compile(r"^(onboarding_date|renewal_date|activated_at) [+-] \d+ days?$")
# The emails of the reference workflow, and what each is rendered with.
REFERENCE_TEMPLATES = {
    "ref-request-alert": "internal",
    "ref-ask": "ask",
    "ref-follow-up": "follow-up",
}
LAYOUT_HTML = "_layouts/base.html.j2"
LAYOUT_TXT = "_layouts/base.txt.j2"

ENV = Environment()


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def playbook_files() -> list[Path]:
    return sorted(PLAYBOOKS.glob("*.yaml"))


def journey_files() -> list[Path]:
    return sorted(JOURNEYS.glob("*.yaml"))


def template_dirs() -> list[Path]:
    return sorted(d for d in TEMPLATES.iterdir() if d.is_dir() and not d.name.startswith("_"))


def names_in_expression(expr: str) -> set[str]:
    return set(meta.find_undeclared_variables(ENV.parse("{{ (" + expr + ") }}")))


def names_in_template(source: str) -> set[str]:
    return set(meta.find_undeclared_variables(ENV.parse(source))) - set(ENV.globals)


def assists() -> dict[str, str]:
    """Every email assist named by a playbook task, with the playbook naming it."""
    return {
        task["email_assist"]: load(f)["name"]
        for f in playbook_files()
        for task in load(f)["tasks"]
        if "email_assist" in task
    }


def journey_templates() -> dict[str, str]:
    """Every template named by a journey step or variant, with the journey naming it."""
    found: dict[str, str] = {}
    for f in journey_files():
        journey = load(f)
        for step in journey["steps"]:
            for variant in step.get("variants", [step]):
                found[variant["template"]] = journey["name"]
    return found


def test_content_is_shipped() -> None:
    """Every practice the issues list is shipped, one definition per file."""
    playbooks = {f.stem for f in playbook_files()}
    assert {
        "deployment-review",
        "sit-along",
        "instance-optimisation",
        "adoption-review",
        "office-hours",
        "feature-rollout",
        "process-training-refresh",
        "adoption-coaching-leaders",
        "onboarding-milestones",
        "renewal-at-risk",
        "expansion-opportunity",
        "tech-touch-turns-red",
        "detractor-follow-up",
    } <= playbooks
    journeys = {f.stem for f in journey_files()}
    assert {
        "onboarding",
        "feature-nudge",
        "renewal",
        "nps-survey",
        "power-user-inactive",
        "csm-out-of-office",
    } <= journeys
    assert not list(PLAYBOOKS.glob(".keep")) and not list(TEMPLATES.glob(".keep"))


@pytest.mark.parametrize("path", playbook_files(), ids=lambda p: p.stem)
def test_playbook_shape(path: Path) -> None:
    """A playbook has exactly the documented keys, valid values and tasks due in time."""
    pb = load(path)
    assert set(pb) >= PLAYBOOK_REQUIRED, PLAYBOOK_REQUIRED - set(pb)
    assert set(pb) <= PLAYBOOK_REQUIRED | PLAYBOOK_OPTIONAL, set(pb) - PLAYBOOK_REQUIRED
    assert pb["name"] == path.stem
    assert pb["type"] in TYPES
    assert pb["priority"] in PRIORITIES
    assert pb["owner"] in ACCOUNT_FIELDS
    assert isinstance(pb["due_in"], int) and pb["due_in"] > 0
    assert isinstance(pb.get("cooldown_days", 0), int) and pb.get("cooldown_days", 0) >= 0
    assert len(pb["description"]) > 40
    assert pb["tasks"], "a playbook opens at least one task"
    for task in pb["tasks"]:
        assert set(task) <= {"title", "due_in", "email_assist", "recipients"}, task
        assert isinstance(task["title"], str) and len(task["title"]) > 10
        assert isinstance(task["due_in"], int) and 0 < task["due_in"] <= pb["due_in"], task


@pytest.mark.parametrize("path", playbook_files(), ids=lambda p: p.stem)
def test_playbook_conditions_use_documented_variables(path: Path) -> None:
    """when, audience, close_when and reason compile and name only condition variables."""
    pb = load(path)
    sandbox = ImmutableSandboxedEnvironment()
    for key in ("when", "audience", "close_when"):
        if key in pb:
            sandbox.compile_expression(pb[key])
            unknown = names_in_expression(pb[key]) - ACCOUNT_VARS
            assert not unknown, f"{key}: unknown variables {unknown}"
    assert not names_in_template(pb["reason"]) - ACCOUNT_VARS
    assert "\n" not in pb["reason"]


def account_vars(**overrides: Any) -> dict[str, Any]:
    """Condition variables of one account, every optional value present."""
    values: dict[str, Any] = {
        "account_id": "ACC-00012",
        "name": "Northwind & Co",
        "industry": "Healthcare",
        "segment": "Mid-Market",
        "arr": 54000.0,
        "licenses_purchased": 9,
        "csm": "Priya Raman",
        "lifecycle_stage": "Renewing",
        "onboarding_date": "2023-11-13",
        "renewal_date": "2026-12-13",
        "employees": 420,
        "region": "EMEA",
        "deployment": 1 / 3,
        "depth": 0.25,
        "breadth": 0.58,
        "deployment_band": "red",
        "depth_band": "orange",
        "breadth_band": "lime",
        "deployment_band_change": 0,
        "depth_band_change": -2,
        "breadth_band_change": 1,
        "days_to_renewal": 23,
        "days_since_onboarding": 1103,
        "nps": 4,
        "nps_days": 6,
        "open_ctas": 1,
        "touch_tier": "low",
    }
    values.update(overrides)
    assert set(values) == ACCOUNT_VARS
    return values


SPARSE_ACCOUNT = {
    "industry": None,
    "region": None,
    "renewal_date": None,
    "deployment": None,
    "depth": None,
    "breadth": None,
    "deployment_band": None,
    "depth_band": None,
    "breadth_band": None,
    "deployment_band_change": None,
    "depth_band_change": None,
    "breadth_band_change": None,
    "days_to_renewal": None,
    "nps": None,
    "nps_days": None,
}


@pytest.mark.parametrize("path", playbook_files(), ids=lambda p: p.stem)
@pytest.mark.parametrize("sparse", [False, True], ids=["full", "sparse"])
def test_playbook_reason_renders(path: Path, sparse: bool) -> None:
    """A reason renders as one line even when scores, renewal and NPS are missing."""
    pb = load(path)
    sandbox = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    variables = account_vars(**(SPARSE_ACCOUNT if sparse else {}))
    text = sandbox.from_string(pb["reason"]).render(variables)
    assert text.strip() and "\n" not in text


NO_HISTORY = {k: v for k, v in SPARSE_ACCOUNT.items() if k.endswith("_change") or "nps" in k}
NO_HISTORY |= {"renewal_date": None, "days_to_renewal": None}


@pytest.mark.parametrize("path", playbook_files(), ids=lambda p: p.stem)
@pytest.mark.parametrize("missing", [SPARSE_ACCOUNT, NO_HISTORY], ids=["no-scores", "no-history"])
def test_playbook_conditions_guard_missing_values(path: Path, missing: dict[str, Any]) -> None:
    """No condition compares a missing score, band change, renewal or NPS, in any stage."""
    pb = load(path)
    sandbox = ImmutableSandboxedEnvironment()
    for stage, tier in itertools.product(STAGES, ("high", "low", "tech")):
        variables = account_vars(lifecycle_stage=stage, touch_tier=tier, **missing)
        for key in ("when", "audience", "close_when"):
            if key in pb:
                result = sandbox.compile_expression(pb[key])(**variables)
                assert result in (True, False), (key, stage, tier, result)


@pytest.mark.parametrize("path", journey_files(), ids=lambda p: p.stem)
def test_journey_shape(path: Path) -> None:
    """A journey has the documented keys, one due rule and one template choice per step."""
    j = load(path)
    assert set(j) >= JOURNEY_REQUIRED, JOURNEY_REQUIRED - set(j)
    assert set(j) <= JOURNEY_REQUIRED | JOURNEY_OPTIONAL, set(j) - JOURNEY_REQUIRED
    assert j["name"] == path.stem
    assert j["category"] in CATEGORIES
    assert j["from"] == "csm" or re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", j["from"])
    if "holdout" in j:
        assert re.fullmatch(r"\d{1,2}%", str(j["holdout"]))
    if "reentry_days" in j:
        assert isinstance(j["reentry_days"], int) and j["reentry_days"] > 0
    seen: list[str] = []
    for step in j["steps"]:
        assert step["id"] not in seen
        rules = {"at", "when", "after"} & set(step)
        assert len(rules) == 1, step
        assert len({"template", "variants"} & set(step)) == 1, step
        assert set(step) <= {"id", "template", "variants", "at", "when", "after"}, step
        if "at" in step:
            assert AT_RULE.match(step["at"]), step["at"]
        if "after" in step:
            assert step["after"]["step"] in seen and step["after"]["days"] > 0
        for variant in step.get("variants", []):
            assert set(variant) == {"template", "weight"}
            assert isinstance(variant["weight"], int) and variant["weight"] > 0
        seen.append(step["id"])


@pytest.mark.parametrize("path", journey_files(), ids=lambda p: p.stem)
def test_journey_rules_use_documented_variables(path: Path) -> None:
    """audience names account variables; recipients and step rules add the user's."""
    j = load(path)
    sandbox = ImmutableSandboxedEnvironment()
    rules = [("audience", j["audience"], ACCOUNT_VARS), ("recipients", j["recipients"], USER_VARS)]
    rules += [(f"step {s['id']}", s["when"], USER_VARS) for s in j["steps"] if "when" in s]
    for where, expr, allowed in rules:
        sandbox.compile_expression(expr)
        unknown = names_in_expression(expr) - allowed
        assert not unknown, f"{where}: unknown variables {unknown}"


def test_every_named_template_exists() -> None:
    """Every email assist, journey template and reference email is a complete folder."""
    named = set(assists()) | set(journey_templates()) | set(REFERENCE_TEMPLATES)
    for name in named:
        for part in ("subject.j2", "body.html.j2", "body.txt.j2"):
            assert (TEMPLATES / name / part).is_file(), f"{name}/{part}"
    # ...and no template folder is left that nothing uses.
    assert {d.name for d in template_dirs()} == named


def all_template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.j2"))


@pytest.mark.parametrize("path", all_template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_parses(path: Path) -> None:
    """Every template file is valid Jinja."""
    ENV.parse(path.read_text(encoding="utf-8"))


def parents(name: str) -> Iterator[str]:
    """The chain of templates ``name`` extends, nearest first."""
    while True:
        tree = ENV.parse((TEMPLATES / name).read_text(encoding="utf-8"))
        extends = list(tree.find_all(nodes.Extends))
        if not extends:
            return
        assert isinstance(extends[0].template, nodes.Const)
        name = extends[0].template.value
        yield name


@pytest.mark.parametrize("name", sorted(set(journey_templates())))
def test_journey_templates_extend_the_unsubscribe_layout(name: str) -> None:
    """Journey bodies extend the layout that carries the unsubscribe link and postal footer."""
    assert LAYOUT_HTML in parents(f"{name}/body.html.j2")
    assert LAYOUT_TXT in parents(f"{name}/body.txt.j2")
    for layout in (LAYOUT_HTML, LAYOUT_TXT):
        source = (TEMPLATES / layout).read_text(encoding="utf-8")
        assert "unsubscribe_url" in names_in_template(source)
        assert "company.postal_address" in source


COMPANY = {"name": "Acme", "postal_address": "100 Market Street, San Francisco, CA 94105"}
UNSUBSCRIBE = "https://acme.example/unsubscribe/3f9c2a"


def context(kind: str, *, sparse: bool) -> dict[str, Any]:
    """The documented context of one kind of email, with all optional values set or none."""
    account = {k: v for k, v in account_vars().items() if k in ACCOUNT_FIELDS}
    adoption: dict[str, Any] = {
        "deployment": 1 / 3,
        "depth": 0.25,
        "breadth": 0.58,
        "deployment_band": "red",
        "depth_band": "orange",
        "breadth_band": "lime",
        "licenses": 9,
        "activated": 3,
        "active": 1,
        "features_used": ["dashboards", "reports", "alerts"],
        "features_unused": ["workflows", "integrations", "forecasting", "sso", "custom_widget"],
        "as_of": "2026-11-20",
    }
    csm: dict[str, Any] = {
        "name": "Priya Raman",
        "first_name": "Priya",
        "email": "priya.raman@acme.example",
        "title": "Senior Customer Success Manager",
    }
    user: dict[str, Any] = {
        "user_id": "USR-000101",
        "email": "ana.lopez@northwind.example",
        "first_name": "Ana",
        "last_name": "López",
        "role": "Admin",
        "level": "Manager",
        "days_inactive": 16,
        "features_unused": ["workflows", "alerts", "sso"],
    }
    request: dict[str, Any] = {
        "request_id": "REQ-0003",
        "opportunity": "OPP-00002",
        "prospect": "Alder Health",
        "prospect_industry": "Healthcare",
        "level": "VP",
        "count": 2,
        "topics": "Rollout to 40 clinics; audit log",
        "needed_by": "2026-12-04",
        "ae": "Ben Tanaka",
        "characteristics": "500 to 2,000 employees, several sites",
    }
    if sparse:
        account.update(industry=None, region=None, renewal_date=None)
        for measure in ("deployment", "depth", "breadth"):
            adoption.update({measure: None, f"{measure}_band": None})
        adoption.update(licenses=None, activated=None, active=None)
        adoption.update(features_used=[], features_unused=[])
        csm.update(title=None, email=None)
        user.update(first_name=None, last_name=None, days_inactive=None, features_unused=[])
        request.update(prospect=None, prospect_industry=None, characteristics=None, ae=None)
    base = {"company": COMPANY, "account": account, "adoption": adoption, "csm": csm}
    if kind == "journey":
        return base | {
            "user": user,
            "journey": {"name": "onboarding", "description": "...", "category": "onboarding"},
            "step": {"id": "welcome", "variant": None},
            "unsubscribe_url": UNSUBSCRIBE,
            "survey_url": "https://survey.example.com/nps",
        }
    if kind == "assist":
        return base | {
            "user": user,
            "cta": {
                "playbook": "renewal-at-risk",
                "type": "risk",
                "priority": "high",
                "reason": "Renewal in 23 days; depth orange",
                "opened_on": "2026-11-20",
                "due_on": "2026-11-27",
            },
            "task": {"title": "Review usage with the champion", "due_on": "2026-11-24"},
        }
    if kind == "ask":
        return base | {"user": user, "request": request}
    if kind == "follow-up":  # the request also says where it stands
        request |= {"step": 3, "step_name": "contacted", "waiting_for": "you to connect them"}
    # Internal reference emails go to colleagues: no account, user or adoption.
    return {"company": COMPANY, "request": request}


def rendered_kinds() -> list[tuple[str, str]]:
    kinds = {n: "assist" for n in assists()}
    kinds |= {n: "journey" for n in journey_templates()}
    kinds |= REFERENCE_TEMPLATES
    return sorted(kinds.items())


@pytest.mark.parametrize(("name", "kind"), rendered_kinds(), ids=lambda v: str(v))
@pytest.mark.parametrize("sparse", [False, True], ids=["full", "sparse"])
def test_template_renders_in_the_strict_sandbox(name: str, kind: str, sparse: bool) -> None:
    """Each email renders from its documented context alone, with no 'None' shown."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=lambda template: bool(template) and template.endswith(".html.j2"),
    )
    ctx = context(kind, sparse=sparse)
    subject = env.get_template(f"{name}/subject.j2").render(ctx)
    html = env.get_template(f"{name}/body.html.j2").render(ctx)
    text = env.get_template(f"{name}/body.txt.j2").render(ctx)
    assert subject.strip() == subject and subject and "\n" not in subject
    assert len(subject) <= 90
    for body in (html, text):
        assert "None" not in body and "None" not in subject
        if kind != "internal":
            assert "Hi " in body
    assert html.lstrip().startswith("<!DOCTYPE html>") and len(html.encode()) < 3500
    assert "<" not in text
    is_journey = kind == "journey"
    for body in (html, text):
        assert (UNSUBSCRIBE in body) is is_journey
        assert (COMPANY["postal_address"] in body) is is_journey
