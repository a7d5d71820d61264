"""Reading CSV exports: the one home of CSV parsing.

Reading happens in passes so that the common case is fast and the error case is precise:

1. :func:`prescan` streams the raw bytes once: SHA-256 for the load manifest, NUL bytes, and
   whether the bytes decode in the declared encoding (with the line, character and byte of the
   first bad one). It picks the codec that reads the text: a byte order mark is dropped, and
   decides the byte order of UTF-16 and UTF-32, which the batch reader first transcodes to a
   temporary UTF-8 copy.
2. :func:`read_header` parses the header record with Python's csv module.
3. :class:`BatchReader` streams the records with Arrow's CSV reader, every cell as text (no type
   guessing), in bounded batches, so memory stays flat whatever the file size.
4. Only when something is wrong, :func:`record_lines` re-reads the file with Python's csv
   module to turn record numbers into physical line numbers (they differ when quoted fields
   hold newlines).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cstool.errors import InputError, Location

# Exports carry long notes and bodies; Python's csv module stops at 128 KB a field by default.
csv.field_size_limit(1 << 30)

CHUNK = 1 << 20
BATCH_BYTES = 4 << 20


# Delimiters by name, for the places where the character itself is awkward to write: a tab
# in YAML or on a command line.
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}


def delimiter_of(value: str) -> str:
    """The delimiter that ``value`` names: one character, or tab, \\t, semicolon, ... .

    Raises ValueError, with the reason, for anything else.
    """
    char = DELIMITER_NAMES.get(value.lower(), value)
    if len(char) != 1 or char in '"\r\n' or char.isalnum():
        raise ValueError(
            f"{value!r} cannot separate fields: use one character such as ',' or ';', or tab"
        )
    return char


def delimiter_name(char: str) -> str:
    """How to write a delimiter in cstool.yaml or on the command line (tab by its name)."""
    return "tab" if char == "\t" else char


@dataclass(frozen=True)
class Prescan:
    """Facts about a file's raw bytes, and the codec that reads its text (BOM dropped)."""

    sha256: str
    size: int
    encoding: str


# Unicode encodings whose files may start with a byte order mark, by family: the codec that
# reads the text and drops the mark, and the marks with the byte order each one stands for.
_FAMILIES: dict[str, tuple[str, tuple[tuple[bytes, str], ...]]] = {
    "utf-8": ("utf-8-sig", ((codecs.BOM_UTF8, "utf-8"),)),
    "utf-16": ("utf-16", ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))),
    "utf-32": ("utf-32", ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"))),
}


def codec_name(encoding: str) -> str:
    """Python's name for ``encoding``; an unknown one is an input error."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(
            f"unknown encoding {encoding!r}",
            hint="use a Python codec name such as cp1252",
        ) from None


@dataclass(frozen=True)
class _Codecs:
    """How a file is decoded: ``read`` for its text, ``scan`` for its bytes after the BOM."""

    read: str
    scan: str
    bom: int


def _codecs(encoding: str, head: bytes, name: str) -> _Codecs:
    """The codecs for a file that starts with ``head``, in the declared ``encoding``.

    A byte order mark decides the byte order of UTF-16 and UTF-32; without one, the order is
    read from where the NUL bytes of the first (ASCII) character fall.
    """
    codec = codec_name(encoding)
    family = codec.removesuffix("-sig").removesuffix("-le").removesuffix("-be")
    if family not in ("utf-16", "utf-32"):
        for other in ("utf-32", "utf-16"):
            if head.startswith(tuple(mark for mark, _ in _FAMILIES[other][1])):
                raise InputError(
                    f"the file starts with a {other.upper()} byte order mark, so it is not "
                    f"{encoding} text",
                    location=Location(name, line=1),
                    hint=f"pass --encoding {other}",
                )
    if family not in _FAMILIES:
        return _Codecs(codec, codec, 0)
    read, marks = _FAMILIES[family]
    # UTF-32's little-endian mark starts like UTF-16's: the longer marks are tried first.
    for mark, order in marks:
        if head.startswith(mark):
            if codec.endswith(("-le", "-be")) and codec != order:
                raise InputError(
                    f"the file's byte order mark says {order}, not {encoding}",
                    location=Location(name, line=1),
                    hint=f"pass --encoding {family}, which follows the mark",
                )
            return _Codecs(read, order, len(mark))
    if family == "utf-8":
        return _Codecs(read, "utf-8", 0)
    # Without a mark, the first character (ASCII in a header) tells the byte order: its
    # NUL bytes come first in big-endian text.
    width = 2 if family == "utf-16" else 4
    big = len(head) >= width and head[0] == 0 and head[width - 1] != 0
    order = f"{family}-{'be' if big else 'le'}"
    if codec.endswith(("-le", "-be")) and codec != order and len(head) >= width:
        little = head[0] != 0 and head[width - 1] == 0
        if big or little:
            raise InputError(
                f"the file looks like {order} text (by where the NUL bytes of its first "
                f"character fall), not {encoding}",
                location=Location(name, line=1),
                hint=f"pass --encoding {order}",
            )
        order = codec
    return _Codecs(order, order, 0)


def _ascii_compatible(codec: str) -> bool:
    """Whether line ends, quotes and NULs are single ASCII bytes in ``codec``'s bytes."""
    return '\n\r",\x00'.encode(codec) == b'\n\r",\x00'


