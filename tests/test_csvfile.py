"""The CSV home: prescan, writing CSV that reads back, and atomic writes."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cstool.csvfile
from cstool.csvfile import prescan, read_header, to_csv_text, write_csv_atomic
from cstool.errors import InputError

CELL = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
    st.sampled_from(["\r", "\n", "\r\n", "a\rb", '"', ",", " lead", "=1+1"]),
)
ROWS = st.lists(st.lists(CELL, min_size=2, max_size=2), max_size=6)


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@given(rows=ROWS)
def test_to_csv_text_reads_back(rows: list[list[str]]) -> None:
    """Any cells written by to_csv_text read back unchanged, a lone CR included."""
    assert _read(to_csv_text(["a", "b"], rows)) == [["a", "b"], *rows]


@given(rows=ROWS)
def test_write_csv_atomic_reads_back(rows: list[list[str]]) -> None:
    """write_csv_atomic writes a file that reads back unchanged and leaves no temp file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out" / "x.csv"
        write_csv_atomic(path, ["a", "b"], rows)
        with path.open(encoding="utf-8", newline="") as f:
            assert list(csv.reader(f)) == [["a", "b"], *rows]
        assert [p.name for p in path.parent.iterdir()] == ["x.csv"]


def test_to_csv_text_line_ends_and_none() -> None:
    """Output uses '\\n' line ends; None and numbers are written plainly."""
    assert to_csv_text(["k", "n"], [["x", 1], ["y", None]]) == "k,n\nx,1\ny,\n"


def test_prescan_hashes_the_bytes(tmp_path: Path) -> None:
    """prescan returns the file's SHA-256, size and the codec to read it with."""
    data = "\ufeffa,b\n1,2\n".encode()
    (tmp_path / "x.csv").write_bytes(data)
    scan = prescan(tmp_path / "x.csv", "utf-8")
    assert scan.sha256 == hashlib.sha256(data).hexdigest()
    assert (scan.size, scan.encoding) == (len(data), "utf-8-sig")


