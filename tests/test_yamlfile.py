"""The strict YAML loader: safe parsing, repeated keys, tags, encodings, models, definitions."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from cstool.errors import InputError
from cstool.yamlfile import (
    KeyProblem,
    line_of,
    load_definition_files,
    load_definitions,
    load_mapping,
    load_model,
    parse,
    read_text,
    validate,
)

_DATE_HINT = (
    "write a real date as YYYY-MM-DD (month 01-12, a day that month has), "
    "or quote the value if it is not meant as a date"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Task(Strict):
    title: str
    due_in: int = Field(default=1, ge=0)


class Play(Strict):
    name: str
    priority: str = "medium"
    tasks: list[Task] = Field(default_factory=list)
    when: str = "true"

    @field_validator("priority")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in ("low", "medium", "high"):
            raise ValueError(f"{v!r} is not a priority; use low, medium or high")
        return v

    @field_validator("when")
    @classmethod
    def _known_names(cls, v: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("known", {"true"})
        for word in v.split():
            if word not in known:
                raise KeyProblem((), f"unknown variable {word!r}", "see the variables")
        return v


def _file(tmp_path: Path, text: str | bytes, name: str = "play.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _load_error(path: Path, model: type[BaseModel] = Play) -> InputError:
    with pytest.raises(InputError) as e:
        load_model(path, model)
    assert e.value.exit_code == 1
    return e.value


def test_a_valid_file_loads_into_the_model(tmp_path: Path) -> None:
    """A good file becomes the model with every value in place."""
    path = _file(tmp_path, "name: p\npriority: high\ntasks:\n  - {title: Call, due_in: 2}\n")
    play = load_model(path, Play)
    assert play == Play(name="p", priority="high", tasks=[Task(title="Call", due_in=2)])


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        (
            "name: p\npriority: high\npriority: low\n",
            "play.yaml: line 3: not valid YAML: the key 'priority' is given twice",
            "fix the YAML syntax (indentation, colons, quotes)",
        ),
        (
            "name: p\ntasks:\n  - title: a\n    title: b\n",
            "play.yaml: line 4: not valid YAML: the key 'title' is given twice",
            "fix the YAML syntax (indentation, colons, quotes)",
        ),
        (
            "name: !!python/object/apply:os.system [echo hi]\n",
            "play.yaml: line 1: not valid YAML: "
            "YAML tags such as !!python/object/apply:os.system are not allowed",
            "remove the tag: values are plain text, numbers, lists and mappings",
        ),
        (
            "name: p\nwhen: !!python/name:os.system\n",
            "play.yaml: line 2: not valid YAML: "
            "YAML tags such as !!python/name:os.system are not allowed",
            "remove the tag: values are plain text, numbers, lists and mappings",
        ),
        (
            "name: p\ntasks: !!set {a, b}\n",
            "play.yaml: line 2: not valid YAML: YAML tags such as !!set are not allowed",
            "remove the tag: values are plain text, numbers, lists and mappings",
        ),
        (
            "name: !custom p\n",
            "play.yaml: line 1: not valid YAML: YAML tags such as !custom are not allowed",
            "remove the tag: values are plain text, numbers, lists and mappings",
        ),
        (
            "name: p\n  priority: high\n",
            "play.yaml: line 2: not valid YAML: mapping values are not allowed here",
            "fix the YAML syntax (indentation, colons, quotes)",
        ),
        (
            "name: p\nwhen: \x07\n",
            "play.yaml: line 2: not valid YAML: the control character U+0007 is not allowed",
            "remove control characters from the file",
        ),
        (  # an impossible date is located by its key path, with a date hint
            "name: p\nwhen: 2026-02-30\n",
            "play.yaml: line 2: when: "
            "2026-02-30 is not a valid date (day is out of range for month)",
            _DATE_HINT,
        ),
        (
            "name: p\nholidays:\n  - 2026-12-25\n  - 2026-13-01\n",
            "play.yaml: line 4: holidays.1: "
            "2026-13-01 is not a valid date (month must be in 1..12)",
            _DATE_HINT,
        ),
        (
            "name: p\ntasks:\n  - title: a\n    on: {start: 2026-04-31}\n",
            "play.yaml: line 4: tasks.0.on.start: "
            "2026-04-31 is not a valid date (day is out of range for month)",
            _DATE_HINT,
        ),
        (
            "name: *nothing\n",
            "play.yaml: line 1: not valid YAML: found undefined alias 'nothing'",
            "fix the YAML syntax (indentation, colons, quotes)",
        ),
        (
            "? [a, b]\n: 1\n",
            "play.yaml: line 1: not valid YAML: found unhashable key",
            "fix the YAML syntax (indentation, colons, quotes)",
        ),
        (
            "- name: p\n",
            "play.yaml: line 1: the top level must be a mapping of settings",
            "start from one of the files cstool ships, which lists every key",
        ),
        (
            "name: p\nprioritty: high\n",
            "play.yaml: line 2: prioritty: unknown key",
            "fix the key in play.yaml (did you mean priority?)",
        ),
        (
            "name: p\ntasks:\n  - title: a\n  - title: b\n    bogus: 1\n",
            "play.yaml: line 5: tasks.1.bogus: unknown key",
            "fix the key in play.yaml",
        ),
        (
            "priority: low\n",
            "play.yaml: name: required key is missing",
            "add the key in play.yaml",
        ),
        (
            "name: p\ntasks:\n  - title: a\n    due_in: soon\n",
            "play.yaml: line 4: tasks.0.due_in: "
            "Input should be a valid integer, unable to parse string as an integer",
            "fix the value in play.yaml",
        ),
        (
            "name: p\npriority: urgent\n",
            "play.yaml: line 2: priority: 'urgent' is not a priority; use low, medium or high",
            "fix the value in play.yaml",
        ),
        (
            "name: p\nwhen: true and maybe\n",
            "play.yaml: line 2: when: unknown variable 'and'",
            "see the variables",
        ),
    ],
)
def test_bad_files_are_refused_with_file_line_and_key_path(
    tmp_path: Path, text: str, message: str, hint: str
) -> None:
    """Each bad file is an InputError naming file, line and key path, with a fitting hint."""
    e = _load_error(_file(tmp_path, text))
    assert (str(e), e.hint) == (message, hint)


def test_a_tag_never_runs_code(tmp_path: Path) -> None:
    """A python/object tag is refused before anything is constructed."""
    marker = tmp_path / "ran"
    path = _file(
        tmp_path,
        f"name: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path "
        f"['{marker}']]\n",
    )
    _load_error(path)
    assert not marker.exists()


def test_every_problem_is_listed(tmp_path: Path) -> None:
    """Several problems are all listed in file order; the first in the file is the message."""
    e = _load_error(_file(tmp_path, "name: p\nbogus: 1\npriority: urgent\ntasks: [{}]\n"))
    assert str(e) == "play.yaml: line 2: bogus: unknown key"
    assert [str(p) for p in e.problems] == [
        "play.yaml: line 2: bogus: unknown key",
        "play.yaml: line 3: priority: 'urgent' is not a priority; use low, medium or high",
        "play.yaml: line 4: tasks.0.title: required key is missing",
    ]


def test_a_key_problem_names_the_key_below_the_field(tmp_path: Path) -> None:
    """A validator's KeyProblem path is appended to the field's path and located."""

    class Exports(Strict):
        exports: dict[str, dict[str, str]] = Field(default_factory=dict)

        @field_validator("exports")
        @classmethod
        def _kinds(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
            for kind in v:
                if kind != "accounts":
                    raise KeyProblem((kind,), "unknown export kind", "use accounts")
            return v

    e = _load_error(_file(tmp_path, "exports:\n  accounts: {}\n  acounts: {}\n"), Exports)
    assert (str(e), e.hint) == (
        "play.yaml: line 3: exports.acounts: unknown export kind",
        ("use accounts"),
    )


def test_context_reaches_the_validators(tmp_path: Path) -> None:
    """Validation context (e.g. the variables known now) is passed to field validators."""
    path = _file(tmp_path, "name: p\nwhen: segment\n")
    assert load_model(path, Play, context={"known": {"segment"}}).when == "segment"
    _load_error(path)


def test_reference_is_added_to_the_hint(tmp_path: Path) -> None:
    """The caller's reference (where keys are documented) follows the hint."""
    with pytest.raises(InputError) as e:
        load_model(_file(tmp_path, "nme: p\n"), Play, reference="see `cstool playbooks show`")
    assert (
        e.value.hint == "fix the key in play.yaml (did you mean name?); see `cstool playbooks show`"
    )


