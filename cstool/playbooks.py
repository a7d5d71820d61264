"""Playbooks: YAML rules that turn adoption into consistent CSM work.

A playbook (one file in the workspace's ``playbooks/``) says when an account needs a CSM's
attention and what to do: ``when`` (and optionally ``audience``) is a condition over the
account variables; while it holds, ``cta generate`` keeps one CTA open for the account with
the playbook's ``tasks``, due ``due_in`` business days from the as-of date. The CTA closes
when ``close_when`` holds (when given: until then it stays open even if ``when`` no longer
holds) or else when ``when`` no longer holds; ``cooldown_days`` keep it from reopening soon
after. ``reason`` is a one-line template over the same variables, and a task's
``email_assist`` names an email template in ``email_templates/`` that ``cta assist`` renders
for the account's contacts.

Loading is strict (:mod:`cstool.yamlfile`): unknown keys, YAML tags, keys given twice and
two files with one name are refused, and so is a condition or reason naming a variable that
does not exist, an owner that is not an account field and a missing email template, each
with the file, the line and the key path. :func:`validate` also renders every reason and
email assist for a full and a sparse sample account.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cstool import yamlfile
from cstool.conditions import (
    ACCOUNT_VARIABLES,
    TASK_RECIPIENT_VARIABLES,
    Catalogue,
    Condition,
    ConditionError,
)
from cstool.errors import InputError, Location, NotFoundError, Problem
from cstool.yamlfile import Definition, KeyProblem, KeyProblems

if TYPE_CHECKING:
    from cstool.config import Config
    from cstool.store import Store
    from cstool.templating import EmailTemplates, TextTemplate
    from cstool.workspace import Workspace

FOLDER = "playbooks"
TYPES = ("risk", "expansion", "lifecycle", "activity", "objective", "reference")
PRIORITIES = ("low", "medium", "high", "urgent")
CONDITION_KEYS = ("audience", "when", "close_when")
OWNER_GROUPS = ("account", "attribute")
REFERENCE = "the README's Playbooks section lists the keys"
NAME_RE = r"^[a-z0-9][a-z0-9_-]*$"


class Task(BaseModel):
    """One task of a playbook's CTA."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    due_in: int = Field(ge=0, description="Business days from the as-of date")
    email_assist: str | None = Field(
        default=None, description="An email template in email_templates/ for this task"
    )
    recipients: str | None = Field(
        default=None,
        description="Who gets the email assist: a condition on the account's users "
        "(default: the Executive Sponsors and Admins)",
    )

    _recipients: Condition | None = PrivateAttr(default=None)

    @field_validator("recipients")
    @classmethod
    def _recipients_condition(cls, v: str | None) -> str | None:
        if v is not None:
            TASK_RECIPIENT_VARIABLES.compile(v)
        return v

    @model_validator(mode="after")
    def _compile_recipients(self) -> Task:
        if self.recipients is not None:
            self._recipients = TASK_RECIPIENT_VARIABLES.compile(self.recipients)
        return self

    @property
    def recipients_condition(self) -> Condition | None:
        """The compiled ``recipients`` (None when not given)."""
        return self._recipients


