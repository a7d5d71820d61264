"""The one strict YAML loader: ``cstool.yaml`` and every definition file go through it.

Loading is ``yaml.safe_load`` made stricter: a key given twice in one mapping and any explicit
YAML tag (``!!python/object``, ``!!binary``...) are refused, the text must be UTF-8, and the
data is validated into a pydantic model that forbids unknown keys. Every problem becomes an
:class:`~cstool.errors.InputError` that says ``file: line N: key.path: message`` with a hint.

Field validators of the models can raise :class:`KeyProblem` (or any ``ValueError`` with a
``hint`` attribute, and optionally a ``path`` below the field) to name a deeper key and give a
hint of their own. Validation context (``context=``) reaches the validators, e.g. the condition
variables known at validation time.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cstool.errors import InputError, Location, Problem

M = TypeVar("M", bound=BaseModel)

KeyPath = tuple[str | int, ...]

DEFINITION_SUFFIXES = (".yaml", ".yml")

_YAML_HINT = "fix the YAML syntax (indentation, colons, quotes)"
_STANDARD_TAG = "tag:yaml.org,2002:"


class KeyProblem(ValueError):
    """A validation problem found by a field validator, with a hint and the key path below it.

    ``path`` names the key under the validated field that is wrong (e.g. ``("accounts",
    "columns", "Account ID")`` under ``exports``); it is empty when the field itself is.
    """

    def __init__(self, path: KeyPath, message: str, hint: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.hint = hint


class KeyProblems(ValueError):
    """Several :class:`KeyProblem` s found by one field validator (e.g. one per list item),
    each reported on its own."""

    def __init__(self, problems: Sequence[KeyProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


class _BadDate(yaml.constructor.ConstructorError):
    """A value written like a date that is no date (2026-13-01): located by key path."""


def _key_path(text: str, index: int) -> KeyPath | None:
    """The key path of the value that starts at character ``index`` of YAML ``text``."""

    def walk(node: yaml.Node, path: KeyPath) -> KeyPath | None:
        if node.start_mark.index == index and isinstance(node, yaml.ScalarNode):
            return path
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                found = walk(v, (*path, k.value if isinstance(k, yaml.ScalarNode) else "?"))
                if found is not None:
                    return found
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                found = walk(v, (*path, i))
                if found is not None:
                    return found
        return None

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    return walk(root, ()) if root is not None else None


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses repeated keys and explicit tags."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        tag = getattr(event, "tag", None)
        # "!" is YAML's non-specific tag: it only says "a plain string", so it is harmless.
        if not isinstance(event, yaml.AliasEvent) and tag not in (None, "!"):
            shown = "!!" + tag[len(_STANDARD_TAG) :] if tag.startswith(_STANDARD_TAG) else tag
            raise yaml.constructor.ConstructorError(
                None, None, f"YAML tags such as {shown} are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        # An impossible date such as 2026-02-30 would escape as a bare ValueError.
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as e:
            raise _BadDate(
                None, None, f"{node.value} is not a valid date ({e})", node.start_mark
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _where(path: Path, name: str | None) -> str:
    return name if name is not None else path.name


def read_text(path: Path, *, name: str | None = None) -> str:
    """The text of a UTF-8 file (a leading BOM dropped); InputError when it cannot be read.

    ``name`` is how the file is named in messages (default: its file name).
    """
    shown = _where(path, name)
    if path.is_dir():
        raise InputError(
            f"{shown} is a folder, not a file", hint="give the path of a YAML file instead"
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{shown}: no such file", hint="check the path") from None
    except OSError as e:
        raise InputError(f"cannot read {shown}: {e.strerror}", hint="check the file") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(
            f"not UTF-8 text: byte 0x{raw[e.start]:02X} at column {column} cannot be decoded",
            location=Location(shown, line=line),
            hint="save the file as UTF-8 (most editors offer it under 'Save with encoding')",
        ) from None


def parse(text: str, name: str) -> Any:
    """Parse YAML text strictly (safe, no repeated keys, no tags); InputError with the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise InputError(
            f"not valid YAML: the control character U+{code:04X} is not allowed",
            location=Location(name, line=line),
            hint="remove control characters from the file",
        ) from None
    except _BadDate as e:
        mark = e.problem_mark
        path = _key_path(text, mark.index) if mark else None
        dotted = ".".join(str(p) for p in path) + ": " if path else ""
        raise InputError(
            f"{dotted}{e.problem}",
            location=Location(name, line=mark.line + 1 if mark else None),
            hint="write a real date as YYYY-MM-DD (month 01-12, a day that month has), "
            "or quote the value if it is not meant as a date",
        ) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        tagged = "YAML tags" in str(e.problem or "")
        raise InputError(
            f"not valid YAML: {e.problem or e}",
            location=Location(name, line=mark.line + 1 if mark else None),
            hint="remove the tag: values are plain text, numbers, lists and mappings"
            if tagged
            else _YAML_HINT,
        ) from None
    except yaml.YAMLError as e:  # pragma: no cover - every PyYAML error above carries a mark
        raise InputError(f"not valid YAML: {e}", location=Location(name), hint=_YAML_HINT) from None


