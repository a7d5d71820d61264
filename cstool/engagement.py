"""The engagement plan: per touch tier and lifecycle stage, when CSMs get CTAs and when
customers get 1:many email, read from the playbooks and journeys themselves.

Nothing here is written by hand, so the plan cannot drift from what runs. A playbook's
``audience`` and ``when``, and a journey's ``audience`` and its steps' ``when``, are evaluated
for an account that has only a touch tier and a lifecycle stage: a condition that holds is
``always`` for that tier and stage, one that depends on other values (a band, a renewal date)
is listed with its condition, and one that cannot hold for that tier and stage leaves the
playbook or step out. The stages are the lifecycle stages of the active accounts (the common
five when none is loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cstool.conditions import TOUCH_TIERS, USER_VARIABLES, Catalogue, Verdict
from cstool.errors import UsageError

if TYPE_CHECKING:
    from cstool.workspace import Workspace

STAGES = ("Onboarding", "Adopting", "Mature", "At Risk", "Renewing")
PLAN_COLUMNS = ("tier", "stage", "channel", "name", "trigger", "who", "cadence")


@dataclass(frozen=True)
class PlanRow:
    """One touch of the plan."""

    tier: str
    stage: str
    channel: str  # "CTA" (a CSM's work item) or "email" (1:many journey email)
    name: str
    trigger: str
    who: str
    cadence: str

    def as_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in PLAN_COLUMNS}


KNOWN = frozenset({"touch_tier", "lifecycle_stage"})


def conjuncts(source: str) -> list[str]:
    """The parts of ``source`` joined by a top-level ``and`` (the whole when a top-level
    ``or`` binds looser than them), outside quotes and brackets."""
    parts: list[str] = []
    depth, quote, start, i = 0, "", 0, 0
    text = " ".join(source.split())
    found_or = False
    cuts: list[tuple[int, int]] = []
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(" and ", i):
            cuts.append((i, i + 5))
        elif depth == 0 and text.startswith(" or ", i):
            found_or = True
        i += 1
    if found_or or not cuts:
        return [text]
    for a, b in cuts:
        parts.append(text[start:a])
        start = b
    parts.append(text[start:])
    return parts


def _fits(sources: Sequence[str | None], tier: str, stage: str, catalogue: Catalogue) -> str | None:
    """None when a condition cannot hold for the tier and stage; "" when all always hold;
    else the parts that depend on other values (a band, a date), joined with "and".

    Parts that name only the touch tier and the lifecycle stage are decided; the others are
    listed: the plan never leaves out what could run.
    """
    values = {"touch_tier": tier, "lifecycle_stage": stage}
    depends = []
    for source in sources:
        if source is None:
            continue
        for part in conjuncts(source):
            condition = catalogue.compile(part)
            if condition.names <= KNOWN:
                if condition.evaluate(values).verdict is not Verdict.TRUE:
                    return None
            else:
                depends.append(part)
    return " and ".join(depends)


def engagement_plan(ws: Workspace, tier: str | None = None) -> list[PlanRow]:
    """The plan for every touch tier (or ``tier``), stage by stage: CTAs, then emails."""
    from cstool import playbooks
    from cstool.context import account_catalogue
    from cstool.journeys.definitions import journey_definitions
    from cstool.store import exports as exports_db

    tier = tier.lower() if tier is not None else None
    if tier is not None and tier not in TOUCH_TIERS:
        raise UsageError(f"unknown touch tier {tier!r}", hint=f"use {', '.join(TOUCH_TIERS)}")
    with ws.open_store() as store:
        catalogue = account_catalogue(store)
        step_catalogue = catalogue.with_variables(USER_VARIABLES)
        books = [d.model for d in playbooks.load(ws, catalogue)]
        loaded = journey_definitions(ws, store)
        if loaded.broken:  # a plan missing a journey would mislead: as before, refuse
            raise loaded.broken[0].error
        journeys = [d.model for d in loaded]
        seen = sorted(
            {
                str(r[exports_db.ACCOUNT_COLUMNS.index("lifecycle_stage")])
                for r in exports_db.account_rows(store.db)
            }
            - {"None", ""}
        )
    stages = [s for s in STAGES if s in seen] + [s for s in seen if s not in STAGES] or list(STAGES)
    rows: list[PlanRow] = []
    for t in [tier] if tier else list(TOUCH_TIERS):
        for stage in stages:
            for pb in books:
                trigger = _fits([pb.audience, pb.when], t, stage, catalogue)
                if trigger is None:
                    continue
                tasks = len(pb.tasks)
                rows.append(
                    PlanRow(
                        t,
                        stage,
                        "CTA",
                        pb.name,
                        trigger or "always",
                        f"the account's {pb.owner} ({pb.priority}, due in {pb.due_in} business "
                        f"days, {tasks} task{'s' if tasks != 1 else ''})",
                        f"again after {pb.cooldown_days} days"
                        if pb.cooldown_days
                        else "while it holds",
                    )
                )
            for j in journeys:
                audience = _fits([j.audience], t, stage, catalogue)
                if audience is None:
                    continue
                for step in j.steps:
                    rule = step.when
                    extra = _fits([rule], t, stage, step_catalogue)
                    if extra is None:
                        continue
                    when = (
                        step.rule_text if rule is None else ("when " + extra if extra else "always")
                    )
                    rows.append(
                        PlanRow(
                            t,
                            stage,
                            "email",
                            f"{j.name}/{step.id}",
                            when + (f" (audience: {audience})" if audience else ""),
                            f"{' '.join(j.recipients.split())}, from {j.sender}",
                            f"again after {j.reentry_days} days" if j.reentry_days else "once",
                        )
                    )
    return rows


def markdown(rows: Sequence[PlanRow]) -> str:
    """The plan as Markdown: a section per tier, a table per stage."""
    out: list[str] = []
    tiers = list(dict.fromkeys(r.tier for r in rows))
    for tier in tiers:
        out.append(f"## {tier} touch\n")
        for stage in dict.fromkeys(r.stage for r in rows if r.tier == tier):
            out.append(f"### {stage}\n")
            out.append("| channel | name | trigger | who | cadence |")
            out.append("|---|---|---|---|---|")
            for r in rows:
                if r.tier == tier and r.stage == stage:
                    cells = [r.channel, r.name, r.trigger, r.who, r.cadence]
                    out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            out.append("")
    return "\n".join(out) + ("\n" if out else "")