def test_validate_without_text_has_no_line() -> None:
    """Data that did not come from a file is reported with the name alone."""
    with pytest.raises(InputError) as e:
        validate({"name": "p", "bogus": 1}, Play, "flags")
    assert str(e.value) == "flags: bogus: unknown key"


def test_an_empty_file_is_an_empty_mapping(tmp_path: Path) -> None:
    """An empty file (or only comments) reads as {} and is validated as such."""
    assert load_mapping(_file(tmp_path, "# nothing\n")) == ({}, "# nothing\n")
    assert str(_load_error(_file(tmp_path, ""))) == "play.yaml: name: required key is missing"


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 byte order mark (as Windows editors write) is not part of the first key."""
    path = _file(tmp_path, "\ufeffname: p\n".encode())
    assert load_model(path, Play).name == "p"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "name: p\nwhen: café\n".encode("cp1252"),
            "play.yaml: line 2: not UTF-8 text: byte 0xE9 at column 10 cannot be decoded",
        ),
        (
            "name: Zoë\n".encode("latin-1"),
            "play.yaml: line 1: not UTF-8 text: byte 0xEB at column 9 cannot be decoded",
        ),
        (
            "name: p\n".encode("utf-16"),
            "play.yaml: line 1: not UTF-8 text: byte 0xFF at column 1 cannot be decoded",
        ),
    ],
)
def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    """Text in another encoding is an InputError naming file and line, with a hint."""
    e = _load_error(_file(tmp_path, content))
    assert str(e) == message
    assert "save the file as UTF-8" in (e.hint or "")


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    """A folder where a file is expected says so."""
    (tmp_path / "play.yaml").mkdir()
    e = _load_error(tmp_path / "play.yaml")
    assert str(e) == "play.yaml is a folder, not a file"


def test_a_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is named."""
    assert str(_load_error(tmp_path / "nope.yaml")) == "nope.yaml: no such file"