def load_mapping(
    path: Path,
    *,
    name: str | None = None,
    empty_ok: bool = True,
    what: str = "settings",
    hint: str = "start from one of the files cstool ships, which lists every key",
) -> tuple[dict[str, Any], str]:
    """Read a YAML file whose top level is a mapping; return the mapping and the raw text.

    An empty file is an empty mapping when ``empty_ok``, else an error. ``what`` names the
    content in the message for a top level that is not a mapping ("a mapping of settings"),
    and ``hint`` says what to do then.
    """
    shown = _where(path, name)
    text = read_text(path, name=shown)
    data = parse(text, shown)
    if data is None and empty_ok:
        data = {}
    if not isinstance(data, dict):
        raise InputError(
            f"the top level must be a mapping of {what}"
            if data is not None
            else f"the file is empty; it must hold a mapping of {what}",
            location=Location(shown, line=1),
            hint=hint,
        )
    return data, text


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The line of the deepest key of ``path`` found in YAML ``text`` (1-based), or None."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


@dataclass(frozen=True)
class Issue:
    """One validation problem, explained: the key path, what is wrong and what to do."""

    path: KeyPath
    message: str
    kind: str  # "unknown_key", "missing_key" or "bad_value"
    hint: str | None = None  # a validator's own hint, or the close match of an unknown key

    def full_hint(self, name: str, reference: str | None = None) -> str:
        """What to do, naming file ``name`` and, after a semicolon, the ``reference``."""
        if self.kind == "bad_value" and self.hint:
            return self.hint
        if self.kind == "unknown_key":
            text = f"fix the key in {name}" + (f" (did you mean {self.hint}?)" if self.hint else "")
        elif self.kind == "missing_key":
            text = f"add the key in {name}"
        else:
            text = f"fix the value in {name}"
        return f"{text}; {reference}" if reference else text

    @property
    def dotted(self) -> str:
        """The key path written ``a.b.0.c`` (``(top level)`` when empty)."""
        return ".".join(str(p) for p in self.path) or "(top level)"


