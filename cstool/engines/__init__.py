"""Rollup engines: adoption's usage statistics, computed where the usage is.

Adoption needs from usage, per account and date D, only a handful of numbers (the
*statistics*): the activated users, the activated users with events > 0 in the depth window,
and per feature the distinct users with events > 0 in the breadth window. Everything after
them (measures, bands, snapshots, changes) works on one row per account. An engine rolls the
usage rows up into these statistics; each writes the definition once, in its own terms:

- :mod:`cstool.engines.sqlite`: the built-in engine over the usage loaded in the workspace
  (numpy over SQLite; what ``cstool score`` runs when usage is loaded);
- :mod:`cstool.engines.duck`: DuckDB SQL over Parquet, CSV or a workspace database
  (``pip install "cstool[duckdb]"``);
- :mod:`cstool.engines.spark`: Spark DataFrames over Parquet, CSV or a table, locally or on
  a cluster (``pip install "cstool[spark]"``).

The definition, for a user u of account a (from the workspace's users export) and date D:

- first_day(u) = the first day with events > 0 in u's rows; activated on D when
  ``activated_at`` <= D, or (without ``activated_at``) first_day(u) <= D;
- last_day(u, f, D) = the last day <= D with events > 0 in u's rows of feature f;
- activated(a, D) = users of a activated on D;
- active(a, D) = users of a activated on D with some last_day(u, f, D) >= D - depth + 1;
- users(a, f, D) = users of a with last_day(u, f, D) >= D - breadth + 1.

One pass over the rows groups them by (user, feature) with first_day and one last_day per
date; the rest works on those groups, whose number grows with users and features, not
events. Rows of users the workspace does not know, or of another account than the user's,
are skipped and counted; a row with a date that does not parse, events that are not a whole
number >= 0, or no user or feature, refuses the rollup.

Every engine returns the same :class:`Rollup`, tested against the same known answers.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import TYPE_CHECKING

from cstool.engines.base import (
    Engine,
    Job,
    Reading,
    Rollup,
    Source,
    SourceKind,
    refuse_bad_rows,
)
from cstool.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from cstool.config import Config

__all__ = [
    "ENGINES",
    "Engine",
    "Job",
    "Reading",
    "Rollup",
    "Source",
    "SourceKind",
    "engine",
    "refuse_bad_rows",
]

ENGINES = ("duckdb", "spark")
# The package each engine needs, and the extra that installs it.
_NEEDS = {"duckdb": ("duckdb", "duckdb"), "spark": ("pyspark", "spark")}


def engine(name: str, config: Config) -> Engine:
    """The engine called ``name``, or an error saying what to install (exit 3)."""
    if name not in _NEEDS:
        raise UsageError(f"unknown engine {name!r}", hint=f"use {' or '.join(ENGINES)}")
    module, extra = _NEEDS[name]
    if importlib.util.find_spec(module) is None:
        raise EnvironmentProblem(
            f"the {name} engine needs {module}, which is not installed",
            hint=f'install the extra: pip install "cstool[{extra}]"',
        )
    if name == "duckdb":
        from cstool.engines.duck import DuckdbEngine

        return DuckdbEngine(config.engines.duckdb)
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise EnvironmentProblem(
            "the spark engine needs Java (17 or later), and none was found",
            hint="install a Java runtime (e.g. apt-get install openjdk-17-jre-headless) "
            "or set JAVA_HOME",
        )
    from cstool.engines.spark import SparkEngine

    return SparkEngine(config.engines.spark)