def test_read_text_names_the_file_as_asked(tmp_path: Path) -> None:
    """The name shown in messages can differ from the file name (e.g. folder/file)."""
    with pytest.raises(InputError) as e:
        read_text(_file(tmp_path, b"\xff"), name="playbooks/play.yaml")
    assert str(e.value).startswith("playbooks/play.yaml: line 1: not UTF-8 text")


# ---- definitions -------------------------------------------------------------------------------


def test_definitions_load_sorted_by_file_name(tmp_path: Path) -> None:
    """One definition per .yaml/.yml file, sorted by file name; other and hidden files skipped."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    _file(folder, "name: zeta\n", "a.yaml")
    _file(folder, "name: alpha\n", "c.yml")
    _file(folder, "name: mid\n", "b.yaml")
    _file(folder, "name: hidden\n", ".x.yaml")
    _file(folder, "not yaml at all: [", "notes.txt")
    (folder / "sub.yaml").mkdir()
    assert [p.name for p in load_definitions(folder, Play)] == ["zeta", "mid", "alpha"]
    loaded = load_definition_files(folder, Play)
    assert [d.name for d in loaded] == ["playbooks/a.yaml", "playbooks/b.yaml", "playbooks/c.yml"]
    assert str(loaded[0].location("name")) == "playbooks/a.yaml: line 1"


@pytest.mark.parametrize("create", [True, False])
def test_an_empty_or_missing_folder_has_no_definitions(tmp_path: Path, create: bool) -> None:
    """No files (or no folder at all) is an empty list, not an error."""
    if create:
        (tmp_path / "journeys").mkdir()
    assert load_definitions(tmp_path / "journeys", Play) == []


def test_a_name_used_twice_names_both_files(tmp_path: Path) -> None:
    """Two files defining the same name are refused, naming both files and the line."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    _file(folder, "name: renewal\n", "a.yaml")
    _file(folder, "# copy\npriority: high\nname: renewal\n", "b.yaml")
    with pytest.raises(InputError) as e:
        load_definitions(folder, Play)
    assert str(e.value) == (
        "playbooks/b.yaml: line 3: name: 'renewal' is already the name of playbooks/a.yaml"
    )
    assert "playbooks/a.yaml" in (e.value.hint or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- name: p\n", "playbooks/p.yaml: line 1: the top level must be a mapping of keys of one "
         "definition"),
        ("", "playbooks/p.yaml: line 1: the file is empty; it must hold a mapping of keys of one "
         "definition"),
        ("just text\n", "playbooks/p.yaml: line 1: the top level must be a mapping of keys of one "
         "definition"),
        ("name: p\nbogus: 1\n", "playbooks/p.yaml: line 2: bogus: unknown key"),
    ],
)  # fmt: skip
def test_a_bad_definition_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    """A definition file that is not one valid mapping is refused with its folder/file name."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    _file(folder, "name: ok\n", "a.yaml")
    _file(folder, text, "p.yaml")
    with pytest.raises(InputError) as e:
        load_definitions(folder, Play)
    assert str(e.value) == message


def test_a_file_given_as_the_folder(tmp_path: Path) -> None:
    """A file where a folder of definitions is expected says so."""
    with pytest.raises(InputError) as e:
        load_definitions(_file(tmp_path, "name: p\n", "playbooks"), Play)
    assert str(e.value) == "playbooks is a file, not a folder"


def test_a_model_without_a_name_is_a_programming_error(tmp_path: Path) -> None:
    """Definitions need a name field to be told apart."""
    with pytest.raises(TypeError):
        load_definitions(tmp_path, Task)


# ---- properties --------------------------------------------------------------------------------

_keys = st.text(alphabet=string.ascii_letters + string.digits + "_- ", min_size=1, max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    # U+0085 is left out: PyYAML's emitter writes it raw with allow_unicode, and every YAML
    # reader (yaml.safe_load too) then takes it for a line break.
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85"), max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_any_safe_dumped_mapping_round_trips(data: dict[str, Any]) -> None:
    """Whatever yaml.safe_dump writes, the strict parser reads back unchanged."""
    for flow in (False, True):
        assert parse(yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True), "x") == data


_ident = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@st.composite
def _tree_and_path(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[str | int, ...]]:
    tree = draw(
        st.recursive(
            st.dictionaries(_ident, st.integers() | _ident, min_size=1, max_size=3),
            lambda inner: st.dictionaries(
                _ident, inner | st.lists(inner, min_size=1, max_size=3), min_size=1, max_size=3
            ),
            max_leaves=12,
        )
    )
    path: list[str | int] = []
    node: Any = tree
    while isinstance(node, dict | list) and node:
        if isinstance(node, dict):
            key = draw(st.sampled_from(sorted(node)))
        else:
            key = draw(st.integers(0, len(node) - 1))
        path.append(key)
        node = node[key]
        if draw(st.booleans()):
            break
    return tree, tuple(path)


@settings(max_examples=300, deadline=None)
@given(_tree_and_path())
def test_line_of_points_at_the_key(case: tuple[dict[str, Any], tuple[str | int, ...]]) -> None:
    """The line found for a key path holds that key (or, for a list item, its dash)."""
    tree, path = case
    text = yaml.safe_dump(tree, sort_keys=False)
    line = line_of(text, path)
    assert line is not None
    shown = text.splitlines()[line - 1].strip()
    last = path[-1]
    if isinstance(last, str):
        assert shown.lstrip("- ").startswith((f"{last}:", f"'{last}':"))
    else:
        assert shown.startswith("-")
