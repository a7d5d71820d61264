"""Declared schemas of every export kind cstool loads.

Each kind names its canonical columns, their types, which are required, its key and the
other kinds it refers to. Nothing is guessed from the data: a column is text unless declared
otherwise, so an ID such as ``00501`` stays text byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal


class ColType(str, Enum):
    """Types a declared column can have."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOL = "bool"


@dataclass(frozen=True)
class Column:
    """One canonical column of an export kind."""

    name: str
    type: ColType = ColType.TEXT
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Reference:
    """A column whose value must exist in another kind's key."""

    column: str
    kind: str


@dataclass(frozen=True)
class ExportKind:
    """The declared shape of one export kind."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    description: str = ""
    # Kinds whose rows are loaded per file as a full snapshot: a row missing from a newer
    # export is marked inactive rather than deleted.
    snapshot: bool = False
    optional: bool = False
    noun: str = ""
    # How the rows are kept and loaded: "table" is a table of the declared columns named after
    # the kind; "compact" (usage) is integer days and ids into users and feature names (see
    # cstool.store.usage), checked and written by the loader's compact storage.
    storage: Literal["table", "compact"] = "table"

    @property
    def label(self) -> str:
        """How people call the rows, as in "Loaded 214 accounts"."""
        return self.noun or self.name

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required(self) -> tuple[str, ...]:
        # A key column with a default (email_events.url) may be absent from a file.
        return tuple(
            c.name for c in self.columns if c.required or (c.name in self.key and c.default is None)
        )


T = ColType

USER_ROLES = ("Executive Sponsor", "Admin", "Power User", "End User")
USER_LEVELS = ("CXO", "VP", "Director", "Manager", "Staff")
EMAIL_EVENTS = ("delivered", "open", "click", "bounce", "unsubscribe", "complaint")
ACTIVITY_TYPES = ("call", "meeting", "email", "update", "milestone", "note")

KINDS: dict[str, ExportKind] = {
    k.name: k
    for k in (
        ExportKind(
            "accounts",
            (
                Column("account_id", required=True, description="Unique account ID"),
                Column("name", required=True, description="Account name"),
                Column("industry"),
                Column("segment", description="Segment used for band thresholds"),
                Column("arr", T.NUMBER, minimum=0, description="Annual recurring revenue"),
                Column("licenses_purchased", T.INTEGER, minimum=0),
                Column("csm", description="Owning CS manager"),
                Column("lifecycle_stage"),
                Column("onboarding_date", T.DATE),
                Column("renewal_date", T.DATE),
                Column("employees", T.INTEGER, minimum=0),
                Column("region"),
            ),
            key=("account_id",),
            snapshot=True,
            description="One row per customer account.",
        ),
        ExportKind(
            "users",
            (
                Column("user_id", required=True),
                Column("account_id", required=True),
                Column("email"),
                Column("first_name"),
                Column("last_name"),
                Column("role", description=", ".join(USER_ROLES)),
                Column("level", description=", ".join(USER_LEVELS)),
                Column("activated_at", T.DATE),
                Column("is_advocate", T.BOOL),
                Column("unsubscribed", T.BOOL),
            ),
            key=("user_id",),
            references=(Reference("account_id", "accounts"),),
            description="One row per user of a customer account.",
        ),
        ExportKind(
            "usage",
            (
                Column("date", T.DATE, required=True),
                Column("account_id", required=True),
                Column("user_id", required=True),
                Column("feature", required=True),
                Column("events", T.INTEGER, minimum=0, default="1"),
            ),
            key=("date", "user_id", "feature"),
            references=(Reference("user_id", "users"), Reference("account_id", "accounts")),
            noun="usage rows",
            storage="compact",
            description="One row per user, feature and day; account_id must be the user's.",
        ),
        ExportKind(
            "features",
            (
                Column("account_id", required=True),
                Column("feature", required=True),
                Column("enabled", T.BOOL, default="true"),
            ),
            key=("account_id", "feature"),
            references=(Reference("account_id", "accounts"),),
            optional=True,
            noun="feature entitlements",
            description="Optional entitlements: the features enabled per account.",
        ),
        ExportKind(
            "nps",
            (
                Column("response_id", required=True),
                Column("date", T.DATE, required=True),
                Column("user_id"),
                Column("account_id", required=True),
                Column("score", T.INTEGER, required=True, minimum=0, maximum=10),
                Column("comment"),
            ),
            key=("response_id",),
            references=(Reference("account_id", "accounts"), Reference("user_id", "users")),
            noun="NPS responses",
            description="NPS survey responses.",
        ),
        ExportKind(
            "email_events",
            (
                Column("message_id", required=True),
                Column("event", required=True, choices=EMAIL_EVENTS),
                Column("timestamp", T.TIMESTAMP, required=True),
                Column("url", default="", description="The link clicked (click events)"),
                Column("user_agent"),
            ),
            key=("message_id", "event", "timestamp", "url"),
            noun="email events",
            description="Delivery, open and click events from the email provider.",
        ),
        ExportKind(
            "activities",
            (
                Column("activity_id", required=True),
                Column("account_id", required=True),
                Column("date", T.DATE, required=True),
                Column("type", required=True, choices=ACTIVITY_TYPES),
                Column("author"),
                Column("subject"),
                Column("body"),
            ),
            key=("activity_id",),
            references=(Reference("account_id", "accounts"),),
            description="The account timeline: calls, meetings, notes.",
        ),
        ExportKind(
            "opportunities",
            (
                Column("opportunity_id", required=True),
                Column("name", required=True),
                Column("prospect_industry"),
                Column("amount", T.NUMBER, minimum=0),
                Column("stage"),
                Column("created_date", T.DATE),
                Column("close_date", T.DATE),
                Column("is_won", T.BOOL),
                Column("owner", description="The account executive"),
            ),
            key=("opportunity_id",),
            description="Sales opportunities that may ask for references.",
        ),
        ExportKind(
            "references",
            (
                Column("reference_id", required=True),
                Column("account_id", required=True),
                Column("user_id"),
                Column("opportunity_id"),
                Column("date", T.DATE, required=True),
                Column("outcome"),
            ),
            key=("reference_id",),
            references=(
                Reference("account_id", "accounts"),
                Reference("user_id", "users"),
                Reference("opportunity_id", "opportunities"),
            ),
            description="Past reference calls given by customers.",
        ),
    )
}

# The columns of `cstool score --format csv|json`, in order: a documented contract that
# scripts rely on, and the layout of the stored snapshots.
SCORE_COLUMNS = (
    "account_id",
    "name",
    "segment",
    "csm",
    "deployment",
    "deployment_band",
    "depth",
    "depth_band",
    "breadth",
    "breadth_band",
)

# The order in which kinds are loaded so that references resolve.
LOAD_ORDER = (
    "accounts",
    "users",
    "features",
    "usage",
    "nps",
    "opportunities",
    "references",
    "activities",
    "email_events",
)


def get_kind(name: str) -> ExportKind:
    """Return the declared kind called ``name``; raise a usage error for an unknown one."""
    from cstool.errors import UsageError

    try:
        return KINDS[name]
    except KeyError:
        raise UsageError(
            f"unknown export kind {name!r}",
            hint="choose one of: " + ", ".join(LOAD_ORDER),
        ) from None