class Playbook(BaseModel):
    """One playbook, as written in its file; conditions and reason compiled on validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_RE)
    description: str = ""
    type: Literal["risk", "expansion", "lifecycle", "activity", "objective", "reference"]
    priority: Literal["low", "medium", "high", "urgent"]
    audience: str | None = None
    when: str
    close_when: str | None = None
    reason: str
    owner: str = "csm"
    due_in: int = Field(ge=0, description="Business days from the as-of date")
    cooldown_days: int = Field(default=0, ge=0)
    tasks: list[Task] = Field(default_factory=list)

    _conditions: dict[str, Condition] = PrivateAttr(default_factory=dict)
    _reason: TextTemplate | None = PrivateAttr(default=None)

    # Each key is checked by its own field validator, so that pydantic reports every problem
    # of a file at once; what compiles is kept in the validation context and reused below.
    @field_validator(*CONDITION_KEYS)
    @classmethod
    def _condition(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None:
            try:
                compiled = _catalogue(info).compile(v)
            except ConditionError as e:
                raise KeyProblem((), e.message, e.hint) from None
            _compiled(info)[(info.field_name, v)] = compiled
        return v

    @field_validator("reason")
    @classmethod
    def _reason_template(cls, v: str, info: ValidationInfo) -> str:
        _compiled(info)[("reason", v)] = _compile_reason(v, _catalogue(info))
        return v

    @field_validator("owner")
    @classmethod
    def _owner_field(cls, v: str, info: ValidationInfo) -> str:
        catalogue = _catalogue(info)
        owner = catalogue.get(v)
        if owner is None or owner.group not in OWNER_GROUPS:
            fields = [x.name for x in catalogue if x.group in OWNER_GROUPS]
            close = difflib.get_close_matches(v, fields, n=1)
            raise KeyProblem(
                (),
                f"{v!r} is not a field of the accounts export",
                (f"did you mean {close[0]}? " if close else "")
                + "owner names the account field that holds the CTA's owner, e.g. csm",
            )
        return v

    @field_validator("tasks")
    @classmethod
    def _task_checks(cls, v: list[Task], info: ValidationInfo) -> list[Task]:
        templates: EmailTemplates | None = (info.context or {}).get("templates")
        due_in = info.data.get("due_in")
        problems: list[KeyProblem] = []
        for i, task in enumerate(v):
            if due_in is not None and task.due_in > due_in:
                problems.append(
                    KeyProblem(
                        (i, "due_in"),
                        f"the task is due after its CTA (due_in {due_in})",
                        "make the task due on or before the CTA's due_in",
                    )
                )
            assist = task.email_assist
            if assist is not None and templates is not None and not templates.exists(assist):
                close = difflib.get_close_matches(assist, templates.names(), n=1)
                problems.append(
                    KeyProblem(
                        (i, "email_assist"),
                        f"no email template {assist!r} in {templates.display}/",
                        (f"did you mean {close[0]}? " if close else "")
                        + f"an email assist is a folder in {templates.display}/ with "
                        "subject.j2 and a body",
                    )
                )
        if problems:
            raise KeyProblems(problems)
        return v

    @model_validator(mode="after")
    def _compile(self, info: ValidationInfo) -> Playbook:
        compiled = _compiled(info)
        catalogue = _catalogue(info)
        for key in CONDITION_KEYS:
            source = getattr(self, key)
            if source is not None:
                found = compiled.get((key, source))
                self._conditions[key] = found if found is not None else catalogue.compile(source)
        reason = compiled.get(("reason", self.reason))
        self._reason = reason if reason is not None else _compile_reason(self.reason, catalogue)
        return self

    # -- compiled parts ------------------------------------------------------------------------
    def condition(self, key: str) -> Condition | None:
        """The compiled ``audience``, ``when`` or ``close_when`` (None when not given)."""
        return self._conditions.get(key)

    @property
    def when_condition(self) -> Condition:
        return self._conditions["when"]

    def render_reason(self, variables: Mapping[str, Any], account_id: str | None = None) -> str:
        """The reason for one account's variables, as one line."""
        assert self._reason is not None
        return self._reason.render(variables, recipient=account_id)


def _catalogue(info: ValidationInfo) -> Catalogue:
    catalogue: Catalogue = (info.context or {}).get("catalogue", ACCOUNT_VARIABLES)
    return catalogue


def _compiled(info: ValidationInfo) -> dict[tuple[str | None, str], Any]:
    """Where the field validators leave what they compiled (in the validation context)."""
    context = info.context if isinstance(info.context, dict) else {}
    cache: dict[tuple[str | None, str], Any] = context.setdefault("_compiled", {})
    return cache


