"""The success snapshot and the adoption dashboard: content, privacy, determinism, and the
HTML opened in headless Chromium (see tests/chromium.py for how fetches are detected).

The company is nps_data's, scored weekly, with activities for A1 Alder: a "Go-live"
milestone and a CRM note; a secret note is added to A1's timeline, and A1 gave a reference
recorded by the references workflow (naming the prospect, the opportunity and the contact).
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from adoption_data import write_csv
from chromium import needs_chromium, open_page, print_pdf
from hypothesis import given
from hypothesis import strategies as st
from loading import load
from nps_data import load_company

from cstool import adoption, reports, timeline
from cstool.errors import NotFoundError, UsageError
from cstool.reports import charts
from cstool.store import ctas as ctas_db
from cstool.store import refs as refs_db
from cstool.workspace import Workspace

if TYPE_CHECKING:
    from cstool.store import Store

TODAY = date(2026, 12, 1)
SECRETS = (
    "SECRET-NOTE-4711",  # a note added with `timeline add`
    "secret body 0815",  # its body
    "CRM-NOTE-SECRET",  # a note from the activities export
    "Love the dashboards",  # an NPS comment
    "Birch",  # other accounts' names
    "Cedar",
    "Dogwood",
    "RISK-CTA-SECRET",  # an open risk CTA
    "renewal-at-risk",
    "Wavecrest",  # a recorded reference: the prospect's name,
    "New Business",  # the opportunity's name and id,
    "OPP-00003",
    "Una One",  # the customer's contact who gave it,
    "REF-0001",  # and the request's id
)


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The scored company with planted internal content (built once for the module)."""
    from cstool.workspace import init_workspace, open_workspace

    folder = tmp_path_factory.mktemp("company")
    init_workspace(folder / "ws")
    ws = load_company(open_workspace(folder / "ws"), folder)
    load(
        ws,
        "activities",
        write_csv(
            folder / "activities.csv",
            ["activity_id", "account_id", "date", "type", "author", "subject", "body"],
            [
                ("ACT1", "A1", "2026-10-06", "milestone", "Ann", "Go-live", "All teams live"),
                ("ACT2", "A1", "2026-11-02", "note", "Ann", "CRM-NOTE-SECRET", "Budget cut"),
            ],
        ),
    )
    load(
        ws,
        "opportunities",
        write_csv(
            folder / "opportunities.csv",
            ["opportunity_id", "name", "prospect_industry", "stage", "owner"],
            [("OPP-00003", "Wavecrest Industries – New Business", "Retail", "Proposal", "Ben")],
        ),
    )
    with ws.open_store(write=True) as store:
        adoption.backfill(store, ws.resolved.config)
        _record_reference(store)
        timeline.add_note(
            store,
            "A1",
            type="note",
            subject="SECRET-NOTE-4711 churn risk",
            body="secret body 0815",
            day=date(2026, 11, 10),
            author="Ann",
            now="2026-11-10T09:00:00+00:00",
        )
        with store.transaction():
            ctas_db.insert(
                store.db,
                source="playbook",
                playbook="renewal-at-risk",
                account_id="A1",
                type="risk",
                priority="high",
                owner="Ann",
                reason="RISK-CTA-SECRET: renewal in 90 days, depth red",
                opened_on=date(2026, 11, 15),
                due_on=date(2026, 11, 20),
            )
    return ws


def _record_reference(store: Store) -> None:
    """A1's contact U1 gave a reference for OPP-00003 on 2026-11-12, recorded (step 7)."""
    fields = {"opportunity_id": "OPP-00003", "level": "Manager", "count": 1}
    with store.transaction():
        refs_db.insert_request(
            store.db,
            "REF-0001",
            0,
            {**fields, "needed_by": "2026-11-30"},
            at="t1",
            day="2026-11-02",
        )
        sets: dict[int, dict[str, str]] = {
            2: {"account_id": "A1"},
            4: {"user_id": "U1"},
            5: {"occurred_on": "2026-11-12"},
        }
        for step in range(1, 7):
            day = f"2026-11-{2 + step:02d}"
            assert refs_db.advance(
                store.db, "REF-0001", from_step=step, at=f"t{step}", day=day, **sets.get(step, {})
            )


def write(ws: Workspace, out: Path, account: str = "A1", internal: bool = False) -> bytes:
    with ws.open_store() as store:
        reports.write_account(
            store, ws.resolved.config, account, out, today=TODAY, internal=internal
        )
    return out.read_bytes()


