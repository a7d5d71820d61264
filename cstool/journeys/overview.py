"""``journey list``, ``journey show`` and ``journey validate``: the journeys as defined, their
audience on a date, and whether every one of them can be sent.

Validation goes beyond loading (which already checks keys, names and conditions): every
template a step names must exist, compile and have an HTML part, and render for a sample
recipient with every optional value present and with every one missing; and the email of a
journey that is not transactional must show its unsubscribe link and the postal address in
both parts, as the law and the mailbox providers ask of bulk mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.errors import CstoolError, InputError, Problem
from cstool.journeys.definitions import Journey, check_name, describe, find
from cstool.journeys.due import held_out, send_day

if TYPE_CHECKING:
    from cstool.config import Config
    from cstool.templating import EmailTemplates
    from cstool.workspace import Workspace
    from cstool.yamlfile import Definition

LIST_COLUMNS = (
    "name",
    "category",
    "steps",
    "audience",
    "recipients",
    "from",
    "holdout",
    "reentry_days",
    "description",
)
STEP_COLUMNS = ("step", "rule", "templates", "catch_up_days")
AUDIENCE_COLUMNS = ("account_id", "name", "touch_tier", "csm", "recipients", "held_out")


def list_journeys(ws: Workspace) -> tuple[list[dict[str, Any]], list[str]]:
    """Every journey of the workspace that loads as a row of LIST_COLUMNS, by file name, and
    the problems of the files that do not."""
    from cstool.journeys.definitions import journey_definitions

    with ws.open_store() as store:
        loaded = journey_definitions(ws, store)
    return [dict(describe(d.model)) for d in loaded], [str(b) for b in loaded.broken]


@dataclass
class Shown:
    """A journey, its steps and its audience on a date."""

    journey: Journey
    file: str
    as_of: date
    steps: list[dict[str, Any]]
    audience: list[dict[str, Any]]
    recipients: int
    not_send_day: str | None
    broken: list[str] = field(default_factory=list)  # other journey files that do not load

    @property
    def held_out(self) -> int:
        return sum(1 for a in self.audience if a["held_out"])


def step_rows(journey: Journey) -> list[dict[str, Any]]:
    """The steps as rows of STEP_COLUMNS."""
    rows = []
    for s in journey.steps:
        choices = s.choices
        templates = (
            choices[0][1]
            if len(choices) == 1
            else ", ".join(f"{label}: {t} ({w})" for label, t, w in choices)
        )
        catch_up = s.catch_up_days if s.when is None else None
        rows.append(
            {"step": s.id, "rule": s.rule_text, "templates": templates, "catch_up_days": catch_up}
        )
    return rows


def show(ws: Workspace, name: str, as_of: date) -> Shown:
    """A journey's steps, and the accounts and people in its audience on ``as_of``."""
    from cstool import context
    from cstool.journeys.definitions import journey_definitions

    check_name(name)
    with ws.open_store() as store:
        loaded = journey_definitions(ws, store)
        definition = find(loaded, name)
        journey = definition.model
        book = context.book(store, ws.resolved, as_of)
        accounts = [a for a in book.accounts if journey.audience_condition.holds(a)]
        ids = {a["account_id"] for a in accounts}
        users = context.users(store, ws.resolved.config, as_of, ids)
    per_account: dict[str, int] = {}
    for u in users:
        if journey.recipients_condition.holds(u):
            per_account[u["account_id"]] = per_account.get(u["account_id"], 0) + 1
    audience = [
        {
            "account_id": a["account_id"],
            "name": a["name"],
            "touch_tier": a["touch_tier"],
            "csm": a["csm"],
            "recipients": per_account.get(a["account_id"], 0),
            "held_out": held_out(journey, a["account_id"]),
        }
        for a in accounts
    ]
    return Shown(
        journey,
        definition.name,
        as_of,
        step_rows(journey),
        audience,
        sum(per_account.values()),
        send_day(ws.resolved.config, as_of),
        [str(b) for b in loaded.broken],
    )


# -- validate --------------------------------------------------------------------------------