def _open(path: Path) -> io.BufferedReader:
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.csv"))
        raise InputError(
            f"{path} is a folder, not a file",
            hint=f"pass one of the CSV files in it: {', '.join(inside[:6])}"
            + (", ..." if len(inside) > 6 else "")
            if inside
            else "pass the path of the CSV file itself",
        )
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", hint="check the path") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}", hint="check permissions") from None


def prescan(
    path: Path,
    encoding: str,
    progress: Callable[[int], None] | None = None,
    *,
    delimiter: str = ",",
) -> Prescan:
    """Hash the file, reject NUL bytes and undecodable bytes, each with their line."""
    digest = hashlib.sha256()
    size = 0
    lines_before = 0
    quotes = 0
    name = path.name
    with _open(path) as f:
        head = f.peek(4)[:4]
        how = _codecs(encoding, head, name)
        as_bytes = _ascii_compatible(how.scan)
        decoder = codecs.getincrementaldecoder(how.scan)()
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if as_bytes and (nul := chunk.find(b"\x00")) >= 0:
                line = lines_before + chunk.count(b"\n", 0, nul) + 1
                raise _nul(name, line, how, head)
            skip = max(how.bom - size, 0)
            pending = decoder.getstate()[0]
            try:
                text = decoder.decode(chunk[skip:] if skip else chunk)
            except UnicodeDecodeError as e:
                # The error's offsets count the bytes the decoder held back from the chunk
                # before, and not the byte order mark it was never given.
                data = pending + chunk[skip:]
                at = size + skip + e.start - len(pending)
                raise _undecodable(path, how, encoding, at, data[e.start : e.end]) from None
            if as_bytes:
                lines_before += chunk.count(b"\n")
                quotes += chunk.count(b'"')
            else:
                if (nul := text.find("\x00")) >= 0:
                    raise _nul(name, lines_before + text.count("\n", 0, nul) + 1, how, head)
                lines_before += text.count("\n")
                quotes += text.count('"')
            size += len(chunk)
            if progress:
                progress(len(chunk))
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(
                f"the file ends in the middle of a {encoding} character",
                location=Location(name, line=lines_before + 1),
                hint="the file may be truncated; export it again",
            ) from None
    if size == 0:
        raise InputError(
            "the file is empty", location=Location(name), hint="export it again with its rows"
        )
    if quotes % 2:
        # An odd number of quotes is rare in a sound file (a stray quote inside an unquoted
        # field, as in 5" screen). The reader would silently take the rest of the file into
        # an unclosed quoted field, so only then is the file scanned for one.
        _check_quotes(path, how.read, delimiter)
    return Prescan(digest.hexdigest(), size, how.read)


def _undecodable(path: Path, how: _Codecs, encoding: str, at: int, bad: bytes) -> InputError:
    """The error for bytes at file offset ``at`` that do not decode, with their position.

    Only on this error path, the text before them is decoded again to find their line and
    character: the bytes before the first bad one are known to decode.
    """
    lines, column = 0, 0
    decoder = codecs.getincrementaldecoder(how.scan)()
    with path.open("rb") as f:
        f.seek(how.bom)
        left = at - how.bom
        while left > 0 and (chunk := f.read(min(CHUNK, left))):
            left -= len(chunk)
            text = decoder.decode(chunk)
            lines += text.count("\n")
            nl = text.rfind("\n")
            column = len(text) - nl - 1 if nl >= 0 else column + len(text)
    if how.scan.startswith(("utf-16", "utf-32")):
        hint = "the file may be in another encoding or byte order: pass the real one, e.g. "
        hint += "--encoding utf-16-be" if how.scan.endswith("-le") else "--encoding utf-16-le"
    else:
        hint = "pass --encoding with the file's real encoding, e.g. --encoding cp1252"
    return InputError(
        f"bytes that are not valid {encoding} ({bad!r}) at character {column + 1} of the line "
        f"(byte {at + 1:,} of the file)",
        location=Location(path.name, line=lines + 1),
        hint=hint,
    )


