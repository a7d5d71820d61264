"""Helpers shared by the adoption tests: dates around D, CSV writing and metrics settings."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from cstool.workspace import Workspace, open_workspace

D = date(2024, 3, 31)


def ago(n: int) -> str:
    """The ISO date ``n`` days before D (negative ``n``: after D)."""
    return (D - timedelta(days=n)).isoformat()


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """Write rows (None as an empty cell) under a header."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(["" if v is None else v for v in r] for r in rows)
    return path


def set_metrics(root: Path, **metrics: Any) -> Workspace:
    """Write ``metrics`` settings into the workspace's cstool.yaml and reopen it."""
    cfg = root / "cstool.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["metrics"].update(metrics)
    cfg.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return open_workspace(root)