def _compile_reason(source: str, catalogue: Catalogue) -> TextTemplate:
    from cstool.templating import compile_text

    try:
        template = compile_text(source)
    except InputError as e:
        raise KeyProblem((), e.message, e.hint or "fix the template") from None
    try:
        catalogue.check_names(template.variables)
    except ConditionError as e:
        raise KeyProblem((), e.message, e.hint) from None
    return template


# -- loading ---------------------------------------------------------------------------------


def folder(ws: Workspace) -> Path:
    """The workspace's playbooks folder."""
    return ws.root / FOLDER


def email_templates(ws: Workspace) -> EmailTemplates:
    """The workspace's email templates (``email_templates/``)."""
    from cstool.templating import EmailTemplates

    return EmailTemplates(ws.root / "email_templates")


def _context(catalogue: Catalogue, templates: EmailTemplates | None) -> dict[str, Any]:
    return {"catalogue": catalogue, "templates": templates}


def load(
    ws: Workspace, catalogue: Catalogue, templates: EmailTemplates | None = None
) -> list[Definition[Playbook]]:
    """Every playbook of the workspace, by file name; the first problem is an InputError.

    Conditions and reasons are compiled against ``catalogue`` (the workspace's account
    variables) and email assists looked up in ``templates`` (default: the workspace's).
    """
    templates = templates if templates is not None else email_templates(ws)
    return yamlfile.load_definition_files(
        folder(ws), Playbook, context=_context(catalogue, templates), reference=REFERENCE
    )


def find(definitions: list[Definition[Playbook]], name: str) -> Definition[Playbook]:
    """The playbook called ``name`` (any case), or NotFoundError with close matches."""
    for d in definitions:
        if d.model.name.casefold() == name.strip().casefold():
            return d
    names = [d.model.name for d in definitions]
    close = difflib.get_close_matches(name, names, n=1)
    raise NotFoundError(
        f"no playbook called {name!r}",
        hint=(f"did you mean {close[0]}? " if close else "")
        + ("the playbooks are: " + ", ".join(names) if names else f"{FOLDER}/ has no playbooks"),
    )


# -- validation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validation:
    """What ``playbooks validate`` checked, and what it warns about (``file: line N:
    key: message``, e.g. a reason that prints ``None`` for the sparse sample account)."""

    playbooks: list[Definition[Playbook]]
    assists: int  # email assists rendered (each for a full and a sparse sample account)
    warnings: list[str] = field(default_factory=list)


def _load_each(
    ws: Workspace, catalogue: Catalogue, templates: EmailTemplates
) -> tuple[list[Definition[Playbook]], list[InputError]]:
    """Every file loaded on its own, so that one bad file does not hide the next."""
    loaded: list[Definition[Playbook]] = []
    errors: list[InputError] = []
    owner: dict[str, Definition[Playbook]] = {}
    for path in yamlfile.definition_files(folder(ws)):
        shown = f"{FOLDER}/{path.name}"
        try:
            data, text = yamlfile.load_mapping(
                path, name=shown, empty_ok=False, what="keys of one definition"
            )
            model = yamlfile.validate(
                data,
                Playbook,
                shown,
                text,
                context=_context(catalogue, templates),
                reference=REFERENCE,
            )
        except InputError as e:
            errors.append(e)
            continue
        item = Definition(model, path, shown, text)
        if model.name in owner:
            errors.append(
                InputError(
                    f"name: {model.name!r} is already the name of {owner[model.name].name}",
                    location=item.location("name"),
                    hint="give each playbook its own name",
                )
            )
            continue
        owner[model.name] = item
        loaded.append(item)
    return loaded, errors