def test_prescan_reports_progress(tmp_path: Path) -> None:
    """prescan reports the bytes it has read."""
    (tmp_path / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    seen: list[int] = []
    prescan(tmp_path / "x.csv", "utf-8", seen.append)
    assert sum(seen) == 8


def test_prescan_accepts_a_stray_quote(tmp_path: Path) -> None:
    """A quote inside an unquoted field is text, not an unclosed field."""
    (tmp_path / "x.csv").write_text('a,b\n1,27" screen\n2,"ok"\n', encoding="utf-8")
    assert prescan(tmp_path / "x.csv", "utf-8").size == 24


def test_prescan_names_the_line_of_an_unclosed_quote(tmp_path: Path) -> None:
    """A field whose quote never closes is reported at the line it opens."""
    (tmp_path / "x.csv").write_text('a,b\r\n1,"ok\r\n"\r\n2,"open\r\n3,x\r\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        prescan(tmp_path / "x.csv", "utf-8")
    assert str(e.value) == "x.csv: line 4: a quoted field that starts on this line is never closed"


def test_unknown_encoding(tmp_path: Path) -> None:
    """An encoding Python does not know is an input error with a hint."""
    (tmp_path / "x.csv").write_text("a\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        prescan(tmp_path / "x.csv", "klingon")


def test_read_header_drops_the_bom(tmp_path: Path) -> None:
    """The header's first name does not carry the byte order mark."""
    (tmp_path / "x.csv").write_bytes(b'\xef\xbb\xbfaccount_id,"Name, full"\r\n1,2\r\n')
    assert read_header(tmp_path / "x.csv", "utf-8-sig") == ["account_id", "Name, full"]


# A bad byte sequence and the byte order mark of each encoding.
UNDECODABLE = {
    "utf-8": (b"\xff", codecs.BOM_UTF8),
    "utf-16": (b"\x00\xdc", codecs.BOM_UTF16_LE),
    "utf-16-le": (b"\x00\xdc", codecs.BOM_UTF16_LE),
    "utf-16-be": (b"\xdc\x00", codecs.BOM_UTF16_BE),
}
LINE = st.text(st.characters(codec="utf-8", exclude_characters="\x00\r\n"), max_size=12)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(LINE, min_size=1, max_size=6),
    data=st.data(),
    encoding=st.sampled_from(sorted(UNDECODABLE)),
    bom=st.booleans(),
    chunk=st.integers(min_value=1, max_value=40),
)
def test_undecodable_bytes_are_located_exactly(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lines: list[str],
    data: st.DataObject,
    encoding: str,
    bom: bool,
    chunk: int,
) -> None:
    """A bad byte is reported at its line, character and byte, whatever the chunk size and
    whether a byte order mark comes first."""
    monkeypatch.setattr(cstool.csvfile, "CHUNK", chunk)
    lines = ["a,b", *lines]  # an ASCII header, which tells the byte order of UTF-16
    line = data.draw(st.integers(min_value=1, max_value=len(lines) - 1))
    char = data.draw(st.integers(min_value=0, max_value=len(lines[line])))
    bad, mark = UNDECODABLE[encoding]
    codec = "utf-16-le" if encoding == "utf-16" else encoding
    before = "".join(f"{t}\n" for t in lines[:line]) + lines[line][:char]
    after = lines[line][char:] + "".join(f"\n{t}" for t in lines[line + 1 :]) + "\n"
    head = (mark if bom else b"") + before.encode(codec)
    path = tmp_path / "x.csv"
    path.write_bytes(head + bad + after.encode(codec))
    with pytest.raises(InputError) as e:
        prescan(path, encoding)
    assert str(e.value) == (
        f"x.csv: line {line + 1}: bytes that are not valid {encoding} ({bad!r}) at character "
        f"{char + 1} of the line (byte {len(head) + 1:,} of the file)"
    )


def test_prescan_reads_utf16_as_text(tmp_path: Path) -> None:
    """A UTF-16 file's NUL bytes are part of its characters; the codec drops the mark."""
    (tmp_path / "x.csv").write_bytes("a,b\n1,Zoë\n".encode("utf-16"))
    assert prescan(tmp_path / "x.csv", "utf-16").encoding == "utf-16"
    (tmp_path / "y.csv").write_bytes("a,b\n1,Zoë\n".encode("utf-16-be"))
    assert prescan(tmp_path / "y.csv", "utf-16").encoding == "utf-16-be"
    assert read_header(tmp_path / "y.csv", "utf-16-be") == ["a", "b"]


def test_prescan_finds_an_unclosed_quote_between_semicolons(tmp_path: Path) -> None:
    """With another delimiter, a quote opening a field after it is still found unclosed,
    and a stray quote inside a field is still text."""
    (tmp_path / "ok.csv").write_text('a;b\n1;27" screen\n2;"x;y"\n', encoding="utf-8")
    assert prescan(tmp_path / "ok.csv", "utf-8", delimiter=";").size == 25
    (tmp_path / "x.csv").write_text('a;b\n1;"ok"\n2;"open\n3;x\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        prescan(tmp_path / "x.csv", "utf-8", delimiter=";")
    assert str(e.value) == "x.csv: line 3: a quoted field that starts on this line is never closed"


# A reader closed while Arrow's I/O thread may still be reading ahead, then the interpreter
# exits at once.
_CLOSE_MID_READ = """
import sys
from pathlib import Path
import cstool.csvfile as c

c.BATCH_BYTES = 4096
reader = c.BatchReader(Path(sys.argv[1]), sys.argv[2], 2)
batches = iter(reader)
first = next(batches)
batches.close()
print(len(first.records))
"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_reader_closed_mid_read_exits_cleanly(tmp_path: Path, encoding: str) -> None:
    """Closing a reader early, then exiting at once, ends the process normally."""
    path = tmp_path / "big.csv"
    rows = "".join(f"A{i},Name {i}\n" for i in range(20_000))
    path.write_text("account_id,name\n" + rows, encoding=encoding)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-c", _CLOSE_MID_READ, str(path), encoding],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
        assert (result.returncode, result.stderr) == (0, "")
        assert 0 < int(result.stdout) < 20_000
    # The UTF-8 copy of a UTF-16 file is gone once the reader is closed.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_arrow_is_handed_only_native_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    """No Python object is lent to Arrow's I/O threads, which would read and release it
    under the GIL, possibly while the interpreter shuts down."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    real = pacsv.open_csv
    sources: list[object] = []

    def spy(source: object, **kwargs: object) -> object:
        sources.append(source)
        return real(source, **kwargs)

    monkeypatch.setattr(pacsv, "open_csv", spy)
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,Zoë\n2,x\n", encoding=encoding)
    reader = cstool.csvfile.BatchReader(path, encoding, 2)
    batches = list(reader)
    assert [c.to_pylist() for c in batches[0].columns] == [["1", "2"], ["Zoë", "x"]]
    assert batches[-1].bytes_done == path.stat().st_size
    assert len(sources) == 1 and isinstance(sources[0], pa.NativeFile)


def test_atomic_writes_take_the_mode_a_plain_open_would(tmp_path: Path) -> None:
    """New files get 0666 less the umask (not mkstemp's 0600); a replaced file keeps its mode."""
    from cstool.csvfile import write_bytes_atomic, write_csv_atomic, write_text_atomic

    old = os.umask(0o027)
    try:
        write_csv_atomic(tmp_path / "a.csv", ["x"], [[1]])
        write_text_atomic(tmp_path / "b.txt", "b")
        write_bytes_atomic(tmp_path / "c.bin", b"c")
        (tmp_path / "kept.txt").write_text("old")
        (tmp_path / "kept.txt").chmod(0o600)
        write_text_atomic(tmp_path / "kept.txt", "new")
    finally:
        os.umask(old)
    for name in ("a.csv", "b.txt", "c.bin"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640, name
    assert (tmp_path / "a.csv").read_text() == "x\n1\n"
    assert (tmp_path / "kept.txt").read_text() == "new"
    assert (tmp_path / "kept.txt").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.txt", "c.bin", "kept.txt"]
