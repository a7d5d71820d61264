"""CLI tests of `cstool report account` and `cstool report adoption`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from nps_data import load_company
from typer.testing import Result

from cstool.workspace import Workspace

Cli = Callable[..., Result]


@pytest.fixture
def company(ws: Workspace, tmp_path: Path, cli: Cli) -> Workspace:
    """The hand-counted company, scored weekly."""
    load_company(ws, tmp_path)
    assert cli("-w", str(ws.root), "score", "backfill").exit_code == 0
    return ws


def test_account_html(cli: Cli, company: Workspace, tmp_path: Path) -> None:
    """One account to one HTML file, with a one-line summary on stderr."""
    out = tmp_path / "out" / "alder.html"
    r = cli("-w", str(company.root), "report", "account", "A1", "--out", str(out))
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith(f"Wrote the success snapshot of A1 Alder to {out} (")
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_account_pptx_internal(cli: Cli, company: Workspace, tmp_path: Path) -> None:
    """The extension picks PPTX; --internal is said in the summary."""
    out = tmp_path / "alder.pptx"
    r = cli("-w", str(company.root), "report", "account", "A1", "-o", str(out), "--internal")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.rstrip().endswith("(internal)")
    assert out.read_bytes()[:2] == b"PK"


def test_book_of_a_csm_as_pptx(cli: Cli, company: Workspace, tmp_path: Path) -> None:
    """--csm writes the whole book into a folder, matching the name in any case."""
    r = cli(
        "-w",
        str(company.root),
        "report",
        "account",
        "--csm",
        "BOB",
        "--out",
        str(tmp_path / "book"),
        "--as",
        "pptx",
    )
    assert r.exit_code == 0, r.stderr
    assert "Wrote 2 PPTX snapshots of BOB's book" in r.stderr
    assert sorted(p.name for p in (tmp_path / "book").iterdir()) == [
        "A2.pptx",
        "A3.pptx",
        "manifest.csv",
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["A1", "--csm", "Bob", "--out", "book"], 2, "name one ACCOUNT or a --csm"),
        (["--out", "x.pdf"], 2, "name one ACCOUNT or a --csm"),
        (["A1"], 2, "Missing option '--out'"),
        (["A1", "--out", "x.pdf"], 2, "cannot tell the report format of 'x.pdf'"),
        (["ZZ", "--out", "x.html"], 1, "no account 'ZZ'"),
        (["--csm", "Nobody", "--out", "book"], 1, "no active account has the CSM 'Nobody'"),
    ],
)
def test_bad_report_requests(
    cli: Cli, company: Workspace, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    """Each wrong request has its exit code and message, and writes nothing."""
    r = cli("-w", str(company.root), "report", "account", *args)
    assert r.exit_code == code
    assert message in r.stderr
    assert not (tmp_path / "x.pdf").exists() and not (tmp_path / "book").exists()


def test_adoption_dashboard(cli: Cli, company: Workspace, tmp_path: Path) -> None:
    """report adoption writes the week's dashboard with each CSM."""
    out = tmp_path / "adoption.html"
    r = cli("-w", str(company.root), "report", "adoption", "--out", str(out))
    assert r.exit_code == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert "Week of 20 November 2026" in html
    assert "compared with the snapshot of 13 November 2026" in html
    for csm in ("Ann", "Bob", "Cy"):
        assert f"<td>{csm}</td>" in html


def test_adoption_without_snapshots(cli: Cli, ws: Workspace, tmp_path: Path) -> None:
    """No snapshot yet: exit 1 saying how to make one; no file."""
    r = cli("-w", str(ws.root), "report", "adoption", "--out", str(tmp_path / "a.html"))
    assert r.exit_code == 1
    assert "there are no score snapshots yet" in r.stderr
    assert not (tmp_path / "a.html").exists()
