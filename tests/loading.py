"""Loading exports from Python in tests: ``ingest.load`` on a fixed clock.

The core never reads the clock, so every load is given the time its manifest records.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from cstool import ingest
from cstool.workspace import Workspace

NOW = datetime(2026, 11, 21, 9, 0)


def load(ws: Workspace, kind: str, path: Path, **options: Any) -> ingest.LoadResult:
    """``ingest.load`` with ``now`` set to NOW unless the test gives one."""
    options.setdefault("now", NOW)
    return ingest.load(ws, kind, path, **options)
