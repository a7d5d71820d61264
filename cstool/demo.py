"""The demo: a fresh workspace from the sample data and the main job, step by step."""

from __future__ import annotations

import shutil
from pathlib import Path

from cstool.config import CONFIG_NAME
from cstool.errors import InputError
from cstool.schemas import LOAD_ORDER


def prepare(directory: Path, *, force: bool = False) -> Path:
    """Clear a previous demo workspace when asked; refuse to touch anything else."""
    root = directory.expanduser().resolve()
    if root.exists() and any(root.iterdir()):
        if not force:
            raise InputError(
                f"{directory} already exists",
                hint="pass --force to rebuild a previous demo workspace, or name a new folder",
            )
        if not (root / CONFIG_NAME).is_file():
            raise InputError(
                f"{directory} is not a cstool workspace; --force only rebuilds a demo workspace",
                hint="name a new folder",
            )
        shutil.rmtree(root)
    return root


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
