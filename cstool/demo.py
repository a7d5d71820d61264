"""The demo: a fresh workspace from the sample data and the main job, step by step."""

from __future__ import annotations

import shutil
from pathlib import Path

from cstool.errors import InputError
from cstool.schemas import LOAD_ORDER

# Written into every workspace the demo builds: --force rebuilds only folders that carry it,
# so a real workspace (or any other folder) is never deleted.
MARKER = ".cstool-demo"


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


def steps() -> list[list[str]]:
    """The commands the demo runs inside the new workspace, in order."""
    loads = [["load", kind, f"data/{kind}.csv"] for kind in LOAD_ORDER]
    return [
        *loads,
        ["status"],
        ["score", "backfill", "--every", "7"],
        ["score", "--sort", "depth", "--limit", "10"],
        ["score", "explain", "ACC-00001"],
        ["changes", "--by", "segment", "--limit", "10"],
    ]
