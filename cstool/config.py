"""The workspace configuration (``cstool.yaml``), validated and resolved.

Precedence is flag > environment (``CSTOOL_*``) > file > default. Every leaf setting has a
dotted name (``metrics.depth_window_days``) and an environment variable made from it
(``CSTOOL_METRICS_DEPTH_WINDOW_DAYS``). :func:`resolve` returns the settings together with
where each value came from, which ``cstool config show`` prints.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cstool import yamlfile
from cstool.errors import InputError, Location
from cstool.yamlfile import KeyProblem

CONFIG_NAME = "cstool.yaml"
ENV_PREFIX = "CSTOOL_"
MEASURES = ("deployment", "depth", "breadth")
# Thousands separators numbers are written with: 1,200 / 1.200 / 1 200 / 1'200 / 1_200, and
# the no-break spaces that spreadsheets put in 1 200.
THOUSANDS = (",", ".", " ", "'", "_", "\u00a0", "\u202f")


class Strict(BaseModel):
    """Base for config models: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ExportConfig(Strict):
    """How to read one export kind's files."""

    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Rename a file's headers to canonical names, e.g. 'Account ID': account_id",
    )
    date_formats: dict[str, str] = Field(
        default_factory=dict, description="strftime format per date column, e.g. '%m/%d/%Y'"
    )
    encoding: str | None = Field(default=None, description="Text encoding of the files")
    delimiter: str = Field(
        default=",", description="What separates fields: ',', ';', tab ('tab' or '\\t') or '|'"
    )
    thousands: str | None = Field(
        default=None,
        description="Thousands separator of numbers: ',' for 1,200; '.' for 1.200,50; ' '",
    )
    decimal: Literal[".", ","] = Field(default=".", description="Decimal mark of numbers")

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, v: str) -> str:
        from cstool.csvfile import delimiter_of

        return delimiter_of(v)

    @field_validator("thousands")
    @classmethod
    def _separator(cls, v: str | None) -> str | None:
        if v is not None and v not in THOUSANDS:
            raise ValueError(f"use one of {', '.join(repr(t) for t in THOUSANDS)}")
        return v

    @model_validator(mode="after")
    def _distinct_marks(self) -> ExportConfig:
        if self.thousands == self.decimal:
            other = "," if self.decimal == "." else "."
            raise ValueError(
                f"thousands and decimal are both {self.decimal!r}: set decimal: {other!r} too"
            )
        return self


class CompositeConfig(Strict):
    """An optional single adoption score, reported beside the three measures."""

    enabled: bool = False
    weights: dict[str, float] = Field(
        default_factory=lambda: {"deployment": 1.0, "depth": 1.0, "breadth": 1.0}
    )

    @field_validator("weights")
    @classmethod
    def _known_measures(cls, v: dict[str, float]) -> dict[str, float]:
        for k, w in v.items():
            if k not in MEASURES:
                raise ValueError(f"unknown measure {k!r}; use {', '.join(MEASURES)}")
            if w < 0:
                raise ValueError(f"weight of {k} must be >= 0")
        return v


CutPoints = tuple[float, float, float, float]


class MetricsConfig(Strict):
    """Settings of the adoption measures and their bands."""

    segment_field: str = "segment"
    depth_window_days: int = Field(default=7, ge=1, le=366)
    breadth_window_days: int = Field(default=28, ge=1, le=366)
    breadth_min_users: int = Field(default=1, ge=1)
    min_segment_size: int = Field(default=10, ge=1)
    recheck_days: int = Field(default=182, ge=1)
    features: list[str] = Field(
        default_factory=list, description="Feature catalogue used when no features export exists"
    )
    feature_weights: dict[str, float] = Field(default_factory=dict)
    overrides: dict[str, dict[str, CutPoints]] = Field(
        default_factory=dict,
        description="Manual cut points per segment and measure: [c20, c40, c60, c80]",
    )
    composite: CompositeConfig = Field(default_factory=CompositeConfig)

    @field_validator("segment_field")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        # It names a column or an extra attribute of the accounts export, never SQL.
        if not v.strip() or any(ch in v for ch in '"\\'):
            raise ValueError("must be a column name without quotes or backslashes")
        return v

    @field_validator("feature_weights")
    @classmethod
    def _positive_weights(cls, v: dict[str, float]) -> dict[str, float]:
        for k, w in v.items():
            if w <= 0:
                raise ValueError(f"weight of feature {k!r} must be > 0")
        return v

    @field_validator("overrides")
    @classmethod
    def _ordered_cuts(cls, v: dict[str, dict[str, CutPoints]]) -> dict[str, dict[str, CutPoints]]:
        for seg, per in v.items():
            for measure, cuts in per.items():
                if measure not in MEASURES:
                    raise ValueError(f"{seg}: unknown measure {measure!r}")
                if list(cuts) != sorted(cuts) or not all(0 <= c <= 1 for c in cuts):
                    raise ValueError(f"{seg}.{measure}: cut points must rise, each in 0..1")
        return v