def _present_path(data: Any, loc: Sequence[Any]) -> KeyPath:
    """The longest prefix of pydantic's ``loc`` that indexes into ``data``.

    pydantic adds entries that are not keys (union members, ``[key]``, validator names);
    walking the data keeps the path to what the user wrote.
    """
    path: list[str | int] = []
    node = data
    for part in loc:
        found = (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not found:
            break
        node = node[part]
        path.append(part)
    return tuple(path)


def _model_at(model: type[BaseModel], path: KeyPath) -> type[BaseModel] | None:
    """The model that holds the last key of ``path`` (for suggesting known keys)."""
    current: type[BaseModel] = model
    for part in path[:-1]:
        field = current.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        else:
            return None
    return current


def explain(error: ValidationError, data: Any, model: type[BaseModel]) -> list[Issue]:
    """Turn pydantic's errors into :class:`Issue` s with clean key paths and fitting hints."""
    issues: list[Issue] = []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        cause = (err.get("ctx") or {}).get("error")
        kind = err["type"]
        if kind == "extra_forbidden":
            path = loc
            holder = _model_at(model, path)
            known = sorted(holder.model_fields) if holder else []
            # Only a close match is a suggestion (reentry -> reentry_days, not colour -> holdout).
            close = difflib.get_close_matches(str(path[-1]), known, n=1, cutoff=0.7) if path else []
            issues.append(Issue(path, "unknown key", "unknown_key", close[0] if close else None))
        elif kind == "missing":
            issues.append(Issue(loc, "required key is missing", "missing_key"))
        elif isinstance(cause, KeyProblems):
            for p in cause.problems:
                path = _present_path(data, loc) + tuple(p.path)
                issues.append(Issue(path, p.message, "bad_value", p.hint))
        elif isinstance(cause, ValueError) and hasattr(cause, "hint"):
            below = tuple(getattr(cause, "path", ()))
            message = str(getattr(cause, "message", cause))
            path = _present_path(data, loc) + below
            issues.append(Issue(path, message, "bad_value", str(cause.hint)))
        elif isinstance(cause, ValueError):
            issues.append(Issue(_present_path(data, loc), str(cause), "bad_value"))
        else:
            issues.append(Issue(_present_path(data, loc), err["msg"], "bad_value"))
    return issues


def validate(
    data: Any,
    model: type[M],
    name: str,
    text: str = "",
    *,
    context: Mapping[str, Any] | None = None,
    reference: str | None = None,
) -> M:
    """Validate ``data`` (read from file ``name`` with raw ``text``) into ``model``.

    The first problem in file order becomes the error's message, ``name: line N: key.path:
    message``; when there are several, every one is listed in ``problems``. The hint says
    what to do and, after a semicolon, ``reference`` (where the keys are documented) when
    given. ``context`` is passed to the model's validators.
    """
    try:
        return model.model_validate(data, context=dict(context) if context else None)
    except ValidationError as e:
        issues = explain(e, data, model)
    located = [(i, Location(name, line=line_of(text, i.path) if text else None)) for i in issues]
    # In file order, so that an unknown key comes before the required key it misspells.
    located.sort(key=lambda pair: pair[1].line or 1 << 30)
    issues, where = [i for i, _ in located], [w for _, w in located]
    first = issues[0]
    problems = [Problem(w, f"{i.dotted}: {i.message}") for w, i in zip(where, issues, strict=True)]
    raise InputError(
        f"{first.dotted}: {first.message}",
        location=where[0],
        hint=first.full_hint(name, reference),
        problems=problems if len(problems) > 1 else None,
    ) from None


def load_model(
    path: Path,
    model: type[M],
    *,
    name: str | None = None,
    context: Mapping[str, Any] | None = None,
    reference: str | None = None,
) -> M:
    """Read YAML file ``path`` strictly and validate it into ``model`` (an empty file is ``{}``)."""
    shown = _where(path, name)
    data, text = load_mapping(path, name=shown)
    return validate(data, model, shown, text, context=context, reference=reference)


@dataclass(frozen=True)
class Definition(Generic[M]):
    """One definition loaded from its own file, with what is needed to point into that file."""

    model: M
    path: Path
    name: str  # how the file is named in messages, e.g. ``playbooks/renewal.yaml``
    text: str

    def location(self, *keys: str | int) -> Location:
        """Where key path ``keys`` is in the file (the file alone when it cannot be found)."""
        return Location(self.name, line=line_of(self.text, keys) if keys else None)


def definition_files(folder: Path) -> list[Path]:
    """The ``*.yaml`` and ``*.yml`` files directly in ``folder``, sorted by name.

    Hidden files (``.name``) are left out; a missing folder has none.
    """
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise InputError(f"{folder.name} is a file, not a folder", hint="give a folder of files")
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.suffix in DEFINITION_SUFFIXES and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name,
    )


def load_definition_files(
    folder: Path,
    model: type[M],
    *,
    prefix: str | None = None,
    context: Mapping[str, Any] | None = None,
    reference: str | None = None,
) -> list[Definition[M]]:
    """Load one definition per YAML file in ``folder`` (sorted by file name).

    Each file must hold one mapping that validates into ``model``, which must have a ``name``
    field; a name used by two files is refused, naming both. Files are named in messages as
    ``prefix/file`` (default prefix: the folder's name). An empty or missing folder gives [].
    """
    if "name" not in model.model_fields:
        raise TypeError(f"{model.__name__} has no 'name' field")
    prefix = folder.name if prefix is None else prefix
    loaded: list[Definition[M]] = []
    owner: dict[str, Definition[M]] = {}
    for path in definition_files(folder):
        shown = f"{prefix}/{path.name}" if prefix else path.name
        data, text = load_mapping(path, name=shown, empty_ok=False, what="keys of one definition")
        item = Definition(
            validate(data, model, shown, text, context=context, reference=reference),
            path,
            shown,
            text,
        )
        key = str(getattr(item.model, "name"))  # noqa: B009 - checked above, not typed on M
        if key in owner:
            raise InputError(
                f"name: {key!r} is already the name of {owner[key].name}",
                location=item.location("name"),
                hint=f"give each definition its own name (rename it here or in {owner[key].name})",
            )
        owner[key] = item
        loaded.append(item)
    return loaded


def load_definitions(
    folder: Path,
    model: type[M],
    *,
    prefix: str | None = None,
    context: Mapping[str, Any] | None = None,
    reference: str | None = None,
) -> list[M]:
    """The models of :func:`load_definition_files` (one per file, sorted by file name)."""
    return [
        d.model
        for d in load_definition_files(
            folder, model, prefix=prefix, context=context, reference=reference
        )
    ]


_StrictLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    _StrictLoader.construct_yaml_timestamp,
)
