"""CLI tests of `cstool report account` and `cstool report adoption`."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cta_data import set_config
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


def deck_text(path: Path) -> str:
    """Every XML part of a PPTX: its slides' text and the charts' data."""
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
        return "\n".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))


def report(cli: Cli, ws: Workspace, *args: str) -> Result:
    return cli("-w", str(ws.root), "report", *args)


def test_contact_shows_the_csm_title_and_email(
    cli: Cli, company: Workspace, tmp_path: Path
) -> None:
    """ "Your contact" gives the CSM's name, title and email from `csms:` (a mailto link)."""
    ws = set_config(
        company,
        "csms:\n  - name: Ann\n    email: ann@acme.example\n"
        "    title: Senior Customer Success Manager\n",
    )
    assert report(cli, ws, "account", "A1", "--out", str(tmp_path / "a.html")).exit_code == 0
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    contact = html.split("Your contact")[1]
    assert '<a href="mailto:ann@acme.example">ann@acme.example</a>' in contact
    assert "Senior Customer Success Manager" in contact and "Ann" in contact
    assert report(cli, ws, "account", "A1", "--out", str(tmp_path / "a.pptx")).exit_code == 0
    deck = deck_text(tmp_path / "a.pptx")
    assert "Senior Customer Success Manager" in deck and "ann@acme.example" in deck


def test_internal_deck_has_key_contacts_and_newer_entries(
    cli: Cli, company: Workspace, tmp_path: Path
) -> None:
    """The internal deck lists the key contacts as the HTML does, and both say how many
    timeline entries are dated after the report's date."""
    r = cli(
        "-w",
        str(company.root),
        "timeline",
        "add",
        "A1",
        "--type",
        "call",
        "--subject",
        "Hi",
        "--date",
        "2026-12-01",
    )
    assert r.exit_code == 0, r.stderr
    for name in ("a.pptx", "a.html"):
        r = report(cli, company, "account", "A1", "--internal", "--out", str(tmp_path / name))
        assert r.exit_code == 0, r.stderr
    deck = deck_text(tmp_path / "a.pptx")
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert "Key contacts" in deck and "Una One (advocate): Admin, Manager" in deck
    assert "<td>Una One</td><td>Admin</td><td>Manager</td><td>yes</td>" in html
    newer = "1 newer timeline entry after 2026-11-20 (report with --as-of to include them)"
    assert newer in deck and newer in html


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common umask, 022, for the test."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("umask_022")
def test_reports_are_readable_by_others_under_umask_022(
    cli: Cli, company: Workspace, tmp_path: Path
) -> None:
    """Reports meant to be shared get 0644 under umask 022, as a plain write would, not 0600."""
    assert report(cli, company, "account", "A1", "--out", str(tmp_path / "a.html")).exit_code == 0
    r = report(cli, company, "account", "--csm", "Bob", "--out", str(tmp_path / "book"))
    assert r.exit_code == 0, r.stderr
    assert report(cli, company, "adoption", "--out", str(tmp_path / "d.html")).exit_code == 0
    for path in (tmp_path / "a.html", tmp_path / "book" / "A2.html", tmp_path / "d.html"):
        assert path.stat().st_mode & 0o777 == 0o644, path
    assert (tmp_path / "book" / "manifest.csv").stat().st_mode & 0o777 == 0o644


def test_a_book_needs_a_folder_and_as_must_match_the_file(
    cli: Cli, company: Workspace, tmp_path: Path
) -> None:
    """--csm with --out pr.html is exit 2 (a folder is expected) and creates nothing; --as
    pptx with a single .html file is exit 2 on the conflict, not ignored."""
    r = report(cli, company, "account", "--csm", "Bob", "--out", str(tmp_path / "pr.html"))
    assert r.exit_code == 2
    assert "DIR expected" in r.stderr
    assert not (tmp_path / "pr.html").exists()
    r = report(cli, company, "account", "A1", "--as", "pptx", "--out", str(tmp_path / "a.html"))
    assert r.exit_code == 2
    assert "--as pptx does not match the file name 'a.html'" in r.stderr
    assert not (tmp_path / "a.html").exists()
    r = report(cli, company, "account", "A1", "--as", "html", "--out", str(tmp_path / "a.html"))
    assert r.exit_code == 0, r.stderr


def test_adoption_hint_for_a_date_without_a_snapshot(
    cli: Cli, company: Workspace, tmp_path: Path
) -> None:
    """A date the loaded usage can score is hinted to `cstool score --as-of`; one far outside
    it is not (that command would fail too): the hint names the snapshots there are."""
    r = report(cli, company, "adoption", "--as-of", "2026-11-19", "--out", str(tmp_path / "a.html"))
    assert r.exit_code == 1
    assert "run `cstool score --as-of 2026-11-19`" in r.stderr
    r = report(cli, company, "adoption", "--as-of", "2020-11-19", "--out", str(tmp_path / "a.html"))
    assert r.exit_code == 1
    assert "there is no snapshot for 2020-11-19" in r.stderr
    assert "cstool score --as-of 2020-11-19" not in r.stderr
    assert "too far from the loaded usage" in r.stderr and "pick one of their dates" in r.stderr
    assert not (tmp_path / "a.html").exists()


def test_account_help_shows_a_book_example(cli: Cli) -> None:
    """`report account --help` shows how to write a CSM's book into a folder."""
    r = cli("report", "account", "--help", env={"COLUMNS": "200"})
    assert r.exit_code == 0
    assert "--csm" in r.stdout and "--out snapshots/" in " ".join(r.stdout.split())
