"""The one Jinja environment for everything cstool writes from templates, and template lookup.

Every template is rendered in Jinja's immutable sandbox with ``StrictUndefined`` (a missing
value is an error, never an empty string), HTML autoescape for ``*.html.j2`` files only, and
values passed as context: data is never rendered as a template.

**Email templates** live in a folder (``email_templates/``), one folder per email::

    email_templates/
      _layouts/base.html.j2         shared layouts: {% extends "_layouts/base.html.j2" %}
      day30-a/subject.j2            one line after rendering (CR/LF refused)
      day30-a/body.html.j2          the HTML part (autoescaped)
      day30-a/body.txt.j2           the text part; derived from the HTML part when absent

An email needs ``subject.j2`` and at least one body. Names are lower-case letters, digits,
``-`` and ``_`` (``^[a-z0-9][a-z0-9_-]*$``), so no name can reach outside the folder; names
starting with ``_`` hold layouts. Each email is compiled once and cached
(:meth:`EmailTemplates.get`); rendering many recipients reuses it.

**One-line text templates** (a CTA's ``reason``) are compiled once with :func:`compile_text`
and rendered with :meth:`TextTemplate.render`, or in one go with :func:`render_text`. In them
a missing value (None) prints as ``n/a`` (:data:`MISSING_TEXT`), never ``None``; an email's
templates get no such default and guard each value that can be missing.

Errors are :class:`~cstool.errors.InputError` naming the template file, the line, what is
wrong and, when given, the recipient:
``email_templates/day30-a/body.html.j2: line 12: 'account' has no attribute 'foo' (recipient
USR-00012)``.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.errors import InputError, Location, NotFoundError

if TYPE_CHECKING:
    from jinja2 import BaseLoader, Template
    from jinja2.sandbox import ImmutableSandboxedEnvironment

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SUBJECT = "subject.j2"
HTML = "body.html.j2"
TEXT = "body.txt.j2"
LAYOUTS = "_layouts"

_NAME_HINT = "template names are lower-case letters, digits, - and _ (e.g. day30-a)"


@functools.cache
def _render_errors() -> tuple[type[Exception], ...]:
    """What a template can raise from its own code or from the values it is given."""
    from jinja2.exceptions import TemplateError

    return (TemplateError, ArithmeticError, LookupError, TypeError, ValueError)


class SubjectLineBreak(InputError):
    """The subject has a line break after rendering, which a header cannot hold.

    Raised apart from other render errors because the values may be the cause (a name with a
    line break in it), so a caller sending to many people can reject just that recipient.
    """


@dataclass(frozen=True)
class RenderedEmail:
    """One rendered email: a one-line subject, the HTML part (None without one) and text."""

    subject: str
    html: str | None
    text: str


def _autoescape(name: str | None) -> bool:
    # HTML parts and HTML layouts only: subjects and text parts are not HTML.
    return name is not None and name.endswith(".html.j2")


@functools.cache
def _environment_class() -> type[ImmutableSandboxedEnvironment]:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        """The immutable sandbox, where ``x.key`` on a plain dict reads the key first.

        Context values are plain dicts: looking the key up first skips a failed attribute
        look-up per ``{{ user.first_name }}`` (a third of the render time), and a key called
        ``items`` or ``title`` is the value, not the dict method. Anything else goes through
        the sandbox's checks as before.
        """

        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict:
                try:
                    return obj[attribute]
                except KeyError:
                    pass
            return super().getattr(obj, attribute)

    return Sandbox


def environment(
    loader: BaseLoader | None = None, *, missing: str | None = None
) -> ImmutableSandboxedEnvironment:
    """A new sandboxed environment with the house settings, reading templates from ``loader``.

    Immutable sandbox, StrictUndefined and autoescape for ``*.html.j2`` only. Whitespace is
    Jinja's default: a line break after a tag is kept, and ``{%-`` / ``-%}`` trim on purpose,
    which is how the shipped templates and layouts are written (``trim_blocks`` would join the
    lines of their text parts, e.g. a list's items or the footer's). With ``missing``, a
    ``{{ value }}`` that is None prints that text instead of ``None``.
    """
    from jinja2 import StrictUndefined

    options: dict[str, Any] = {}
    if missing is not None:
        options["finalize"] = lambda value: missing if value is None else value
    return _environment_class()(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=_autoescape,
        auto_reload=False,
        **options,
    )


MISSING_TEXT = "n/a"
"""How a one-line text template (a CTA's reason) prints a missing value (None)."""


@functools.cache
def _text_environment() -> ImmutableSandboxedEnvironment:
    """The environment of one-line text templates (no loader, no autoescape); a missing value
    prints as MISSING_TEXT. Emails have no such default: their templates guard each value."""
    return environment(missing=MISSING_TEXT)


def _render(template: Template, globals: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    """``template.render(context)``, without copying the globals for every call.

    ``Template.render`` copies the environment's globals (a ChainMap, slow to copy) into a new
    dict per call; here they come merged into a plain dict once by the caller. Errors are
    re-raised by Jinja with the template's file and line in the traceback.
    """
    try:
        ctx = template.new_context({**globals, **context}, shared=True)
        return template.environment.concat(template.root_render_func(ctx))
    except Exception:
        template.environment.handle_exception()  # re-raises, located in the template
        raise  # pragma: no cover - handle_exception always raises


def _line_source(source: str | None, line: int | None) -> str:
    if source is None or line is None:
        return ""
    lines = source.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _explain(error: Exception, line_text: str) -> str:
    """A message for a render error, naming the variable that has no such attribute."""
    from jinja2.exceptions import SecurityError, UndefinedError

    message = getattr(error, "message", None) or str(error) or type(error).__name__
    if isinstance(error, SecurityError):
        return f"not allowed in a template: {message}"
    if isinstance(error, UndefinedError):
        found = re.fullmatch(r"'.+ object' has no attribute '(.+)'", message)
        if found:
            attr = re.escape(found.group(1))
            owner = re.findall(
                rf"([A-Za-z_][\w.]*)\s*(?:\.\s*{attr}\b|\[\s*['\"]{attr}['\"]\s*\])", line_text
            )
            if len(set(owner)) == 1:
                return f"'{owner[0]}' has no attribute '{found.group(1)}'"
    return message


def _located_error(
    error: Exception,
    *,
    files: Mapping[str, str],
    default: Location,
    recipient: str | None,
    context: Mapping[str, Any] | None,
    sources: Mapping[str, str],
) -> InputError:
    """An InputError for ``error`` at the deepest template frame of its traceback.

    ``files`` maps a template's file name (as Jinja knows it) to its name in messages, and
    ``sources`` that name to the template's text.
    """
    where = default
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        shown = files.get(frame.filename)
        if shown is not None:
            where = Location(shown, line=frame.lineno)
            break
    message = _explain(error, _line_source(sources.get(where.file), where.line))
    if recipient is not None:
        message += f" (recipient {recipient})"
    hint = "fix the template"
    if context is not None:
        hint += f"; the values it can use are: {', '.join(sorted(context)) or '(none)'}"
    return InputError(message, location=where, hint=hint)


def _syntax_error(error: Exception, files: Mapping[str, str], default: Location) -> InputError:
    """An InputError for a template syntax error, in the file and line Jinja reports."""
    filename = getattr(error, "filename", None)
    shown = files.get(filename, default.file) if filename else default.file
    line = getattr(error, "lineno", None) or default.line
    message = getattr(error, "message", None) or str(error)
    return InputError(
        f"template syntax error: {message}",
        location=Location(shown, line=line),
        hint="fix the Jinja syntax ({{ value }}, {% if %}...{% endif %})",
    )


# ---- one-line text templates --------------------------------------------------------------


class TextTemplate:
    """A compiled one-line text template (e.g. a CTA's ``reason``)."""

    __slots__ = ("_globals", "_template", "source", "variables", "where")

    def __init__(self, source: str, template: Template, variables: frozenset[str], where: Location):
        self.source = source
        self.variables = variables  # the top-level names it uses
        self.where = where
        self._template = template
        self._globals = dict(template.environment.globals)

    def __repr__(self) -> str:
        return f"TextTemplate({self.source!r})"

    def render(self, context: Mapping[str, Any], *, recipient: str | None = None) -> str:
        """Render with ``context``; line breaks in the result become spaces, ends stripped."""
        try:
            text = _render(self._template, self._globals, context)
        except _render_errors() as e:
            message = _explain(e, self.source)
            if recipient is not None:
                message += f" (recipient {recipient})"
            names = ", ".join(sorted(context)) or "(none)"
            raise InputError(
                message,
                location=self.where,
                hint=f"fix the text; the values it can use are: {names}",
            ) from None
        return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def compile_text(
    source: str, *, where: Location | None = None, key: str | None = None
) -> TextTemplate:
    """Compile a one-line text template such as ``"Renewal in {{ days_to_renewal }} days"``.

    A syntax error is an InputError at ``where`` (a file and line), naming ``key``.
    """
    from jinja2 import meta
    from jinja2.exceptions import TemplateSyntaxError

    env = _text_environment()
    location = where or Location("text")
    try:
        variables = frozenset(meta.find_undeclared_variables(env.parse(source)))
        template = env.from_string(source)
    except TemplateSyntaxError as e:
        prefix = f"{key}: " if key else ""
        raise InputError(
            f"{prefix}template syntax error: {e.message}",
            location=location,
            hint="fix the Jinja syntax ({{ value }}, {% if %}...{% endif %})",
        ) from None
    return TextTemplate(source, template, variables, location)


@functools.lru_cache(maxsize=256)
def _cached_text(source: str, where: Location | None, key: str | None) -> TextTemplate:
    return compile_text(source, where=where, key=key)


def render_text(
    source: str,
    context: Mapping[str, Any],
    *,
    where: Location | None = None,
    key: str | None = None,
    recipient: str | None = None,
) -> str:
    """Render one-line text template ``source`` with ``context`` (compiled once, then cached).

    Line breaks become spaces and the ends are stripped. Errors are InputErrors at ``where``.
    """
    return _cached_text(source, where, key).render(context, recipient=recipient)


# ---- email templates ---------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def html_to_text(html: str) -> str:
    """The text part for an HTML part (inscriptis, link targets kept as ``[text](url)``)."""
    from inscriptis import get_text
    from inscriptis.model.config import ParserConfig

    # inscriptis unescapes the text lxml has already unescaped, so an escaped "&amp;" (an
    # account named "A &amp; B", autoescaped to "A &amp;amp; B") would lose its "amp;":
    # escaping each "&amp;" once more leaves exactly one unescaping.
    text = get_text(html.replace("&amp;", "&amp;amp;"), ParserConfig(display_links=True))
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


class CompiledEmail:
    """One email template, compiled: render it per recipient with :meth:`render`."""

    def __init__(
        self,
        name: str,
        parts: Mapping[str, Template],
        files: Mapping[str, str],
        sources: Mapping[str, str],
        variables: frozenset[str],
        folder_name: str,
    ) -> None:
        self.name = name
        self.variables = variables  # the top-level names its parts and layouts use
        self.has_html = HTML in parts
        self.has_text = TEXT in parts
        self._subject = parts[SUBJECT]
        self._html = parts.get(HTML)
        self._text = parts.get(TEXT)
        self._files = files
        self._sources = sources
        self._folder_name = folder_name
        self._globals = dict(self._subject.environment.globals)

    def __repr__(self) -> str:
        return f"CompiledEmail({self.name!r})"

    def _where(self, part: str) -> Location:
        return Location(f"{self._folder_name}/{self.name}/{part}")

    def _render(
        self, template: Template, part: str, context: Mapping[str, Any], recipient: str | None
    ) -> str:
        try:
            return _render(template, self._globals, context)
        except _render_errors() as e:
            raise _located_error(
                e,
                files=self._files,
                default=self._where(part),
                recipient=recipient,
                context=context,
                sources=self._sources,
            ) from None

    def render(self, context: Mapping[str, Any], *, recipient: str | None = None) -> RenderedEmail:
        """Render subject, HTML and text parts with ``context`` (values only, never templates).

        The subject is stripped and must be one line; a text part is derived from the HTML
        part when the template has none. ``recipient`` (e.g. a user id) is named in errors.
        """
        subject = self._render(self._subject, SUBJECT, context, recipient).strip()
        if "\r" in subject or "\n" in subject:
            who = f" (recipient {recipient})" if recipient is not None else ""
            raise SubjectLineBreak(
                f"the subject must be one line, but it has a line break after rendering{who}",
                location=self._where(SUBJECT),
                hint="remove line breaks from subject.j2 and from the values it shows",
            )
        html = self._render(self._html, HTML, context, recipient) if self._html else None
        if self._text is not None:
            text = self._render(self._text, TEXT, context, recipient)
        else:
            text = html_to_text(html or "")
        return RenderedEmail(subject, html, text)


class EmailTemplates:
    """The email templates of one folder (e.g. the workspace's ``email_templates/``).

    ``name`` is how the folder is named in messages (default: the folder's own name).
    """

    def __init__(self, folder: Path, *, name: str | None = None) -> None:
        from jinja2 import FileSystemLoader

        self.folder = folder
        self.display = folder.name if name is None else name
        self._env = environment(FileSystemLoader(str(folder)))
        self._compiled: dict[str, CompiledEmail] = {}

    def names(self) -> list[str]:
        """The names of the emails in the folder, sorted (layouts and hidden folders left out)."""
        if not self.folder.is_dir():
            return []
        return sorted(
            p.name
            for p in self.folder.iterdir()
            if NAME_PATTERN.match(p.name) and self._complete(p.name)
        )

    def _complete(self, name: str) -> bool:
        folder = self.folder / name
        return (folder / SUBJECT).is_file() and (
            (folder / HTML).is_file() or (folder / TEXT).is_file()
        )

    def exists(self, name: str) -> bool:
        """Whether an email called ``name`` exists (a bad name never does)."""
        return bool(NAME_PATTERN.match(name)) and self._complete(name)

    def get(self, name: str) -> CompiledEmail:
        """The email ``name``, compiled (once: later calls return the same object).

        A bad name, a missing or incomplete folder and a template syntax error (in a part or
        a layout it uses) are InputErrors naming the file and line.
        """
        compiled = self._compiled.get(name)
        if compiled is None:
            compiled = self._compiled[name] = self._compile(name)
        return compiled

    def _check(self, name: str) -> None:
        if not NAME_PATTERN.match(name):
            raise InputError(f"{name!r} is not a valid email template name", hint=_NAME_HINT)
        folder = self.folder / name
        if not folder.is_dir():
            import difflib

            close = difflib.get_close_matches(name, self.names(), n=1)
            raise NotFoundError(
                f"{self.display}/{name}: no such email template",
                hint=(f"did you mean {close[0]}? " if close else "")
                + f"the templates are folders in {self.display}/ with {SUBJECT} and a body",
            )
        if not (folder / SUBJECT).is_file():
            raise InputError(
                f"{self.display}/{name}: the template has no {SUBJECT}",
                hint=f"add {SUBJECT} (one line) beside the body",
            )
        if not (folder / HTML).is_file() and not (folder / TEXT).is_file():
            raise InputError(
                f"{self.display}/{name}: the template has no body",
                hint=f"add {HTML} (a text part is derived from it) or {TEXT}",
            )

    def _compile(self, name: str) -> CompiledEmail:
        from jinja2 import meta
        from jinja2.exceptions import TemplateError

        self._check(name)
        files: dict[str, str] = {}
        sources: dict[str, str] = {}
        parts: dict[str, Template] = {}
        variables: set[str] = set()
        pending = [
            f"{name}/{p}" for p in (SUBJECT, HTML, TEXT) if (self.folder / name / p).is_file()
        ]
        seen: set[str] = set()
        default = Location(f"{self.display}/{name}/{SUBJECT}")
        try:
            while pending:
                path = pending.pop(0)
                if path in seen:
                    continue
                seen.add(path)
                loader = self._env.loader
                assert loader is not None
                source, filename, _ = loader.get_source(self._env, path)
                shown = f"{self.display}/{path}"
                if filename:
                    files[filename] = shown
                sources[shown] = source
                default = Location(shown)
                tree = self._env.parse(source, path, filename)
                variables |= meta.find_undeclared_variables(tree)
                pending += [t for t in meta.find_referenced_templates(tree) if isinstance(t, str)]
                if path.startswith(f"{name}/"):
                    parts[path.split("/", 1)[1]] = self._env.get_template(path)
        except TemplateError as e:
            from jinja2.exceptions import TemplateNotFound, TemplateSyntaxError

            if isinstance(e, TemplateSyntaxError):
                raise _syntax_error(e, files, default) from None
            if isinstance(e, TemplateNotFound):
                raise InputError(
                    f"the template {e.name!r} it extends or includes does not exist",
                    location=default,
                    hint=f"layouts live in {self.display}/{LAYOUTS}/, e.g. "
                    f'{{% extends "{LAYOUTS}/base.html.j2" %}}',
                ) from None
            raise
        return CompiledEmail(name, parts, files, sources, frozenset(variables), self.display)