def pptx_text(data: bytes) -> str:
    """Every XML part of a PPTX, decompressed: whatever the deck holds, text or chart data."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(
            z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")
        )


# -- content ---------------------------------------------------------------------------------


def test_snapshot_model_known_answers(company: Workspace) -> None:
    """A1's snapshot: users, features, milestones and weekly history from the snapshots."""
    from cstool.reports.model import account_report

    with company.open_store() as store:
        r = account_report(store, company.resolved.config, "A1", today=TODAY)
    assert (r.licenses, r.activated, r.active) == (3, 3, 1)
    assert r.features == [("reports", 1, True), ("dashboards", 0, False)]
    assert [(str(m.date), m.text) for m in r.milestones] == [
        ("2026-10-06", "Go-live"),
        ("2026-11-12", "Customer reference given"),
    ]
    assert [str(p.day) for p in r.history["depth"]][-2:] == ["2026-11-13", "2026-11-20"]
    assert r.internal is None and r.csm == "Ann"


def test_external_snapshot_leaks_nothing_internal(company: Workspace, tmp_path: Path) -> None:
    """Neither the HTML nor any part of the PPTX holds a note, a comment, a risk CTA or
    another account."""
    html = write(company, tmp_path / "a1.html").decode()
    deck = pptx_text(write(company, tmp_path / "a1.pptx"))
    for secret in SECRETS:
        assert secret not in html, secret
        assert secret not in deck, secret
    assert "Alder" in html and "Alder" in deck
    assert "Go-live" in html and "Go-live" in deck
    assert "Customer reference given" in html and "Customer reference given" in deck
    assert "internal" not in html.lower().split("</style>")[1]


def test_internal_snapshot_shows_notes_and_nps(company: Workspace, tmp_path: Path) -> None:
    """--internal adds the team's view: notes, the NPS comment, and says it is internal."""
    html = write(company, tmp_path / "a1.html", internal=True).decode()
    assert "SECRET-NOTE-4711 churn risk" in html and "secret body 0815" in html
    assert "RISK-CTA-SECRET: renewal in 90 days, depth red" in html
    assert "Internal: not for the customer" in html
    deck = pptx_text(write(company, tmp_path / "a1.pptx", internal=True))
    assert "SECRET-NOTE-4711" in deck
    reference = "Customer Reference: Una One for Wavecrest Industries – New Business (OPP-00003)"
    assert reference in html and reference in deck


def test_html_fetches_nothing_by_construction(company: Workspace, tmp_path: Path) -> None:
    """No script, no external style or font; every link is a fragment; a CSP forbids fetches."""
    html = write(company, tmp_path / "a1.html").decode()
    assert "<script" not in html.lower()
    assert "@import" not in html and "@font-face" not in html
    assert "default-src 'none'" in html
    refs = re.findall(r'(?:href|src)="([^"]*)"', html) + re.findall(r"url\(([^)]*)\)", html)
    assert refs  # the charts' clip paths and markers
    for ref in refs:
        assert ref.startswith("#"), ref


def test_reports_are_byte_identical_between_runs(company: Workspace, tmp_path: Path) -> None:
    """Same data, same bytes: HTML, PPTX and the dashboard."""
    assert write(company, tmp_path / "1.html") == write(company, tmp_path / "2.html")
    first = write(company, tmp_path / "1.pptx")
    time.sleep(1.1)  # the workbooks behind the charts record the second they were written
    assert write(company, tmp_path / "2.pptx") == first
    with company.open_store() as store:
        for name in ("d1.html", "d2.html"):
            reports.write_adoption(store, company.resolved, tmp_path / name)
    assert (tmp_path / "d1.html").read_bytes() == (tmp_path / "d2.html").read_bytes()


def test_pptx_reads_back_with_its_library(company: Workspace, tmp_path: Path) -> None:
    """The deck opens in python-pptx: its slides, and native charts holding the known values."""
    from pptx import Presentation

    write(company, tmp_path / "a1.pptx")
    prs = Presentation(str(tmp_path / "a1.pptx"))
    assert len(prs.slides) == 6
    charts_found = [s.chart for slide in prs.slides for s in slide.shapes if s.has_chart]
    history, users, features = charts_found
    assert [s.name for s in history.plots[0].series] == ["Deployment", "Depth", "Breadth"]
    assert list(history.plots[0].categories)[-1] == "20 Nov"
    assert list(users.plots[0].categories) == ["Licenses", "Activated users", "Active users"]
    assert list(users.plots[0].series[0].values) == [3.0, 3.0, 1.0]
    assert list(features.plots[0].categories) == ["reports", "dashboards"]
    assert prs.core_properties.modified.date() == date(2026, 11, 20)