@dataclass
class Checked:
    """One journey file's validation: what was checked and the problems found."""

    file: str
    name: str | None
    templates: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _sample_contexts(config: Config, journey: Journey) -> list[tuple[str, dict[str, Any]]]:
    """A full and a sparse sample recipient, in the documented template context."""
    from urllib.parse import quote

    from cstool.context import company_context

    fields = {
        "user_id": "USR-000101",
        "account_id": "ACC-00012",
        "category": journey.category,
        "journey": journey.name,
        "key": f"{journey.name}.sample.0",
    }
    url = config.journeys.unsubscribe_url.format(
        **{k: quote(v, safe="") for k, v in fields.items()}
    )
    full: dict[str, Any] = {
        "company": company_context(config),
        "account": {
            "account_id": "ACC-00012",
            "name": "Northwind & Co",
            "industry": "Healthcare",
            "segment": "Mid-Market",
            "arr": 54000.0,
            "licenses_purchased": 9,
            "csm": "Priya Raman",
            "lifecycle_stage": "Adopting",
            "onboarding_date": "2026-01-13",
            "renewal_date": "2027-01-13",
            "employees": 420,
            "region": "EMEA",
        },
        "adoption": {
            "deployment": 1 / 3,
            "depth": 0.25,
            "breadth": 0.58,
            "deployment_band": "red",
            "depth_band": "orange",
            "breadth_band": "lime",
            "licenses": 9,
            "activated": 3,
            "active": 1,
            "features_used": ["dashboards", "reports"],
            "features_unused": ["workflows", "alerts", "sso"],
            "as_of": "2026-11-20",
        },
        "csm": {
            "name": "Priya Raman",
            "first_name": "Priya",
            "email": "priya.raman@example.com",
            "title": "Customer Success Manager",
        },
        "user": {
            "user_id": "USR-000101",
            "email": "ana.lopez@example.com",
            "first_name": "Ana",
            "last_name": "López",
            "role": "Admin",
            "level": "Manager",
            "days_inactive": 16,
            "features_unused": ["workflows", "alerts", "sso"],
        },
        "journey": {
            "name": journey.name,
            "description": journey.description,
            "category": journey.category,
        },
        "step": {"id": journey.steps[0].id, "variant": None},
        "unsubscribe_url": url,
        "survey_url": config.journeys.survey_url,
    }
    sparse = {k: dict(v) if isinstance(v, dict) else v for k, v in full.items()}
    sparse["account"].update(industry=None, region=None, renewal_date=None, segment=None)
    for m in ("deployment", "depth", "breadth"):
        sparse["adoption"].update({m: None, f"{m}_band": None})
    sparse["adoption"].update(
        licenses=None, activated=None, active=None, features_used=[], features_unused=[]
    )
    sparse["csm"].update(title=None, email=None)
    sparse["user"].update(first_name=None, last_name=None, days_inactive=None, features_unused=[])
    return [("full", full), ("sparse", sparse)]


def _check_template(
    templates: EmailTemplates, config: Config, journey: Journey, name: str
) -> list[Problem]:
    from cstool.errors import Location

    where = Location(f"email_templates/{name}")
    try:
        compiled = templates.get(name)
    except CstoolError as e:
        return [Problem(e.location or where, e.message)]
    if not compiled.has_html:
        return [Problem(where, "a journey email needs body.html.j2 (the text part may stay)")]
    problems: list[Problem] = []
    address = config.sender.postal_address
    for label, context in _sample_contexts(config, journey):
        try:
            email = compiled.render(context, recipient=f"the {label} sample recipient")
        except CstoolError as e:
            problems.append(Problem(e.location or where, e.message))
            continue
        if journey.transactional:
            continue
        url = context["unsubscribe_url"]
        html = email.html or ""
        for part, text, link in (("HTML", html, escape(url)), ("text", email.text, url)):
            if link not in text:
                problems.append(
                    Problem(where, f"the {part} part does not show the unsubscribe link")
                )
            if address and address not in text and escape(address) not in text:
                problems.append(Problem(where, f"the {part} part does not show the postal address"))
        if problems:
            break
    return problems


NO_POSTAL_ADDRESS = "sender.postal_address is not set: bulk email must show a postal address"


def journey_problems(config: Config, templates: EmailTemplates, journey: Journey) -> list[Problem]:
    """What stops a loaded journey from being sent: its templates (they exist, compile, have
    an HTML part and render for a full and a sparse sample recipient) and, unless it is
    transactional, the unsubscribe link and the postal footer in both parts of every one.

    ``journey validate`` reports these, and ``journey send`` refuses a journey that has any.
    """
    from cstool.errors import Location

    problems: list[Problem] = []
    if not journey.transactional and not config.sender.postal_address:
        problems.append(Problem(Location("cstool.yaml"), NO_POSTAL_ADDRESS))
    for template in journey.templates():
        problems += _check_template(templates, config, journey, template)
    return problems


def validate(ws: Workspace, name: str | None = None) -> list[Checked]:
    """Check every journey (or one): its file, its templates, its unsubscribe link and footer.

    Returns one :class:`Checked` per journey file; the caller reports the problems.
    """
    from cstool.context import account_catalogue
    from cstool.errors import Location
    from cstool.journeys.definitions import load_journey_file, templates_of
    from cstool.yamlfile import definition_files

    if name is not None:
        check_name(name)
    config = ws.resolved.config
    templates = templates_of(ws)
    folder = ws.root / "journeys"
    checked: list[Checked] = []
    with ws.open_store() as store:
        catalogue = account_catalogue(store)
    loaded: list[Definition[Journey]] = []
    for path in definition_files(folder):
        try:
            loaded.append(load_journey_file(path, catalogue))
        except InputError as e:
            shown = f"journeys/{path.name}"
            problems = e.problems or [Problem(e.location or Location(shown), e.message)]
            checked.append(Checked(shown, None, problems=problems))
    if name is not None:
        own = [c for c in checked if Path(c.file).stem == name]
        if own and not any(d.model.name == name for d in loaded):
            return own  # journeys/NAME.yaml does not load: its own errors, not "no journey"
        definition = find(loaded, name)
        loaded = [definition]
        checked = []
    names: dict[str, str] = {}
    for d in loaded:
        journey = d.model
        c = Checked(d.name, journey.name, templates=journey.templates())
        if journey.name in names:
            c.problems.append(
                Problem(
                    d.location("name"), f"the name {journey.name!r} is also {names[journey.name]}'s"
                )
            )
        names.setdefault(journey.name, d.name)
        c.problems += journey_problems(config, templates, journey)
        checked.append(c)
    checked.sort(key=lambda c: c.file)
    return checked