def _nul(name: str, line: int, how: _Codecs, head: bytes) -> InputError:
    """The error for a NUL in the text, with a hint that fits the declared encoding."""
    if how.scan.startswith(("utf-16", "utf-32")):
        return InputError(
            "the file contains a NUL character, so it is not a text CSV",
            location=Location(name, line=line),
            hint="export the file again as CSV text",
        )
    # UTF-16 text in ASCII has a NUL byte beside every character.
    utf16 = len(head) >= 4 and (head[1] == head[3] == 0) != (head[0] == head[2] == 0)
    return InputError(
        "the file contains a NUL byte, so it is not a text CSV"
        + (" (it looks like UTF-16 text)" if utf16 else ""),
        location=Location(name, line=line),
        hint="pass --encoding utf-16"
        if utf16
        else "export the file again as CSV text, or pass --encoding utf-16 if it is UTF-16",
    )


def _quoted(delimiter: str) -> re.Pattern[str]:
    """A quoted field: a quote at the start of a field, then anything but a lone quote, then
    the closing quote, or the end of the file when it is never closed."""
    return re.compile(f'(?:^|(?<=[{re.escape(delimiter)}\\r\\n]))"[^"]*(?:""[^"]*)*("?)')


def _check_quotes(path: Path, encoding: str, delimiter: str = ",") -> None:
    """Reject a file that ends inside a quoted field, naming the line where the field opens."""
    with path.open(encoding=encoding, newline="") as f:
        text = f.read()
    unclosed = None
    for m in _quoted(delimiter).finditer(text):
        if not m.group(1):
            unclosed = m
    if unclosed is not None:
        raise InputError(
            "a quoted field that starts on this line is never closed",
            location=Location(path.name, line=text.count("\n", 0, unclosed.start()) + 1),
            hint='add the missing closing quote ("); if the file is cut short, export it again',
        )


def read_header(path: Path, encoding: str, delimiter: str = ",") -> list[str]:
    """The header record's fields, exactly as written (a BOM is not part of the first name)."""
    with path.open(encoding=encoding, newline="") as f:
        try:
            return next(csv.reader(f, delimiter=delimiter))
        except StopIteration:
            raise InputError(
                "the file is empty", location=Location(path.name), hint="export it again"
            ) from None
        except csv.Error as e:
            raise InputError(
                f"the header cannot be parsed: {e}",
                location=Location(path.name, line=1),
                hint="check the quoting of the first line",
            ) from None


@dataclass
class BadRecord:
    """A record with the wrong number of fields, skipped by the reader."""

    record: int
    expected: int
    actual: int
    text: str


@dataclass
class Batch:
    """A block of records, each cell text, and the record number of each row."""

    columns: list[Any]  # pyarrow string arrays, one per header field
    records: Any  # numpy int64 array: 1-based record number (header is record 0)
    bytes_done: int