def test_dashboard_counts_and_movers(company: Workspace) -> None:
    """The dashboard compares the latest snapshot with the one a week before, by CSM."""
    from cstool.reports.model import adoption_dashboard

    with company.open_store() as store:
        d = adoption_dashboard(store, company.resolved)
        expected = adoption.changes(store, None, 1, "csm")
    assert (d.as_of, d.compared_to, d.accounts) == (date(2026, 11, 20), date(2026, 11, 13), 4)
    assert [c.csm for c in d.csms] == ["Ann", "Bob", "Cy"]
    for c in d.csms:
        for g in expected.groups:
            if g.group == c.csm:
                assert (c.up[g.measure], c.down[g.measure]) == (g.up, g.down)
    assert sum(d.totals_now["depth"].values()) == 4
    assert sum(n for per in d.tiers["depth"].values() for n in per.values()) == 4
    assert set(d.tiers["depth"]) <= {"high", "low", "tech"}
    assert [(c.playbook, c.type, c.open, c.overdue, c.high) for c in d.ctas] == [
        ("renewal-at-risk", "risk", 1, 0, 1)
    ]


# -- writing ---------------------------------------------------------------------------------


def test_book_writes_one_file_per_account_and_a_manifest(
    company: Workspace, tmp_path: Path
) -> None:
    """--csm writes each of the CSM's active accounts, named by id, and lists them."""
    with company.open_store() as store:
        book = reports.write_book(
            store, company.resolved.config, "bob", tmp_path / "bob", today=TODAY
        )
    assert sorted(p.name for p in (tmp_path / "bob").iterdir()) == [
        "A2.html",
        "A3.html",
        "manifest.csv",
    ]
    assert book.manifest.read_text() == "account_id,name,file\nA2,Birch,A2.html\nA3,Cedar,A3.html\n"
    assert "Cedar" not in (tmp_path / "bob" / "A2.html").read_text()


def test_unknown_csm_and_bad_names(company: Workspace, tmp_path: Path) -> None:
    """An unknown CSM lists the CSMs; a file that is neither .html nor .pptx is refused."""
    with company.open_store() as store:
        with pytest.raises(NotFoundError, match="no active account has the CSM 'Zed'") as e:
            reports.write_book(store, company.resolved.config, "Zed", tmp_path, today=TODAY)
        assert e.value.hint == "CSMs: Ann, Bob, Cy"
        with pytest.raises(UsageError, match=r"cannot tell the report format of 'a1\.pdf'"):
            reports.write_account(
                store, company.resolved.config, "A1", tmp_path / "a1.pdf", today=TODAY
            )
    assert not (tmp_path / "a1.pdf").exists()


@given(st.text(min_size=1, max_size=40))
def test_file_names_never_leave_the_folder(account_id: str) -> None:
    """Any account id gives one plain file name: no separator, no leading dot, same each time."""
    name = reports.file_name(account_id, "html")
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert name.endswith(".html") and name == reports.file_name(account_id, "html")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.html", name)


def test_chart_text_is_escaped_and_never_mathtext() -> None:
    """A feature called <b>$x$</b> is drawn as those characters, escaped in the SVG."""
    svg = charts.features_bars([("<b>$x$</b>", 3)], "green", "users")
    assert "&lt;b&gt;$x$&lt;/b&gt;" in svg
    assert "<b>" not in svg
    assert svg.startswith("<svg") and 'width="100%"' in svg


# -- in a browser ----------------------------------------------------------------------------


@needs_chromium
def test_the_harness_sees_fetches_and_console_errors(tmp_path: Path) -> None:
    """A page that loads an image from the web and logs an error is caught on both counts."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!doctype html><img src="http://192.0.2.1/x.png"><script>console.error("boom")</script>',
        encoding="utf-8",
    )
    page = open_page(bad, tmp_path / "run", 800, 600)
    assert page.requests == ["http://192.0.2.1/x.png"]
    assert any("boom" in m for m in page.console)
    assert page.size == (800, 600)


@needs_chromium
@pytest.mark.parametrize("internal", [False, True])
def test_snapshot_in_chromium(company: Workspace, tmp_path: Path, internal: bool) -> None:
    """The snapshot loads with no console message, no request, and draws a full screenshot."""
    from PIL import Image

    out = tmp_path / "a1.html"
    write(company, out, internal=internal)
    page = open_page(out, tmp_path / "run")
    assert page.console == []
    assert page.requests == []
    assert page.size == (1100, 1400)
    with Image.open(page.screenshot) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20) or []
    inked = sum(n for n, rgb in colours if rgb != (255, 255, 255))
    assert inked > 0.05 * 1100 * 1400  # text, cards and charts, not a blank page


@needs_chromium
def test_dashboard_in_chromium(company: Workspace, tmp_path: Path) -> None:
    """The dashboard loads with no console message and no request."""
    out = tmp_path / "adoption.html"
    with company.open_store() as store:
        reports.write_adoption(store, company.resolved, out)
    page = open_page(out, tmp_path / "run", 1200, 1600)
    assert (page.console, page.requests, page.size) == ([], [], (1200, 1600))


@needs_chromium
def test_snapshot_prints(company: Workspace, tmp_path: Path) -> None:
    """Printed, the snapshot is a PDF of at most three A4 pages."""
    out = tmp_path / "a1.html"
    write(company, out)
    pdf = print_pdf(out, tmp_path / "run")
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 3
