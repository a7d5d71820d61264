"""Journey definitions: ``journeys/*.yaml``, one journey a file, validated strictly.

A journey names its ``category``, an ``audience`` (a condition on the account), its
``recipients`` (a condition on the user), who it comes ``from`` (an address, or ``csm``), an
optional ``holdout`` share of accounts and ``reentry_days``, and its ``steps``. Each step has
an ``id``, a ``template`` or A/B ``variants``, and exactly one due rule:

* ``at: "onboarding_date + 30 days"`` (any date variable, ``+`` or ``-``): due while that day
  lies within the last ``catch_up_days`` (default 7) up to the as-of date;
* ``when: "<condition>"``: due while the condition holds, over the account's and the user's
  variables together;
* ``after: {step: ID, days: N}``: due N days after an earlier step went to that recipient
  (within ``catch_up_days`` too).

Conditions are compiled when the file is loaded, against the workspace's variables (the
accounts' extra columns included): an unknown name, a syntax error or a quoted value a
variable never takes is an error naming the file, the line and the key path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

from cstool.conditions import ACCOUNT_VARIABLES, USER_VARIABLES, Catalogue, Condition
from cstool.errors import InputError, NotFoundError
from cstool.yamlfile import Definition, KeyProblem

if TYPE_CHECKING:
    from cstool.store import Store
    from cstool.templating import EmailTemplates
    from cstool.workspace import Workspace

CATEGORIES = ("onboarding", "adoption", "renewal", "survey", "announcement", "transactional")
TRANSACTIONAL = "transactional"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
STEP_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
TEMPLATE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
_AT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*([+-])\s*(\d{1,5})\s*days?\s*")
_HOLDOUT = re.compile(r"\s*(\d{1,2}(?:\.\d+)?)\s*%\s*")
_NAME_HINT = "names are lower-case letters, digits, - and _ (at most 64), e.g. onboarding"
REFERENCE = "the README's Journeys section lists the keys"
VARIANT_LABELS = "ABCDEFGHIJ"

Category = Literal["onboarding", "adoption", "renewal", "survey", "announcement", "transactional"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def catalogues(info: ValidationInfo) -> tuple[Catalogue, Catalogue, Catalogue]:
    """(audience, recipients, step) catalogues: the workspace's when given in the context."""
    account: Catalogue = (info.context or {}).get("account_variables") or ACCOUNT_VARIABLES
    return account, USER_VARIABLES, account.with_variables(USER_VARIABLES)


@dataclass(frozen=True)
class AtRule:
    """``variable + days`` (or minus): the day a step falls due."""

    variable: str
    days: int  # signed

    def __str__(self) -> str:
        sign = "+" if self.days >= 0 else "-"
        return f"{self.variable} {sign} {abs(self.days)} days"


def parse_at(source: str, catalogue: Catalogue) -> AtRule:
    """Parse an ``at:`` rule; ValueError (with a hint) names what is wrong."""
    found = _AT.fullmatch(source)
    if not found:
        raise KeyProblem(
            (),
            f"{source!r} is not a date rule",
            "write VARIABLE + N days or VARIABLE - N days, e.g. onboarding_date + 30 days",
        )
    name, sign, n = found.groups()
    dates = [v.name for v in catalogue if v.type.startswith("date")]
    if name not in dates:
        raise KeyProblem((), f"{name!r} is not a date variable", f"use one of {', '.join(dates)}")
    return AtRule(name, int(n) if sign == "+" else -int(n))


class Variant(_Strict):
    """One A/B variant of a step: its template and relative weight."""

    template: str
    weight: int = Field(default=1, ge=1, le=1000)

    @field_validator("template")
    @classmethod
    def _template_name(cls, v: str) -> str:
        return _check_template(v)


class After(_Strict):
    """``after: {step: ID, days: N}``."""

    step: str
    days: int = Field(ge=0, le=3660)


