"""The table helper: tables fit the terminal by shortening and dropping the right columns."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cstool.console import Column, fit_table, shorten_left


def draw(table: Table, width: int) -> list[str]:
    """The lines of ``table`` as a ``width``-column terminal without colour shows them."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, no_color=True, soft_wrap=True).print(table)
    return buffer.getvalue().splitlines()


def cells(line: str) -> list[str]:
    """The cells of a table body line, stripped."""
    return [c.strip() for c in line.strip().strip("│").split("│")]


ROWS = [
    {
        "id": "ACC-00023",
        "name": "Fjord Technologies Holdings",
        "segment": "Mid-Market",
        "csm": "Marcus Oyelaran",
        "n": "12,345",
    },
    {"id": "ACC-00049", "name": "Oakmont", "segment": "SMB", "csm": "Priya Raman", "n": "7"},
]
COLUMNS = [
    Column("id", "account", "id"),
    Column("name"),
    Column("segment", priority=2),
    Column("csm", priority=1),
    Column("n", kind="number"),
]


def test_a_table_that_fits_is_left_alone() -> None:
    """Wide enough: every column, every cell whole, numbers on the right."""
    lines = draw(fit_table(ROWS, COLUMNS, width=120), 120)
    first = next(cells(ln) for ln in lines if "ACC-00023" in ln)
    assert first == [
        "ACC-00023",
        "Fjord Technologies Holdings",
        "Mid-Market",
        "Marcus Oyelaran",
        "12,345",
    ]
    assert "│      7 │" in next(ln for ln in lines if "ACC-00049" in ln)


def test_text_shortens_before_any_column_is_dropped() -> None:
    """A little too narrow: names end in an ellipsis; nothing is dropped yet."""
    lines = draw(fit_table(ROWS, COLUMNS, width=70), 70)
    assert max(cell_len(ln) for ln in lines) <= 70
    first = next(cells(ln) for ln in lines if "ACC-00023" in ln)
    assert len(first) == 5
    assert first[1].endswith("…") and first[1].startswith("Fjord")
    assert not any("not shown" in ln for ln in lines)


def test_columns_go_lowest_priority_first_and_are_named() -> None:
    """Narrower: csm (priority 1) goes before segment (2); ids and numbers always stay."""
    at_55 = draw(fit_table(ROWS, COLUMNS, width=55), 55)
    assert next(cells(ln) for ln in at_55 if "ACC-00049" in ln) == [
        "ACC-00049",
        "Oakmont",
        "SMB",
        "7",
    ]
    assert at_55[-1] == "csm: not shown at this width"
    at_40 = draw(fit_table(ROWS, COLUMNS, width=40), 40)
    assert [c for c in cells(next(ln for ln in at_40 if "ACC-00049" in ln))] == [
        "ACC-00049",
        "Oakmont",
        "7",
    ]
    assert at_40[-1] == "segment, csm: not shown at this width"
    assert max(cell_len(ln) for ln in at_40) <= 40


def test_ids_and_numbers_are_never_cut_even_when_nothing_fits() -> None:
    """Too narrow even for ids and numbers: the table is drawn wider, never cutting them."""
    lines = draw(fit_table(ROWS, COLUMNS, width=20), 20)
    assert any("ACC-00023" in ln and "12,345" in ln for ln in lines)


def test_prose_wraps_and_paths_shorten_from_the_left() -> None:
    """A comment wraps onto more lines; a path keeps its end: …/outbox/x.csv."""
    rows = [
        {"file": "/srv/acme/cs/outbox/x.csv", "comment": "Export keeps failing, we are evaluating"}
    ]
    columns = [Column("file", kind="path", min_width=14), Column("comment", kind="prose")]
    lines = draw(fit_table(rows, columns, width=36), 36)
    body = [cells(ln) for ln in lines if ln.startswith("│")]
    assert body[0][0] == "…/cs/outbox/x.csv"
    assert [c[0] for c in body[1:]] == [""] * (len(body) - 1)
    assert " ".join(c[1] for c in body) == "Export keeps failing, we are evaluating"


def test_shorten_left_cuts_at_a_folder_boundary() -> None:
    """The longest tail that fits after "…", starting at a separator when one fits."""
    path = Text("/srv/acme/outbox/2026-11-20/welcome.csv")
    assert shorten_left(path, 100).plain == path.plain
    assert shorten_left(path, 24).plain == "…/2026-11-20/welcome.csv"
    assert shorten_left(path, 14).plain == "…/welcome.csv"
    assert shorten_left(path, 8).plain == "…ome.csv"  # no folder boundary fits


words = st.text(alphabet="abcdefgh ", min_size=1, max_size=30).filter(lambda s: s.strip())
ids = st.from_regex(r"[A-Z]{3}-[0-9]{3,7}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(ids, words, words, st.integers(0, 10**9)), min_size=1, max_size=6),
    width=st.integers(30, 120),
)
def test_ids_and_numbers_are_whole_on_one_line_at_any_width(
    rows: list[tuple[str, str, str, int]], width: int
) -> None:
    """Whatever the width and text, each id and number appears whole on its row's line."""
    data = [{"id": i, "name": a, "note": b, "n": f"{n:,}"} for i, a, b, n in rows]
    columns = [
        Column("id", kind="id"),
        Column("name"),
        Column("note", kind="prose", priority=1),
        Column("n", kind="number"),
    ]
    lines = draw(fit_table(data, columns, width=width), width)
    for r in data:
        assert any(r["id"] in ln and r["n"] in ln for ln in lines), (r, lines)
    # When id, number and the narrowest name fit (3 columns spend 10 on padding and rules),
    # the table fits too.
    id_w = max(len(r["id"]) for r in data)
    name_w = min(max(4, *(len(r["name"]) for r in data)), 10)
    n_w = max(len(r["n"]) for r in data)
    if id_w + name_w + n_w + 10 <= width:
        assert max(cell_len(ln) for ln in lines) <= width