def validate(ws: Workspace, store: Store) -> Validation:
    """Check every playbook: it loads, its conditions and reason compile against the
    workspace's variables, its owner is an account field, and its reason and email assists
    render for a full and a sparse sample account (StrictUndefined).

    Every problem of every file is listed once, in file order (``file: line N: key.path:
    message``); one problem is the error's own message, several are summed up in it. A
    reason that prints ``None`` for the sparse sample account is a warning.
    """
    import re

    from cstool.context import account_catalogue

    catalogue = account_catalogue(store)
    templates = email_templates(ws)
    loaded, errors = _load_each(ws, catalogue, templates)
    assists = 0
    warnings: list[str] = []
    config = ws.resolved.config
    for item in loaded:
        pb = item.model
        for sparse in (False, True):
            variables = sample_variables(catalogue, sparse=sparse)
            try:
                text = pb.render_reason(variables)
            except InputError as e:
                errors.append(
                    InputError(
                        f"reason: {e.message} (sample account{', sparse' if sparse else ''})",
                        location=item.location("reason"),
                        hint=e.hint,
                    )
                )
                continue
            if sparse and re.search(r"\bNone\b", text):
                warnings.append(
                    f"{item.location('reason')}: reason: prints None for an account without "
                    f"some values: {text!r} (write {{{{ value }}}} alone, which prints n/a)"
                )
        for i, task in enumerate(pb.tasks):
            if task.email_assist is None:
                continue
            for sparse in (False, True):
                context = sample_assist_context(config, pb, i, catalogue, sparse=sparse)
                try:
                    templates.get(task.email_assist).render(
                        context, recipient="sample" + (" (sparse)" if sparse else "")
                    )
                except InputError as e:
                    where = f"{e.location}: " if e.location else ""
                    errors.append(
                        InputError(
                            f"tasks.{i}.email_assist: {where}{e.message}",
                            location=item.location("tasks", i, "email_assist"),
                            hint=e.hint,
                        )
                    )
                    break
            assists += 1
    if errors:
        raise _all_problems(errors)
    warnings += _case_warnings(store, catalogue, loaded)
    return Validation(loaded, assists, warnings)


def _case_warnings(
    store: Store, catalogue: Catalogue, loaded: list[Definition[Playbook]]
) -> list[str]:
    """Conditions comparing a text field (lifecycle_stage, segment, an attribute...) with a
    quoted value the accounts hold only in another case: text comparisons are exact."""
    import json

    from cstool.conditions import compared_values
    from cstool.store import exports as exports_db

    texts = {v.name for v in catalogue if v.group in OWNER_GROUPS and v.type == "text"}
    found = [
        (item, key, name, value)
        for item in loaded
        for key in CONDITION_KEYS
        if getattr(item.model, key) is not None
        for name, value in compared_values(getattr(item.model, key))
        if name in texts and isinstance(value, str)
    ]
    if not found:
        return []
    columns = exports_db.ACCOUNT_COLUMNS
    known: dict[str, set[str]] = {}
    for row in exports_db.account_rows(store.db):
        values = {**json.loads(row[-1] or "{}"), **dict(zip(columns, row, strict=False))}
        for name, v in values.items():
            if isinstance(v, str) and v:
                known.setdefault(name, set()).add(v)
    out = []
    for item, key, name, value in found:
        held = known.get(name, set())
        other = sorted(v for v in held if v.casefold() == value.casefold() and v != value)
        if value not in held and other:
            out.append(
                f"{item.location(key)}: {key}: {name} is never {value!r} in the accounts, "
                f"only {other[0]!r} (text comparisons are case-sensitive)"
            )
    return out


def _all_problems(errors: list[InputError]) -> InputError:
    """One error listing every problem of ``errors`` once (an error that lists problems of
    its own, such as a file's validation, gives each of them)."""
    problems: list[Problem] = []
    for e in errors:
        for p in e.problems or [Problem(e.location or Location(FOLDER), e.message)]:
            if p not in problems:
                problems.append(p)
    if len(problems) == 1:
        e = errors[0]
        return InputError(e.message, location=e.location, hint=e.hint)
    files = len({p.location.file for p in problems})
    return InputError(
        f"{len(problems)} problems in {files} file{'s' if files != 1 else ''} of {FOLDER}/:",
        hint="fix each problem listed, then run `cstool playbooks validate` again",
        problems=problems,
    )


