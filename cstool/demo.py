"""The demo: a fresh workspace from the sample data and the main job, step by step."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from cstool.errors import InputError
from cstool.schemas import LOAD_ORDER

# Written into every workspace the demo builds: --force rebuilds only folders that carry it,
# so a real workspace (or any other folder) is never deleted.
MARKER = ".cstool-demo"
DEMO_JOURNEY = "feature-nudge"
SAMPLE_END = "2026-11-20"  # the last day of the shipped sample data


def prepare(directory: Path, *, force: bool = False) -> Path:
    """Clear a previous demo workspace when asked; refuse to touch anything else."""
    root = directory.expanduser().resolve()
    if root.exists() and any(root.iterdir()):
        if not force:
            raise InputError(
                f"{directory} already exists",
                hint="pass --force to rebuild a previous demo workspace, or name a new folder",
            )
        if not (root / MARKER).is_file():
            raise InputError(
                f"{directory} was not built by `cstool demo`; --force only rebuilds a demo "
                "workspace and never deletes anything else",
                hint="name a new folder for the demo",
            )
        shutil.rmtree(root)
    return root


def mark(root: Path) -> None:
    """Record that ``root`` is a demo workspace, which --force may rebuild."""
    (root / MARKER).write_text("built by cstool demo; `cstool demo --force` may delete it\n")


@dataclass(frozen=True)
class Step:
    """One command of the demo: as a user types it inside the workspace, and as it runs."""

    shown: tuple[str, ...]
    args: tuple[str, ...]


def steps(root: Path) -> list[Step]:
    """The commands the demo runs to build and use the workspace at ``root``, in order.

    Each runs with ``--workspace`` and its files named from ``root``, so neither the current
    folder nor a CSTOOL_WORKSPACE in the environment (the user's real workspace) decides
    where it reads or writes.
    """
    where = ("--workspace", str(root))
    init = ("init", str(root), "--sample")
    loads = [
        Step(("load", k, f"data/{k}.csv"), (*where, "load", k, str(root / "data" / f"{k}.csv")))
        for k in LOAD_ORDER
    ]
    uses = [
        ("status",),
        ("score", "backfill", "--every", "7"),
        ("score", "--sort", "depth", "--limit", "10"),
        ("score", "explain", "ACC-00001"),
        ("changes", "--by", "segment", "--limit", "10"),
        ("tiers", "--by", "csm"),
        ("cta", "generate", "--limit", "5"),
        ("cta", "list", "--status", "open", "--as-of", SAMPLE_END, "--limit", "10"),
        # A journey's plan on the sample's last day, previews in outbox/dry-run/feature-nudge/.
        ("journey", "send", DEMO_JOURNEY, "--as-of", SAMPLE_END, "--dry-run", "--limit", "5"),
    ]
    report = ("report", "adoption", "--out")
    ends = [
        # One account at a glance, then the team's weekly dashboard.
        Step(("account", "show", "ACC-00001"), (*where, "account", "show", "ACC-00001")),
        Step(
            (*report, "outbox/adoption.html"),
            (*where, *report, str(root / "outbox" / "adoption.html")),
        ),
    ]
    return [Step(init, init), *loads, *(Step(u, (*where, *u)) for u in uses), *ends]


# The reference workflow of the demo: a Manufacturing prospect asks for a Manager-level
# reference; the two accounts proposed have Manager-level advocates in the sample data.
DEMO_OPPORTUNITY = "OPP-00003"
DEMO_ACCOUNTS = ("ACC-00097", "ACC-00074")
DEMO_CONTACT = "USR-000799"  # a Manager-level advocate of ACC-00097


def reference_steps(root: Path, today: date) -> list[Step]:
    """The demo's reference commands: ``refs find``, then one request through its seven steps
    (needed in two weeks, taking place ``today``) and the milestone it leaves."""
    where = ("--workspace", str(root))
    req = "REQ-0001"  # the first request of a new workspace
    uses = [
        ("refs", "find", "--industry", "Manufacturing", "--similar", "--limit", "3"),
        (
            "refs", "request", "--opportunity", DEMO_OPPORTUNITY, "--level", "Manager",
            "--topics", "Shop-floor rollout", "--needed-by", str(today + timedelta(days=14)),
        ),
        ("refs", "propose", req, "--accounts", ",".join(DEMO_ACCOUNTS)),
        ("refs", "contact", req, DEMO_ACCOUNTS[0]),
        ("refs", "connect", req, DEMO_ACCOUNTS[0]),
        ("refs", "occurred", req, "--date", str(today), "--contact", DEMO_CONTACT),
        ("refs", "confirm", req),
        ("refs", "record", req),
        ("timeline", DEMO_ACCOUNTS[0], "--type", "milestone"),
    ]  # fmt: skip
    return [Step(u, (*where, *u)) for u in uses]
