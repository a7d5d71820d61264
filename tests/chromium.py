"""Open a page in headless Chromium (the Debian package) and record what the page did.

How "no network request" and "no console error" are checked: Chromium runs with
``--log-net-log``, which records every URL request the network service starts; requests the
browser makes for itself (update checks, sign-in) have no origin and are set apart, so what
remains are the page's own. ``--enable-logging=stderr`` prints every console message
(``CONSOLE`` lines), which includes Content-Security-Policy violations: a report that tried
to load anything would log one. The screenshot's size comes from its PNG header.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium (Debian package `chromium`) is not installed here; "
    ".ci/run installs it, so CI runs these tests",
)

_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] (.*)")


@dataclass(frozen=True)
class PageLoad:
    """What a page did when Chromium opened it."""

    console: list[str]  # console messages, CSP violations included
    requests: list[str]  # URLs the page itself requested over the network
    screenshot: Path
    size: tuple[int, int]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _page_requests(netlog: Path) -> list[str]:
    text = netlog.read_text(encoding="utf-8", errors="replace")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        # A log cut short at exit: close it so the events read.
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    kinds = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if kinds.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("initiator") == "not an origin":  # the browser's own housekeeping
            continue
        urls.append(params["url"])
    return urls


def open_page(page: Path, work: Path, width: int = 1100, height: int = 1400) -> PageLoad:
    """Load ``page`` from its file:// URL, wait for it to settle, take a screenshot."""
    assert CHROMIUM is not None
    work.mkdir(parents=True, exist_ok=True)
    shot, netlog = work / "screenshot.png", work / "netlog.json"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={work / 'profile'}",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            "--virtual-time-budget=3000",
            "--enable-logging=stderr",
            "--v=0",
            f"--log-net-log={netlog}",
            f"--screenshot={shot}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # stderr always carries D-Bus noise: judge by the exit code and the files.
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.is_file() and netlog.is_file()
    console = [m.group(1) for m in _CONSOLE.finditer(result.stderr)]
    return PageLoad(console, _page_requests(netlog), shot, png_size(shot))


def print_pdf(page: Path, work: Path) -> bytes:
    """Print ``page`` to PDF as a reader would, and return the PDF's bytes."""
    assert CHROMIUM is not None
    work.mkdir(parents=True, exist_ok=True)
    pdf = work / "printed.pdf"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={work / 'profile-print'}",
            "--no-first-run",
            "--disable-background-networking",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return pdf.read_bytes()