def _check_template(v: str) -> str:
    if not TEMPLATE_PATTERN.fullmatch(v):
        raise KeyProblem(
            (),
            f"{v!r} is not a template name",
            "template names are folders of email_templates/: lower-case letters, digits, - and _",
        )
    return v


class Step(_Strict):
    """One email of a journey and the rule that makes it due."""

    id: str
    template: str | None = None
    variants: list[Variant] | None = None
    at: str | None = None
    when: str | None = None
    after: After | None = None
    catch_up_days: int = Field(default=7, ge=1, le=366)

    _rule: AtRule | Condition | After = PrivateAttr()

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not STEP_PATTERN.fullmatch(v):
            raise KeyProblem(
                (),
                f"{v!r} is not a step id",
                "step ids are lower-case letters, digits, - and _ (at most 40), e.g. day30",
            )
        return v

    @field_validator("template")
    @classmethod
    def _template_name(cls, v: str | None) -> str | None:
        return None if v is None else _check_template(v)

    @field_validator("variants")
    @classmethod
    def _two_or_more(cls, v: list[Variant] | None) -> list[Variant] | None:
        if v is not None and not 2 <= len(v) <= len(VARIANT_LABELS):
            raise ValueError(f"list 2 to {len(VARIANT_LABELS)} variants, or use template:")
        return v

    @field_validator("at")
    @classmethod
    def _at(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None:
            parse_at(v, catalogues(info)[2])
        return v

    @field_validator("when")
    @classmethod
    def _when(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None:
            catalogues(info)[2].compile(v)
        return v

    @model_validator(mode="after")
    def _one_of_each(self, info: ValidationInfo) -> Step:
        if (self.template is None) == (self.variants is None):
            raise ValueError("give a step either template: or variants:, not both or neither")
        rules = [k for k in ("at", "when", "after") if getattr(self, k) is not None]
        if len(rules) != 1:
            raise ValueError(
                "give a step exactly one due rule: at:, when: or after:"
                + (f" (it has {' and '.join(rules)})" if rules else "")
            )
        step_vars = catalogues(info)[2]
        if self.at is not None:
            self._rule = parse_at(self.at, step_vars)
        elif self.when is not None:
            self._rule = step_vars.compile(self.when)
        else:
            assert self.after is not None
            self._rule = self.after
        return self

    @property
    def rule(self) -> AtRule | Condition | After:
        """The compiled due rule."""
        return self._rule

    @property
    def rule_text(self) -> str:
        """The due rule as written in the file."""
        if self.at is not None:
            return f"at {self.at}"
        if self.when is not None:
            return f"when {' '.join(self.when.split())}"
        assert self.after is not None
        return f"{self.after.days} days after {self.after.step}"

    @property
    def choices(self) -> list[tuple[str | None, str, int]]:
        """(variant label, template, weight): one entry without variants (label None)."""
        if self.variants is None:
            assert self.template is not None
            return [(None, self.template, 1)]
        return [(VARIANT_LABELS[i], v.template, v.weight) for i, v in enumerate(self.variants)]


class Journey(_Strict):
    """A tech-touch journey: who gets which email when."""

    name: str
    description: str = ""
    category: Category
    audience: str
    recipients: str
    sender: str = Field(alias="from")
    holdout: float = 0.0
    reentry_days: int | None = Field(default=None, ge=1, le=3660)
    steps: list[Step] = Field(min_length=1)

    _audience: Condition = PrivateAttr()
    _recipients: Condition = PrivateAttr()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_PATTERN.fullmatch(v):
            raise KeyProblem((), f"{v!r} is not a journey name", _NAME_HINT)
        return v

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str) -> str:
        from cstool.mail import Mailbox, Rejected

        if v == "csm":
            return v
        try:
            return Mailbox("", v).address
        except Rejected as e:
            raise KeyProblem(
                (), f"{v!r} is not an email address: {e.reason}", "write csm or an address"
            ) from None

    @field_validator("holdout", mode="before")
    @classmethod
    def _share(cls, v: Any) -> Any:
        if isinstance(v, str):
            found = _HOLDOUT.fullmatch(v)
            if not found:
                raise KeyProblem((), f"{v!r} is not a share", "write a percentage, e.g. 10%")
            v = float(found.group(1)) / 100
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1:
            raise KeyProblem((), f"{v!r} is not a share below 100%", "write a percentage, e.g. 10%")
        return float(v)

    @field_validator("audience")
    @classmethod
    def _audience_condition(cls, v: str, info: ValidationInfo) -> str:
        catalogues(info)[0].compile(v)
        return v

    @field_validator("recipients")
    @classmethod
    def _recipients_condition(cls, v: str, info: ValidationInfo) -> str:
        catalogues(info)[1].compile(v)
        return v

    @model_validator(mode="after")
    def _steps(self, info: ValidationInfo) -> Journey:
        seen: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if step.id in seen:
                raise KeyProblem(
                    ("steps", i, "id"), f"step id {step.id!r} is used twice", "give each its own id"
                )
            if step.after is not None and step.after.step not in seen:
                known = ", ".join(seen) or "(none)"
                raise KeyProblem(
                    ("steps", i, "after", "step"),
                    f"{step.after.step!r} is not an earlier step of this journey",
                    f"after: names a step listed before this one: {known}",
                )
            seen[step.id] = i
        account, users, _ = catalogues(info)
        self._audience = account.compile(self.audience)
        self._recipients = users.compile(self.recipients)
        return self

    @property
    def audience_condition(self) -> Condition:
        return self._audience

    @property
    def recipients_condition(self) -> Condition:
        return self._recipients

    @property
    def transactional(self) -> bool:
        return self.category == TRANSACTIONAL

    @property
    def from_csm(self) -> bool:
        return self.sender == "csm"

    def step(self, step_id: str) -> Step:
        """The step with this id; a UsageError-like InputError names the ids otherwise."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise NotFoundError(
            f"journey {self.name} has no step {step_id!r}",
            hint=f"its steps are: {', '.join(s.id for s in self.steps)}",
        )

    def templates(self) -> list[str]:
        """Every template its steps use, in order, once each."""
        return list(dict.fromkeys(t for s in self.steps for _, t, _ in s.choices))


# -- loading -------------------------------------------------------------------------------


def load_journeys(
    folder: Path, account_variables: Catalogue | None = None, *, prefix: str = "journeys"
) -> list[Definition[Journey]]:
    """Every journey in ``folder`` (sorted by file name), validated against the variables.

    ``account_variables`` is the workspace's account catalogue (with its attributes); the
    documented variables when None.
    """
    from cstool.yamlfile import load_definition_files

    return load_definition_files(
        folder,
        Journey,
        prefix=prefix,
        context={"account_variables": account_variables or ACCOUNT_VARIABLES},
        reference=REFERENCE,
    )


@dataclass(frozen=True)
class Broken:
    """A journey file that cannot be loaded, and why."""

    file: str  # journeys/NAME.yaml
    error: InputError

    @property
    def stem(self) -> str:
        return Path(self.file).stem

    def __str__(self) -> str:
        where = f"{self.error.location}: " if self.error.location else f"{self.file}: "
        return where + self.error.message


class Loaded(list[Definition[Journey]]):
    """The journeys that load, and the files that do not (``broken``).

    One broken file does not stop the others: a journey that cannot load cannot be found,
    shown or sent (asking for it by its file's name gives that file's errors), while every
    other journey works, and the commands warn of the broken files.
    """

    def __init__(self, loaded: Sequence[Definition[Journey]], broken: Sequence[Broken]) -> None:
        super().__init__(loaded)
        self.broken = list(broken)


def load_each(folder: Path, account_variables: Catalogue | None = None) -> Loaded:
    """Every journey file of ``folder`` on its own; a name two files use is broken in both."""
    from cstool.yamlfile import definition_files

    loaded: list[Definition[Journey]] = []
    broken: list[Broken] = []
    for path in definition_files(folder):
        try:
            loaded.append(load_journey_file(path, account_variables))
        except InputError as e:
            broken.append(Broken(f"journeys/{path.name}", e))
    files: dict[str, list[Definition[Journey]]] = {}
    for d in loaded:
        files.setdefault(d.model.name, []).append(d)
    for name, same in files.items():
        if len(same) > 1:
            for d in same:
                others = ", ".join(x.name for x in same if x is not d)
                broken.append(
                    Broken(
                        d.name,
                        InputError(
                            f"name: {name!r} is also the name of {others}",
                            location=d.location("name"),
                            hint="give each journey its own name",
                        ),
                    )
                )
    twice = {n for n, same in files.items() if len(same) > 1}
    broken.sort(key=lambda b: b.file)
    return Loaded([d for d in loaded if d.model.name not in twice], broken)


def load_journey_file(
    path: Path, account_variables: Catalogue | None = None
) -> Definition[Journey]:
    """One journey file, validated (for reporting every file's problems on its own)."""
    from cstool.yamlfile import load_mapping, validate

    shown = f"journeys/{path.name}"
    data, text = load_mapping(path, name=shown, empty_ok=False, what="keys of one definition")
    model = validate(
        data,
        Journey,
        shown,
        text,
        context={"account_variables": account_variables or ACCOUNT_VARIABLES},
        reference=REFERENCE,
    )
    return Definition(model, path, shown, text)


def check_name(name: str) -> str:
    """``name`` if it can be a journey's name (it names folders), else an InputError."""
    if not NAME_PATTERN.fullmatch(name):
        raise InputError(f"{name!r} is not a valid journey name", hint=_NAME_HINT)
    return name


def find(definitions: Sequence[Definition[Journey]], name: str) -> Definition[Journey]:
    """The journey called ``name``; NotFoundError with the closest name otherwise."""
    import difflib

    check_name(name)
    for d in definitions:
        if d.model.name == name:
            return d
    for b in getattr(definitions, "broken", ()):
        if b.stem == name:  # journeys/NAME.yaml is there but does not load: say why
            raise b.error
    names = [d.model.name for d in definitions]
    close = difflib.get_close_matches(name, names, n=1)
    raise NotFoundError(
        f"no journey called {name!r}",
        hint=(f"did you mean {close[0]}? " if close else "")
        + (f"the journeys are: {', '.join(names)}" if names else "journeys/ holds none"),
    )


def transactional_names(definitions: Sequence[Definition[Journey]]) -> list[str]:
    """The names of the transactional journeys (exempt from caps and unsubscribes)."""
    return [d.model.name for d in definitions if d.model.transactional]


def describe(journey: Journey) -> Mapping[str, Any]:
    """A journey as one flat row for listings."""
    return {
        "name": journey.name,
        "category": journey.category,
        "steps": len(journey.steps),
        "audience": " ".join(journey.audience.split()),
        "recipients": " ".join(journey.recipients.split()),
        "from": journey.sender,
        "holdout": journey.holdout,
        "reentry_days": journey.reentry_days,
        "description": " ".join(journey.description.split()),
    }


def journey_definitions(ws: Workspace, store: Store) -> Loaded:
    """The workspace's journeys, validated against its variables (accounts' extra columns);
    the files that do not load are in ``.broken`` (see :class:`Loaded`)."""
    from cstool.context import account_catalogue

    return load_each(ws.root / "journeys", account_catalogue(store))


def templates_of(ws: Workspace) -> EmailTemplates:
    """The workspace's email templates."""
    from cstool.templating import EmailTemplates

    return EmailTemplates(ws.root / "email_templates", name="email_templates")