# -- sample values -----------------------------------------------------------------------------

_SAMPLE: dict[str, Any] = {
    "account_id": "ACC-00042",
    "name": "Northwind & Co",
    "industry": "Healthcare",
    "segment": "Mid-Market",
    "arr": 54000.0,
    "licenses_purchased": 9,
    "csm": "Priya Raman",
    "lifecycle_stage": "Adopting",
    "onboarding_date": "2025-11-13",
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
    "days_since_onboarding": 372,
    "nps": 4,
    "nps_days": 6,
    "open_ctas": 1,
    "touch_tier": "low",
}
SAMPLE_DATE = date(2026, 11, 20)
_ALWAYS = ("account_id", "name", "open_ctas", "touch_tier")  # never missing in real data


def sample_variables(catalogue: Catalogue, *, sparse: bool = False) -> dict[str, Any]:
    """Variables of a sample account: every value present, or (``sparse``) every value that
    can be missing set to None. Attributes are ``'sample'`` (None when sparse)."""
    values = {v.name: _SAMPLE.get(v.name, "sample") for v in catalogue}
    if sparse:
        values = {k: (v if k in _ALWAYS else None) for k, v in values.items()}
    return values


def sample_assist_context(
    config: Config, playbook: Playbook, task: int, catalogue: Catalogue, *, sparse: bool = False
) -> dict[str, Any]:
    """The context of a task's email assist for a sample account and recipient."""
    variables = sample_variables(catalogue, sparse=sparse)
    attributes = {v.name: variables[v.name] for v in catalogue if v.group == "attribute"}
    facts = (
        None
        if sparse
        else {
            "licenses": 9,
            "activated": 3,
            "active": 1,
            "features_used": ["dashboards", "reports"],
            "features_unused": ["workflows", "integrations"],
        }
    )
    user = {
        "user_id": "USR-000101",
        "email": "ana.lopez@northwind.example",
        "first_name": None if sparse else "Ana",
        "last_name": None if sparse else "López",
        "role": "Admin",
        "level": "Manager",
        "days_inactive": None if sparse else 16,
        "features_unused": [] if sparse else ["workflows"],
    }
    return assist_context(
        config,
        playbook,
        playbook.tasks[task],
        variables,
        attributes,
        facts,
        user,
        as_of=SAMPLE_DATE,
        cta={
            "reason": playbook.render_reason(variables),
            "opened_on": "2026-11-20",
            "due_on": "2026-11-27",
        },
        task_due_on="2026-11-24",
    )


def assist_context(
    config: Config,
    playbook: Playbook | None,
    task: Task | Mapping[str, Any],
    variables: Mapping[str, Any],
    attributes: Mapping[str, Any],
    facts: Mapping[str, Any] | None,
    user: Mapping[str, Any],
    *,
    as_of: date,
    cta: Mapping[str, Any],
    task_due_on: str,
) -> dict[str, Any]:
    """The documented context of a CTA email assist: company, account, adoption, csm, user,
    cta {playbook, type, priority, reason, opened_on, due_on} and task {title, due_on}."""
    from cstool import context as ctx

    title = task.title if isinstance(task, Task) else str(task["title"])
    return {
        "company": ctx.company_context(config),
        "account": ctx.account_context(variables, attributes),
        "adoption": ctx.adoption_context(variables, facts, as_of),
        "csm": ctx.csm_context(config, variables.get("csm")),
        "user": ctx.user_context(user),
        "cta": {
            "playbook": cta.get("playbook", playbook.name if playbook else None),
            "type": cta.get("type", playbook.type if playbook else None),
            "priority": cta.get("priority", playbook.priority if playbook else None),
            "reason": cta["reason"],
            "opened_on": cta["opened_on"],
            "due_on": cta["due_on"],
        },
        "task": {"title": title, "due_on": task_due_on},
    }