@dataclass
class BatchReader:
    """Streams a CSV's records in batches of text columns.

    Arrow is handed only a native file: its own I/O threads read ahead, and a Python file
    object lent to them would be read, and released, under the GIL from those threads, even
    after the reader is gone. Should that happen while the interpreter shuts down, the thread
    cannot take the GIL and the process aborts ("terminate called without an active
    exception"). A UTF-8 file is read in place; any other encoding is first transcoded to a
    temporary UTF-8 copy, removed when the iteration ends, however it ends.
    """

    path: Path
    encoding: str
    width: int
    delimiter: str = ","
    bad: list[BadRecord] = field(default_factory=list)

    def __iter__(self) -> Generator[Batch, None, None]:
        import pyarrow as pa

        codec = codecs.lookup(self.encoding).name
        # Arrow drops a UTF-8 byte order mark itself.
        with contextlib.ExitStack() as stack:
            if codec in ("utf-8", "utf-8-sig"):
                source = self.path
            else:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="cstool-"))
                source = Path(folder) / "utf8.csv"
                _transcode(self.path, codec, source)
            native = stack.enter_context(pa.OSFile(str(source), "rb"))
            # Progress is in the export's own bytes, whatever the copy's size.
            scale = self.path.stat().st_size / max(source.stat().st_size, 1)
            try:
                for columns, recs in self._batches(native):
                    yield Batch(columns, recs, round(native.tell() * scale))
            except pa.ArrowInvalid as e:
                raise InputError(
                    f"the file cannot be read as CSV: {str(e).splitlines()[0]}",
                    location=Location(self.path.name),
                    hint="a field may be larger than 4 MB or hold an unbalanced quote; "
                    "export the file again",
                ) from None

    def _on_invalid(self, row: Any) -> str:
        """Arrow's invalid-row handler: remember a record with the wrong field count, skip it."""
        # row.number counts the header as record 1 when known.
        num = int(row.number) - 1 if row.number is not None else -1
        self.bad.append(BadRecord(num, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    def _batches(self, native: Any) -> Iterator[tuple[list[Any], Any]]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.csv as pacsv

        names = [f"c{i}" for i in range(self.width)]
        reader = pacsv.open_csv(
            native,
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=1,
                block_size=BATCH_BYTES,
                encoding="utf8",
                use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter,
                newlines_in_values=True,
                invalid_row_handler=self._on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        seen = 0
        for rb in reader:
            n = rb.num_rows
            # Record numbers of this batch's rows: the next n records that were not skipped.
            # Arrow parses ahead, so bad records of later blocks may already be known here;
            # every bad record of this block is known once the block is handed out.
            skipped = np.array([b.record for b in self.bad], dtype=np.int64)
            skipped = skipped[skipped > seen]
            candidates = np.arange(seen + 1, seen + n + len(skipped) + 1, dtype=np.int64)
            recs = candidates[~np.isin(candidates, skipped)][:n]
            if n:
                seen = int(recs[-1])
            yield list(rb.columns), recs


def _transcode(path: Path, codec: str, target: Path) -> None:
    """Write ``path``'s text, in ``codec``, to ``target`` as UTF-8, a block at a time."""
    decoder = codecs.getincrementaldecoder(codec)()
    with path.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(CHUNK):
            out.write(decoder.decode(chunk).encode("utf-8"))
        out.write(decoder.decode(b"", True).encode("utf-8"))


def iter_records(
    path: Path, encoding: str, delimiter: str = ","
) -> Iterator[tuple[int, int, list[str]]]:
    """(record, line it starts on, fields) of every record; the header is record 0.

    Blank lines are not records, as for the batch reader, so record numbers agree.
    """
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        start = 1
        rec = 0
        for fields in reader:
            if fields:
                yield rec, start, fields
                rec += 1
            start = reader.line_num + 1


def record_lines(
    path: Path, encoding: str, records: Iterable[int], delimiter: str = ","
) -> dict[int, int]:
    """Physical line on which each wanted record starts (record 1 is the first data row)."""
    wanted = set(records)
    out: dict[int, int] = {}
    if not wanted:
        return out
    last = max(wanted)
    for rec, line, _ in iter_records(path, encoding, delimiter):
        if rec in wanted:
            out[rec] = line
        if rec >= last:
            break
    return out


def new_file_mode(path: Path) -> int:
    """The permissions a plain ``open(path, "w")`` would leave: an existing file keeps its own,
    a new one gets ``0o666`` less the umask (a temporary file from ``mkstemp`` is ``0o600``)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_file(path: Path, binary: bool = False) -> Iterator[Any]:
    """Open a temporary file beside ``path`` for writing; on success it takes the mode
    :func:`new_file_mode` gives and is renamed over ``path``, so readers never see half a
    file. The one atomic writer: CSV and text below, the reports' files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, new_file_mode(path))
        if binary:
            with os.fdopen(fd, "wb") as f:
                yield f
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv_atomic(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write a CSV file via a temporary file and a rename, so readers never see half a file."""
    with atomic_file(path) as f:
        _write_rows(f, header, rows)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file via a temporary file and a rename."""
    with atomic_file(path) as f:
        f.write(text)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a binary file via a temporary file and a rename."""
    with atomic_file(path, binary=True) as f:
        f.write(data)


def amount(value: float | None) -> int | float | None:
    """A money amount as the CSV and JSON outputs carry it: a whole number as an int
    (``100000``, not ``100000.0``), anything else rounded to cents."""
    if value is None:
        return None
    cents = round(float(value), 2)
    return int(cents) if cents.is_integer() else cents


def to_csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """Rows as CSV text with '\\n' line ends (for --format csv)."""
    buf = io.StringIO()
    _write_rows(buf, header, rows)
    return buf.getvalue()


def _write_rows(f: Any, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write CSV with '\n' line ends, quoting every field that holds a line break.

    With lineterminator '\n', Python 3.11's csv module quotes a field holding '\n' but not
    one holding a lone '\r', which readers then take as the end of the record; such rows are
    written fully quoted.
    """
    plain = csv.writer(f, lineterminator="\n")
    quoted = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in itertools.chain([header], rows):
        values = list(row)
        cr = any(isinstance(v, str) and "\r" in v for v in values)
        (quoted if cr else plain).writerow(values)