class SenderConfig(Strict):
    """Who tech-touch email comes from."""

    name: str = "Customer Success"
    email: str = "success@example.com"
    reply_to: str | None = None
    postal_address: str | None = Field(
        default=None,
        description="The company's postal address, printed in the footer of journey email",
    )


class SendingConfig(Strict):
    """How email batches are delivered. The SMTP password is only read from the environment."""

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    starttls: bool = False
    daily_cap: int = Field(default=500, ge=0)


class CsmConfig(Strict):
    """One customer success manager: how emails sign and address them."""

    name: str = Field(description="As written in the accounts export's csm column")
    email: str | None = None
    title: str | None = None

    @field_validator("name")
    @classmethod
    def _named(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a CSM needs a name")
        return v.strip()


TouchTier = Literal["high", "low", "tech"]


class TouchTierRule(Strict):
    """One touch tier rule: accounts for which ``when`` holds get ``tier``."""

    tier: TouchTier
    when: str

    @field_validator("when")
    @classmethod
    def _condition(cls, v: str) -> str:
        from cstool.tiers import check_rule

        check_rule(v)  # a ConditionError names the problem and a hint
        return v


# Common practice, written out in the cstool.yaml that `cstool init` writes (keep the two in
# step: a test compares them): the largest customers always have a CSM; onboarding and a red
# band at renewal risk get a person at least when something is wrong; the middle of the book is
# low touch; the long tail (the default) is tech touch.
DEFAULT_TOUCH_TIERS: tuple[tuple[TouchTier, str], ...] = (
    ("high", "segment == 'Enterprise' or arr >= 150000"),
    ("low", "lifecycle_stage == 'Onboarding'"),
    (
        "low",
        "(deployment_band == 'red' or depth_band == 'red' or breadth_band == 'red')"
        " and (lifecycle_stage == 'At Risk'"
        " or (days_to_renewal is not none and days_to_renewal <= 180))",
    ),
    ("low", "arr >= 25000"),
)
Band = Literal["green", "lime", "yellow", "orange", "red"]


class HealthyAdoptionRule(Strict):
    """Eligibility: healthy adoption, no measure in these bands in the latest snapshot."""

    enabled: bool = True
    excluded_bands: list[Band] = Field(
        default_factory=lambda: list[Band](["red", "orange"]),
        description="An account with any measure in these bands is not asked",
    )


class PromoterRule(Strict):
    """Eligibility: where the account has NPS answers, the latest is at least ``min_score``."""

    enabled: bool = True
    min_score: int = Field(default=9, ge=0, le=10, description="9: promoters only")


class RiskCtaRule(Strict):
    """Eligibility: no open (or snoozed) CTA of these types on the account."""

    enabled: bool = True
    cta_types: list[str] = Field(default_factory=lambda: ["risk"])


class RenewalRule(Strict):
    """Eligibility: the renewal is not within ``days`` days (nor past and not yet renewed)."""

    enabled: bool = True
    days: int = Field(default=60, ge=0)


class FatigueRule(Strict):
    """Eligibility: at most ``max_references`` in the last ``window_days`` days, and at least
    ``min_days_since_last`` days since the last one (given or in progress)."""

    enabled: bool = True
    window_days: int = Field(default=90, ge=1)
    max_references: int = Field(default=2, ge=0)
    min_days_since_last: int = Field(default=30, ge=0)


class AdvocateRule(Strict):
    """Eligibility: at least one contact flagged as an advocate at the requested level."""

    enabled: bool = True


class RefsRules(Strict):
    """The eligibility rules of ``refs find``, checked in this order."""

    healthy_adoption: HealthyAdoptionRule = Field(default_factory=HealthyAdoptionRule)
    promoter: PromoterRule = Field(default_factory=PromoterRule)
    no_open_risk_cta: RiskCtaRule = Field(default_factory=RiskCtaRule)
    renewal: RenewalRule = Field(default_factory=RenewalRule)
    fatigue: FatigueRule = Field(default_factory=FatigueRule)
    advocate: AdvocateRule = Field(default_factory=AdvocateRule)


class RefsWeights(Strict):
    """How much each part of the ranking counts (any scale; the score is 0-100)."""

    size: float = Field(default=2.0, ge=0, description="Employees and ARR close to the request's")
    health: float = Field(default=2.0, ge=0, description="Adoption bands of the latest snapshot")
    nps: float = Field(default=1.0, ge=0, description="The latest NPS answer")
    fatigue: float = Field(default=2.0, ge=0, description="Fewest references in the window")
    advocates: float = Field(default=1.0, ge=0, description="Advocates at the requested level")

    @model_validator(mode="after")
    def _some_weight(self) -> RefsWeights:
        if not any(getattr(self, k) for k in type(self).model_fields):
            raise ValueError("at least one weight must be above 0")
        return self


class Person(Strict):
    """Someone cstool writes to: a name and an email address."""

    name: str
    email: str

    @field_validator("name", "email")
    @classmethod
    def _one_line(cls, v: str) -> str:
        if not v.strip() or any(ch in v for ch in "\r\n"):
            raise ValueError("must be one non-empty line")
        return v.strip()

    @field_validator("email")
    @classmethod
    def _address(cls, v: str) -> str:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
            raise ValueError(f"{v!r} is not an email address")
        return v


class RefsNotify(Strict):
    """Who hears of a new reference request."""

    csm_manager: Person | None = None
    customer_marketing: list[Person] = Field(
        default_factory=list, description="They propose candidates and record references"
    )
    csms: list[str] = Field(
        default_factory=list, description="CSMs who opted in, by name as listed under csms:"
    )


class RefsOutcomes(Strict):
    """How the references export's outcomes count."""

    completed: list[str] = Field(
        default_factory=lambda: ["Call completed", "Influenced win"],
        description="The reference took place (a row without an outcome counts as completed)",
    )
    not_counted: list[str] = Field(
        default_factory=lambda: ["Declined", "Cancelled"],
        description="No reference was given: not counted towards fatigue",
    )


class RefsConfig(Strict):
    """Customer references: eligibility, ranking, similar industries and notifications."""

    rules: RefsRules = Field(default_factory=RefsRules)
    weights: RefsWeights = Field(default_factory=RefsWeights)
    similar_industries: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Industries `refs find --similar` adds, e.g. Healthcare: [Biotech]",
    )
    notify: RefsNotify = Field(default_factory=RefsNotify)
    account_executives: list[Person] = Field(
        default_factory=list,
        description="Where the weekly follow-up goes: AEs by name as in the opportunities' owner",
    )
    outcomes: RefsOutcomes = Field(default_factory=RefsOutcomes)
    proposals: int = Field(
        default=4, ge=3, le=4, description="Candidates `refs propose` attaches by default"
    )
    fulfil_target_hours: float = Field(
        default=24.0, gt=0, description="Target from request to candidates proposed"
    )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# What an unsubscribe URL may name; each value is percent-encoded into it.
