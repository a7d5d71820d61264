"""The Maildir outbox: Python's mailbox reads it, keys are safe names, writes are atomic."""

from __future__ import annotations

import csv
import mailbox
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cstool.errors import EnvironmentProblem
from cstool.mail import MaildirOutbox, check_key


def msg(n: int) -> bytes:
    """A small message numbered ``n``."""
    return f"Subject: message {n}\r\nMessage-ID: <k{n}@x.example>\r\n\r\nBody {n}\r\n".encode()


def test_python_mailbox_opens_it_and_lists_the_messages(tmp_path: Path) -> None:
    """mailbox.Maildir(create=False) opens the outbox and reads every message back exactly."""
    outbox = MaildirOutbox(tmp_path / "batch-1")
    keys = [f"b1.{n:05d}" for n in range(5)]
    for n, key in enumerate(keys):
        path = outbox.write(key, msg(n))
        assert path == tmp_path / "batch-1" / "new" / key
    assert sorted(os.listdir(tmp_path / "batch-1")) == ["cur", "new", "tmp"]
    md = mailbox.Maildir(tmp_path / "batch-1", factory=None, create=False)
    assert sorted(md.keys()) == keys
    assert [md.get_bytes(k) for k in keys] == [msg(n) for n in range(5)]
    assert md[keys[2]]["Subject"] == "message 2"
    assert os.listdir(tmp_path / "batch-1" / "tmp") == []
    assert outbox.published() == set(keys)


def test_staged_messages_are_invisible_until_published(tmp_path: Path) -> None:
    """A staged message sits in tmp/, unseen by readers, until publish renames it into new/."""
    outbox = MaildirOutbox(tmp_path / "b")
    outbox.stage("k1", msg(1))
    outbox.stage("k2", msg(2))
    md = mailbox.Maildir(tmp_path / "b", factory=None, create=False)
    assert md.keys() == []
    assert outbox.staged() == {"k1", "k2"}
    assert outbox.published() == set()
    outbox.publish("k1")
    outbox.discard("k2")
    outbox.discard("never-staged")
    assert outbox.staged() == set()
    assert outbox.published() == {"k1"}
    md = mailbox.Maildir(tmp_path / "b", factory=None, create=False)
    assert md.keys() == ["k1"]


def test_rewriting_a_key_replaces_it(tmp_path: Path) -> None:
    """A re-run writing the same key leaves one file with the new bytes."""
    outbox = MaildirOutbox(tmp_path / "b")
    outbox.write("k1", b"old\r\n")
    outbox.stage("k1", b"a leftover of a killed run, longer than the message\r\n")
    outbox.write("k1", msg(1))
    assert os.listdir(tmp_path / "b" / "new") == ["k1"]
    assert (tmp_path / "b" / "new" / "k1").read_bytes() == msg(1)
    assert outbox.staged() == set()


def test_messages_a_reader_has_seen_still_count_as_published(tmp_path: Path) -> None:
    """A reader moves a seen message to cur/KEY:2,S; published() still reports its key."""
    outbox = MaildirOutbox(tmp_path / "b")
    outbox.write("k1", msg(1))
    outbox.write("k2", msg(2))
    os.rename(tmp_path / "b" / "new" / "k1", tmp_path / "b" / "cur" / "k1:2,S")
    assert outbox.published() == {"k1", "k2"}


def test_reopening_an_outbox_keeps_its_messages(tmp_path: Path) -> None:
    """Opening an existing outbox creates nothing new and loses nothing."""
    MaildirOutbox(tmp_path / "b").write("k1", msg(1))
    again = MaildirOutbox(tmp_path / "b", fsync=True)
    again.write("k2", msg(2))
    again.sync()
    assert again.published() == {"k1", "k2"}
    assert (tmp_path / "b" / "new" / "k2").read_bytes() == msg(2)


@pytest.mark.parametrize(
    "key",
    ["", ".hidden", "..", "../escape", "a/b", "a\\b", "k1:2,S", "a b", "é", "k\n", "x" * 201],
)
def test_bad_keys_are_refused_before_writing(tmp_path: Path, key: str) -> None:
    """A key that is not a plain file name is a bug: ValueError, and nothing is written."""
    outbox = MaildirOutbox(tmp_path / "b")
    with pytest.raises(ValueError, match="cannot name a message"):
        outbox.write(key, msg(1))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["b", "cur", "new", "tmp"]


@settings(max_examples=200, deadline=None)
@given(key=st.text(max_size=12))
def test_any_key_is_refused_or_stays_inside_new(key: str) -> None:
    """Whatever the key, the file is new/KEY inside the outbox, or nothing is written."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "b"
        outbox = MaildirOutbox(root)
        try:
            path = outbox.write(key, b"x\r\n")
        except ValueError:
            assert [p for p in Path(tmp).rglob("*") if p.is_file()] == []
            return
        assert path.parent == root / "new"
        assert path.name == key == check_key(key)
        assert [p for p in Path(tmp).rglob("*") if p.is_file()] == [path]


def test_write_failure_is_an_environment_problem(tmp_path: Path) -> None:
    """An OS error while writing names the file and suggests what to check."""
    outbox = MaildirOutbox(tmp_path / "b")
    (tmp_path / "b" / "tmp" / "k1").mkdir()  # the temporary name is taken by a folder
    with pytest.raises(EnvironmentProblem) as e:
        outbox.write("k1", msg(1))
    assert "tmp/k1" in str(e.value)
    assert e.value.exit_code == 3
    assert "free space" in (e.value.hint or "")
    assert outbox.published() == set()


def test_outbox_in_place_of_a_file_is_an_environment_problem(tmp_path: Path) -> None:
    """An outbox path that is a file cannot be opened."""
    (tmp_path / "b").write_text("not a folder")
    with pytest.raises(EnvironmentProblem, match="cannot write"):
        MaildirOutbox(tmp_path / "b")


def test_manifest_is_written_atomically_beside_the_messages(tmp_path: Path) -> None:
    """manifest.csv reads back as written, replaces an older one, and leaves no temp file."""
    outbox = MaildirOutbox(tmp_path / "b")
    outbox.write_manifest(["key", "status"], [["k1", "old"]])
    path = outbox.write_manifest(["key", "to", "status"], [["k1", "Zoë <z@x.example>", "sent"]])
    assert path == tmp_path / "b" / "manifest.csv"
    with path.open(newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [["key", "to", "status"], ["k1", "Zoë <z@x.example>", "sent"]]
    assert sorted(os.listdir(tmp_path / "b")) == ["cur", "manifest.csv", "new", "tmp"]
    md = mailbox.Maildir(tmp_path / "b", factory=None, create=False)
    assert md.keys() == []
