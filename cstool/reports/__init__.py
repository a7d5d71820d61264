"""Reports people look at and share: the account success snapshot and the adoption dashboard.

:mod:`~cstool.reports.model` assembles what a report shows from the store;
:mod:`~cstool.reports.charts` draws charts (matplotlib), :mod:`~cstool.reports.html` writes
self-contained HTML (Jinja) and :mod:`~cstool.reports.pptx` PowerPoint decks (python-pptx).
Those libraries are heavy: they are imported inside the functions that use them.

The functions here write the files: each file atomically (a temporary file renamed into
place), named from the account id only when the id is a plain name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cstool.errors import EnvironmentProblem, InputError, NotFoundError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from cstool.config import Config, ResolvedConfig
    from cstool.store import Store

FORMATS = ("html", "pptx")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")


@dataclass(frozen=True)
class Written:
    """One report written."""

    path: Path
    account_id: str | None
    name: str
    size: int


@dataclass(frozen=True)
class Book:
    """The snapshots of a CSM's book, and the manifest listing them."""

    csm: str
    folder: Path
    reports: list[Written]
    manifest: Path


def format_of(path: Path) -> str:
    """``html`` or ``pptx`` from a file name's extension."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "htm":
        fmt = "html"
    if fmt not in FORMATS:
        raise UsageError(
            f"cannot tell the report format of {path.name!r}",
            hint="name the file .html or .pptx",
        )
    return fmt


def file_name(account_id: str, fmt: str) -> str:
    """A file name for an account's report: its id when that is a plain name, else a hash.

    File names never carry raw data that could reach outside the folder or clash.
    """
    stem = account_id if _PLAIN_NAME.fullmatch(account_id) else None
    if stem is None or stem in (".", ".."):
        stem = "account-" + hashlib.sha256(account_id.encode()).hexdigest()[:12]
    return f"{stem}.{fmt}"


def write_atomically(path: Path, data: bytes) -> int:
    """Write ``data`` to ``path`` through a temporary file in the same folder (with the mode a
    plain open would give, see :func:`cstool.csvfile.atomic_file`)."""
    from cstool.csvfile import write_bytes_atomic

    try:
        write_bytes_atomic(path, data)
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a file", hint="name a file to write") from None
    except OSError as e:
        raise EnvironmentProblem(
            f"cannot write {path}: {e.strerror}", hint="check the folder's permissions and space"
        ) from None
    return len(data)


def render_account(
    store: Store,
    config: Config,
    account_id: str,
    fmt: str,
    *,
    as_of: date | None,
    today: date,
    internal: bool,
) -> tuple[bytes, str]:
    """An account's success snapshot as bytes in ``fmt``, with the account's name."""
    from cstool.reports.model import account_report

    report = account_report(store, config, account_id, as_of=as_of, today=today, internal=internal)
    if fmt == "pptx":
        from cstool.reports.pptx import account_deck

        return account_deck(report), report.name
    from cstool.reports.html import account_html

    return account_html(report).encode("utf-8"), report.name


def write_account(
    store: Store,
    config: Config,
    account_id: str,
    out: Path,
    *,
    as_of: date | None = None,
    today: date,
    internal: bool = False,
    fmt: str | None = None,
) -> Written:
    """Write the success snapshot of one account to ``out`` (``.html`` or ``.pptx``).

    ``fmt`` (``--as``), when given, must agree with the file's extension.
    """
    named = format_of(out)
    if fmt is not None and fmt != named:
        raise UsageError(
            f"--as {fmt} does not match the file name {out.name!r} ({named})",
            hint=f"name the file .{fmt}, or leave out --as: the extension picks the format",
        )
    data, name = render_account(
        store, config, account_id, named, as_of=as_of, today=today, internal=internal
    )
    return Written(out, account_id, name, write_atomically(out, data))


def write_book(
    store: Store,
    config: Config,
    csm: str,
    folder: Path,
    *,
    fmt: str = "html",
    as_of: date | None = None,
    today: date,
    internal: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Book:
    """Write the success snapshot of every active account of ``csm`` into ``folder``.

    The files are named by :func:`file_name`; ``manifest.csv`` lists account, name and file.
    """
    from cstool.csvfile import to_csv_text
    from cstool.store import accounts as accounts_db

    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}", hint="use html or pptx")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder", hint="name a folder for the book")
    if not folder.exists() and folder.suffix.lower() in (".html", ".htm", ".pptx"):
        raise UsageError(
            f"--out {folder} names a file, but --csm writes a folder of reports (DIR expected)",
            hint=f"name a folder, e.g. --out {folder.with_suffix('')}",
        )
    ids = accounts_db.account_ids(store.db, csm=csm)
    if not ids:
        known = ", ".join(accounts_db.csms(store.db)) or "none"
        raise NotFoundError(f"no active account has the CSM {csm!r}", hint=f"CSMs: {known}")
    written = []
    for i, account_id in enumerate(ids):
        data, name = render_account(
            store, config, account_id, fmt, as_of=as_of, today=today, internal=internal
        )
        path = folder / file_name(account_id, fmt)
        written.append(Written(path, account_id, name, write_atomically(path, data)))
        if progress:
            progress(i + 1, len(ids))
    manifest = folder / "manifest.csv"
    text = to_csv_text(
        ["account_id", "name", "file"], ([w.account_id, w.name, w.path.name] for w in written)
    )
    write_atomically(manifest, text.encode("utf-8"))
    return Book(csm, folder, written, manifest)


def write_adoption(
    store: Store, resolved: ResolvedConfig, out: Path, *, as_of: date | None = None
) -> Written:
    """Write the team's adoption dashboard to ``out`` (``.html``)."""
    from cstool.reports.html import adoption_html
    from cstool.reports.model import adoption_dashboard

    if format_of(out) != "html":
        raise UsageError("the adoption dashboard is HTML only", hint="name the file .html")
    data = adoption_html(adoption_dashboard(store, resolved, as_of)).encode("utf-8")
    return Written(out, None, "adoption dashboard", write_atomically(out, data))