UNSUBSCRIBE_FIELDS = ("user_id", "account_id", "category", "journey", "key")


class FrequencyCap(Strict):
    """At most ``emails`` journey emails per recipient in any ``days`` days, across journeys."""

    emails: int = Field(default=2, ge=1)
    days: int = Field(default=7, ge=1, le=366)


class JourneysConfig(Strict):
    """The rules every journey follows, and what their emails link to."""

    frequency_cap: FrequencyCap | None = Field(
        default_factory=FrequencyCap,
        description="Per recipient across journeys (transactional ones exempt); null: no cap",
    )
    send_days: list[Weekday] = Field(
        default_factory=lambda: list[Weekday](["mon", "tue", "wed", "thu", "fri"]),
        description="Days of the week on which journey email goes out",
    )
    skip_holidays: bool = Field(
        default=True, description="The business-day calendar's holidays are not send days"
    )
    unsubscribe_url: str = Field(
        default="https://example.com/unsubscribe?user={user_id}&category={category}",
        description="https URL of the one-click unsubscribe, with {user_id}, {account_id}, "
        "{category}, {journey} or {key} filled in per message",
    )
    unsubscribe_mailto: str | None = Field(
        default=None, description="Also a mailto: URL in List-Unsubscribe, e.g. mailto:u@x.com"
    )
    message_id_domain: str | None = Field(
        default=None, description="Right-hand side of Message-IDs (default: sender.email's domain)"
    )
    survey_url: str = Field(
        default="https://survey.example.com/nps",
        description="The survey link NPS invitations show (survey_url in templates)",
    )
    proxy_open_seconds: int = Field(
        default=60,
        ge=0,
        description="Opens this soon after delivery are taken as privacy-proxy or prefetch opens",
    )
    lift_days: int = Field(
        default=28, ge=1, description="Days after a send at which stats compare with the holdout"
    )

    @field_validator("send_days")
    @classmethod
    def _some_days(cls, v: list[Weekday]) -> list[Weekday]:
        if not v:
            raise ValueError("name at least one day, e.g. [mon, tue, wed, thu, fri]")
        return sorted(set(v), key=WEEKDAYS.index)

    @field_validator("unsubscribe_url")
    @classmethod
    def _unsubscribe_url(cls, v: str) -> str:
        import string

        if not re.fullmatch(r"https://[!-~]+", v) or any(c in v for c in ",<>"):
            raise ValueError(
                "must be an https:// URL of printable ASCII without spaces, commas or <>"
            )
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(v) if f is not None]
        except ValueError as e:
            raise ValueError(f"has a malformed {{field}}: {e}") from None
        unknown = [f for f in fields if f not in UNSUBSCRIBE_FIELDS]
        if unknown:
            raise ValueError(f"unknown field {{{unknown[0]}}}; use {', '.join(UNSUBSCRIBE_FIELDS)}")
        return v

    @field_validator("unsubscribe_mailto")
    @classmethod
    def _mailto(cls, v: str | None) -> str | None:
        if v is not None and (not re.fullmatch(r"mailto:[!-~]+", v) or any(c in v for c in ",<>")):
            raise ValueError("must be a mailto: URL of printable ASCII, e.g. mailto:u@example.com")
        return v

    @field_validator("message_id_domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", v):
            raise ValueError("must be a domain name such as mail.example.com")
        return v


class DuckdbConfig(Strict):
    """How the DuckDB rollup engine runs (``cstool rollup --engine duckdb``)."""

    threads: int | None = Field(default=None, ge=1, description="Threads (default: every core)")
    memory_limit: str | None = Field(
        default=None, description="Memory DuckDB may use before spilling to disk, e.g. '2GB'"
    )

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", v):
            raise ValueError("write a size such as '512MB' or '2GB'")
        return v


class SparkConfig(Strict):
    """How the Spark rollup engine runs (``cstool rollup --engine spark``)."""

    master: str = Field(
        default="local[*]",
        description="spark.master: local[*] on this machine, or a cluster (spark://host:7077, "
        "yarn, k8s://...)",
    )


class EnginesConfig(Strict):
    """Settings of the rollup engines."""

    duckdb: DuckdbConfig = Field(default_factory=DuckdbConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)


class Config(Strict):
    """The whole of ``cstool.yaml``."""

    version: Literal[1] = 1
    company: str = "Acme"
    date_format: str = Field(default="%Y-%m-%d", description="Default format of date columns")
    holidays: list[date] = Field(
        default_factory=list,
        description="Dates that are not business days besides weekends (YYYY-MM-DD)",
    )
    holiday_country: str | None = Field(
        default=None, description="Add this country's public holidays (ISO code, e.g. US)"
    )
    holiday_subdivision: str | None = Field(
        default=None, description="State or region of holiday_country (e.g. CA)"
    )
    sender: SenderConfig = Field(default_factory=SenderConfig)
    sending: SendingConfig = Field(default_factory=SendingConfig)
    journeys: JourneysConfig = Field(default_factory=JourneysConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    exports: dict[str, ExportConfig] = Field(default_factory=dict)
    csms: list[CsmConfig] = Field(
        default_factory=list, description="The CSMs: name, email and title for their emails"
    )
    touch_tiers: list[TouchTierRule] = Field(
        default_factory=lambda: [TouchTierRule(tier=t, when=w) for t, w in DEFAULT_TOUCH_TIERS],
        description="Ordered rules {tier: high|low|tech, when: CONDITION}; the first that holds",
    )
    default_touch_tier: TouchTier = Field(
        default="tech", description="The tier of accounts that no touch_tiers rule matches"
    )
    engines: EnginesConfig = Field(default_factory=EnginesConfig)
    refs: RefsConfig = Field(default_factory=RefsConfig)

    @model_validator(mode="after")
    def _notified_csms_have_addresses(self) -> Config:
        for i, name in enumerate(self.refs.notify.csms):
            listed = self.csm(name)
            if listed is None or not listed.email:
                raise KeyProblem(
                    ("refs", "notify", "csms", i),
                    f"{name!r} is not listed with an email under csms",
                    "add the CSM with an email under csms, or remove them from refs.notify.csms",
                )
        return self

    @field_validator("csms")
    @classmethod
    def _distinct_csms(cls, v: list[CsmConfig]) -> list[CsmConfig]:
        seen: set[str] = set()
        for i, csm in enumerate(v):
            if csm.name.casefold() in seen:
                raise KeyProblem(
                    (i, "name"),
                    f"{csm.name!r} is listed twice",
                    "list each CSM once under csms",
                )
            seen.add(csm.name.casefold())
        return v

    def csm(self, name: str | None) -> CsmConfig | None:
        """The CSM called ``name`` (any case), or None when not listed."""
        if name is None:
            return None
        wanted = name.strip().casefold()
        return next((c for c in self.csms if c.name.casefold() == wanted), None)

    @field_validator("holidays", mode="before")
    @classmethod
    def _iso_dates(cls, v: Any) -> Any:
        # Only real dates or YYYY-MM-DD text: pydantic alone would read 20261225 as a Unix time.
        if not isinstance(v, list):
            return v
        for i, item in enumerate(v):
            ok = type(item) is date or (
                isinstance(item, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", item.strip())
            )
            if not ok:
                raise KeyProblem(
                    (i,), f"{item!r} is not a date", "write holidays as YYYY-MM-DD, e.g. 2026-12-25"
                )
        return v

    @field_validator("holiday_country")
    @classmethod
    def _country_code(cls, v: str | None) -> str | None:
        # ISO codes are upper case; `us` means US.
        return v.strip().upper() if v is not None else None

    @model_validator(mode="after")
    def _known_holiday_region(self) -> Config:
        from cstool.busdays import country_holidays

        if self.holiday_subdivision is not None and self.holiday_country is None:
            raise KeyProblem(
                ("holiday_subdivision",),
                "a subdivision needs holiday_country",
                "set holiday_country (e.g. US) or remove holiday_subdivision",
            )
        if self.holiday_country is not None:
            try:
                country_holidays(self.holiday_country, self.holiday_subdivision, [])
            except ValueError as e:
                key = "holiday_subdivision" if self.holiday_subdivision else "holiday_country"
                raise KeyProblem(
                    (key,),
                    f"{e}",
                    "use an ISO 3166 country code (US, GB, DE...) and, optionally, a "
                    "subdivision code of that country (US: CA, NY...)",
                ) from None
        return self

    @field_validator("exports")
    @classmethod
    def _known_kinds(cls, v: dict[str, ExportConfig]) -> dict[str, ExportConfig]:
        from cstool.schemas import KINDS, LOAD_ORDER, ColType

        for kind, ec in v.items():
            if kind not in KINDS:
                raise KeyProblem(
                    (kind,), "unknown export kind", "use one of: " + ", ".join(LOAD_ORDER)
                )
            canon = KINDS[kind].column_names
            for header, target in ec.columns.items():
                if target not in canon:
                    raise KeyProblem(
                        (kind, "columns", header),
                        f"{target!r} is not a column of {kind}",
                        f"the columns of {kind} are: {', '.join(canon)}",
                    )
            dates = [c.name for c in KINDS[kind].columns if c.type is ColType.DATE]
            for column in ec.date_formats:
                if column not in dates:
                    raise KeyProblem(
                        (kind, "date_formats", column),
                        f"{column!r} is not a date column of {kind}",
                        f"the date columns of {kind} are: {', '.join(dates) or '(none)'}",
                    )
        return v

    def export(self, kind: str) -> ExportConfig:
        """The reading settings of one kind (defaults when the file has none)."""
        return self.exports.get(kind) or ExportConfig()


@dataclass(frozen=True)
class Setting:
    """One resolved leaf setting and where its value came from."""

    key: str
    value: Any
    source: str


@dataclass(frozen=True)
class ResolvedConfig:
    """The validated configuration plus the source of every leaf value."""

    config: Config
    settings: tuple[Setting, ...]
    path: Path | None


def env_name(key: str) -> str:
    """The environment variable that overrides dotted setting ``key``."""
    return ENV_PREFIX + key.replace(".", "_").upper()


# Mappings keyed by data (header names, segments, industries): one setting each, not a leaf
# per key.
OPAQUE = ("columns", "date_formats", "overrides", "similar_industries")


def _leaves(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v and k not in OPAQUE:
            yield from _leaves(v, key + ".")
        else:
            yield key, v


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


_INIT_HINT = "start from the file `cstool init` writes, which lists every setting"
_REFERENCE = "the README's Configuration section lists the settings"


def _validate(
    data: dict[str, Any], text: str, name: str, sources: Mapping[str, str] | None = None
) -> Config:
    if not sources:
        return yamlfile.validate(data, Config, name, text, reference=_REFERENCE)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        issue = yamlfile.explain(e, data, Config)[0]
    # After merging, a bad value came from the environment or a flag: name which.
    source = sources.get(issue.dotted, "")
    hint = issue.full_hint(CONFIG_NAME, _REFERENCE)
    if source.startswith("env "):
        name = f"environment variable {source[4:]}"
        hint = f"fix or unset {source[4:]}"
    elif source == "flag":
        name = "command-line option"
    raise InputError(f"{issue.dotted}: {issue.message}", location=Location(name), hint=hint)


def _is_text(key: str) -> bool:
    """Whether the setting at dotted ``key`` holds text (``str`` or ``str | None``)."""
    model: type[BaseModel] = Config
    annotation: Any = None
    for part in key.split("."):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    if annotation is str:
        return True
    # str | None, but not list[str] or dict[str, ...], which are read as YAML.
    return get_origin(annotation) in (Union, UnionType) and str in get_args(annotation)


def _env_value(key: str, raw: str) -> Any:
    """An environment value as YAML, except for text settings, which take it verbatim.

    Parsing ``CSTOOL_COMPANY=NO`` as YAML would turn the company's name into ``False``.
    """
    if _is_text(key):
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def _mark(sources: dict[str, str], key: str, value: Any, source: str) -> None:
    """Record the source of ``key`` and, when its value is a mapping, of the leaves in it."""
    sources[key] = source
    if isinstance(value, Mapping):
        sources.update((k, source) for k, _ in _leaves(value, key + "."))


def _may_override(env: Mapping[str, str]) -> bool:
    tops = tuple(env_name(k) for k in Config.model_fields)
    return any(v.startswith(tops) for v in env)


def resolve(
    path: Path | None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> ResolvedConfig:
    """Load, merge (flag > env > file > default) and validate the configuration."""
    env = os.environ if env is None else env
    data, text = (
        yamlfile.load_mapping(path, hint=_INIT_HINT)
        if path is not None and path.exists()
        else ({}, "")
    )
    name = path.name if path is not None else CONFIG_NAME
    file_config = _validate(data, text, name)
    sources = {k: name for k, _ in _leaves(data)}
    merged = file_config.model_dump(mode="python")
    overridden = False
    # A setting's variable starts with its top-level key's (CSTOOL_SENDER_EMAIL): without any
    # such variable there is nothing to override, and no need to build the defaults to list
    # every key.
    keys = _leaves(Config().model_dump(mode="python")) if _may_override(env) else iter(())
    for key, _ in keys:
        var = env_name(key)
        if var in env:
            value = _env_value(key, env[var])
            _set_dotted(merged, key, value)
            _mark(sources, key, value, f"env {var}")
            overridden = True
    for key, value in (flags or {}).items():
        if value is not None:
            _set_dotted(merged, key, value)
            _mark(sources, key, value, "flag")
            overridden = True
    config = _validate(merged, "", "environment or flags", sources) if overridden else file_config
    settings = tuple(
        Setting(k, v, sources.get(k, "default")) for k, v in _leaves(config.model_dump(mode="json"))
    )
    return ResolvedConfig(config, settings, path)


SAMPLE_CSMS = (
    ("Priya Raman", "priya.raman@example.com", "Senior Customer Success Manager"),
    ("Marcus Oyelaran", "marcus.oyelaran@example.com", "Senior Customer Success Manager"),
    ("Dana Whitfield", "dana.whitfield@example.com", "Customer Success Manager"),
    ("Elena Kowalski", "elena.kowalski@example.com", "Customer Success Manager"),
    ("Tomás Herrera", "tomas.herrera@example.com", "Customer Success Manager"),
    ("Jordan Blake", "jordan.blake@example.com", "Customer Success Manager"),
)
# The sample company's reference program (refs: in cstool.yaml).
SAMPLE_SIMILAR = (
    ("Healthcare", ("Education",)),
    ("Technology", ("Media", "Financial Services")),
    ("Manufacturing", ("Logistics",)),
    ("Retail", ("Logistics",)),
)
SAMPLE_CSM_MANAGER = ("Avery Collins", "avery.collins@example.com")
SAMPLE_MARKETING = (("Jamie Fox", "jamie.fox@example.com"),)
SAMPLE_AES = (
    ("Chris Lindqvist", "chris.lindqvist@example.com"),
    ("Aisha Morgan", "aisha.morgan@example.com"),
    ("Ben Tanaka", "ben.tanaka@example.com"),
    ("Sofia Marchetti", "sofia.marchetti@example.com"),
    ("Ryan O'Connell", "ryan.oconnell@example.com"),
)
SAMPLE_POSTAL_ADDRESS = "Acme Inc., 100 Market Street, Suite 300, San Francisco, CA 94105, USA"


def default_yaml(company: str = "Acme", *, sample: bool = False) -> str:
    """The commented ``cstool.yaml`` written by ``cstool init``.

    With ``sample``, the sample company's CSMs and postal address are filled in; otherwise
    they are commented examples.
    """
    # JSON strings are YAML double-quoted scalars: a name such as "No" or "Acme: Inc" stays
    # text instead of becoming a boolean or breaking the file.
    company = json.dumps(company, ensure_ascii=False)
    mark = "" if sample else "# "
    csms = "".join(
        f"{mark}  - name: {n}\n{mark}    email: {e}\n{mark}    title: {t}\n"
        for n, e, t in SAMPLE_CSMS
    )
    csms = f"{mark}csms:\n{csms}".rstrip("\n")
    postal = f'{mark}postal_address: "{SAMPLE_POSTAL_ADDRESS}"'
    similar = (
        f"  {mark}similar_industries:\n"
        + "".join(f"  {mark}  {k}: [{', '.join(v)}]\n" for k, v in SAMPLE_SIMILAR)
    ).rstrip("\n")
    manager, manager_email = SAMPLE_CSM_MANAGER
    notify = (
        f"  {mark}notify:\n"
        f"  {mark}  csm_manager: {{name: {manager}, email: {manager_email}}}\n"
        f"  {mark}  customer_marketing:\n"
        + "".join(f"  {mark}    - {{name: {n}, email: {e}}}\n" for n, e in SAMPLE_MARKETING)
        + f"  {mark}  csms: [{SAMPLE_CSMS[0][0]}]"
    )
    aes = f"  {mark}account_executives:\n" + "".join(
        f"  {mark}  - {{name: {n}, email: {e}}}\n" for n, e in SAMPLE_AES
    ).rstrip("\n")
    return f"""\
# cstool workspace configuration. Precedence: flag > environment (CSTOOL_*) > this file >
# default. `cstool config show` prints every resolved setting and where it came from.
version: 1
company: {company}

# Business days for due dates: weekends and these dates are skipped.
holidays: []                  # e.g. [2026-12-25, 2027-01-01]
# holiday_country: US         # add a country's public holidays
# holiday_subdivision: CA     # ... and a state's or region's

# Who tech-touch email comes from; journey email prints the postal address in its footer.
sender:
  name: Customer Success
  email: success@example.com
  {postal}

# Delivery of email batches. The SMTP password is read from CSTOOL_SMTP_PASSWORD only.
sending:
  smtp_host: localhost
  smtp_port: 25
  daily_cap: 500

# Rules of every journey (journeys/*.yaml) and what their emails link to.
journeys:
  frequency_cap: {{emails: 2, days: 7}}   # per recipient across journeys; null for none
  send_days: [mon, tue, wed, thu, fri]  # holidays above are skipped too (skip_holidays)
  unsubscribe_url: "https://example.com/unsubscribe?user={{user_id}}&category={{category}}"
  survey_url: "https://survey.example.com/nps"

# Adoption measures and bands.
metrics:
  segment_field: segment
  depth_window_days: 7
  breadth_window_days: 28
  breadth_min_users: 1
  min_segment_size: 10
  recheck_days: 182
  # features: [dashboards, reports]          # catalogue when no features export is loaded
  # feature_weights: {{workflows: 2}}         # sticky features count more in breadth
  # overrides:                               # manual cut points win over calibrated ones
  #   SMB: {{depth: [0.1, 0.2, 0.35, 0.5]}}
  composite:
    enabled: false

# Per export kind: header renames, date and number formats, encoding, delimiter.
exports:
  accounts:
    columns: {{}}        # e.g. "Account ID": account_id
    date_formats: {{}}   # e.g. renewal_date: "%m/%d/%Y"
    # encoding: cp1252   # or utf-16
    # delimiter: ";"     # or tab
    # thousands: "."     # with decimal: "," reads 1.200,50
    # decimal: ","

# The CSMs named in the accounts export's csm column: how their emails are signed.
{csms}

# Touch tiers: high (a named CSM), low (a person when something is wrong) or tech (automated
# email only). The first rule that holds wins; an account no rule matches gets
# default_touch_tier. Rules use the playbook variables (`cstool playbooks vars`) except
# touch_tier itself; `cstool tiers` shows each account's tier and the rule behind it.
touch_tiers:
  # The largest customers always have a named CSM.
  - tier: high
    when: "segment == 'Enterprise' or arr >= 150000"
  # Onboarding gets at least low touch.
  - tier: low
    when: "lifecycle_stage == 'Onboarding'"
  # A red band at renewal risk is never left to email alone.
  - tier: low
    when: >-
      (deployment_band == 'red' or depth_band == 'red' or breadth_band == 'red')
      and (lifecycle_stage == 'At Risk'
      or (days_to_renewal is not none and days_to_renewal <= 180))
  # The middle of the book.
  - tier: low
    when: "arr >= 25000"
# The long tail.
default_touch_tier: tech

# Engines that roll usage up where it lives (`cstool rollup`), once their extra is installed:
# pip install "cstool[duckdb]" or "cstool[spark]". Usage is read as exports.usage says.
# engines:
#   duckdb: {{threads: 2, memory_limit: 2GB}}
#   spark: {{master: "local[*]"}}        # or spark://host:7077, yarn, ...

# Customer references (`cstool refs`). Eligibility rules, checked in this order; the first an
# account fails excludes it (`refs find --explain` says which). Set enabled: false to drop one.
refs:
  rules:
    healthy_adoption: {{enabled: true, excluded_bands: [red, orange]}}  # latest snapshot
    promoter: {{enabled: true, min_score: 9}}        # the latest NPS answer, where one exists
    no_open_risk_cta: {{enabled: true, cta_types: [risk]}}
    renewal: {{enabled: true, days: 60}}             # renewing within 60 days (or overdue)
    fatigue: {{enabled: true, window_days: 90, max_references: 2, min_days_since_last: 30}}
    advocate: {{enabled: true}}                      # an advocate at the requested level
  # Ranking: how much each part counts (the score is 0-100).
  weights: {{size: 2, health: 2, nps: 1, fatigue: 2, advocates: 1}}
  # What `refs find --similar` adds to an industry.
{similar}
  # Who hears of a new request; opted-in CSMs are named as under csms: (with an email).
{notify}
  # Where the weekly follow-up about unconfirmed references goes (opportunity owners).
{aes}
  outcomes:                 # of the references export
    completed: [Call completed, Influenced win]   # took place
    not_counted: [Declined, Cancelled]            # no reference given: not towards fatigue
  proposals: 4              # candidates `refs propose` attaches by default (3 or 4)
  fulfil_target_hours: 24   # from request to candidates proposed
"""
