"""Condition expressions (``when:``, ``audience:``, ``recipients:``) and their variables.

A condition is a Jinja expression such as
``segment == 'Enterprise' and depth_band in ['red', 'orange'] and days_to_renewal <= 90``,
compiled once in Jinja's immutable sandbox (never ``eval``, never a parser of our own) and
evaluated per account or user against a plain mapping of values.

What a condition may use is listed in a :class:`Catalogue` of documented variables:
:data:`ACCOUNT_VARIABLES` for accounts (plus the accounts' extra columns by name, added with
:meth:`Catalogue.with_attributes`) and :data:`USER_VARIABLES` for the recipients of journeys.
A name that is not in the catalogue, a function call, attribute or item access, and a
quoted value that a variable can never take (``depth_band == 'gren'``) are errors when the
condition is compiled, not a silent false.

Missing values (no renewal date, no NPS answer) are ``None`` in the context. Any comparison
with one is false, never a crash, and the outcome says which missing variables made the
condition false so that a plan can count them: ``days_to_renewal <= 90 or depth_band ==
'red'`` holds for a red account without a renewal date, and is *missing* for a green one.
``nps is none`` and ``nps is not defined`` hold when there is no score.
"""

from __future__ import annotations

import difflib
import functools
import keyword
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from cstool.bands import BANDS
from cstool.errors import InputError, Location

if TYPE_CHECKING:
    from jinja2 import nodes
    from jinja2.environment import Template
    from jinja2.sandbox import ImmutableSandboxedEnvironment

TOUCH_TIERS = ("high", "low", "tech")

SYNTAX_HINT = (
    "write a Jinja expression: ==, !=, <, <=, >, >=, and, or, not, in ['a', 'b'], "
    "is none; quote text with '...'"
)


class ConditionError(ValueError):
    """A condition that cannot be compiled: what is wrong and what to do.

    It is a ``ValueError`` with a ``hint``, so a pydantic field validator can let it through
    and the YAML loader reports it with the file, line and key path.
    """

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def at(self, where: Location | None, key: str | None = None) -> InputError:
        """This problem as an InputError located at ``where``, under key path ``key``."""
        message = f"{key}: {self.message}" if key else self.message
        return InputError(message, location=where, hint=self.hint)


@dataclass(frozen=True)
class Variable:
    """One documented condition variable."""

    name: str
    type: str  # as people read it: text, integer, number 0-1, date (ISO text), band...
    description: str
    example: str  # a value as written in a condition, e.g. 'Enterprise' or 90
    group: str = ""
    choices: tuple[str, ...] = ()  # the only text values it takes (besides none), if fixed


class Catalogue:
    """The variables a kind of condition may use, in display order.

    ``reference`` says where people find the list (used in hints).
    """

    def __init__(self, variables: Iterable[Variable], *, reference: str) -> None:
        self._variables: dict[str, Variable] = {}
        for v in variables:
            self._variables.setdefault(v.name, v)
        self.reference = reference

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._variables.values())

    def __len__(self) -> int:
        return len(self._variables)

    def __contains__(self, name: object) -> bool:
        return name in self._variables

    def get(self, name: str) -> Variable | None:
        """The variable called ``name``, or None."""
        return self._variables.get(name)

    @property
    def names(self) -> frozenset[str]:
        """Every variable name."""
        return frozenset(self._variables)

    def with_variables(self, variables: Iterable[Variable]) -> Catalogue:
        """A new catalogue with ``variables`` added after these (a name known already wins)."""
        return Catalogue([*self, *variables], reference=self.reference)

    def with_attributes(self, names: Iterable[str]) -> Catalogue:
        """A new catalogue that also knows the accounts' extra columns (attributes) by name.

        Only names usable in an expression (identifiers, not Python or Jinja keywords) are
        added; a name that is already a variable keeps its documented meaning.
        """
        return self.with_variables(
            Variable(
                name,
                "text",
                f"the accounts export's extra column {name}",
                "'...'",
                group="attribute",
            )
            for name in sorted(set(names))
            if usable_name(name)
        )

    def check_names(self, names: Iterable[str]) -> None:
        """Raise :class:`ConditionError` for the names not in the catalogue, with close matches."""
        unknown = sorted(set(names) - self.names)
        if not unknown:
            return
        close = [m for n in unknown for m in difflib.get_close_matches(n, self.names, n=1)]
        label = "variable" if len(unknown) == 1 else "variables"
        suggestion = f"did you mean {', '.join(close)}? " if close else ""
        raise ConditionError(
            f"unknown {label} {', '.join(repr(n) for n in unknown)}",
            suggestion + self.reference,
        )

    def compile(
        self, source: str, *, where: Location | None = None, key: str | None = None
    ) -> Condition:
        """Compile condition ``source`` against this catalogue.

        Raises :class:`ConditionError` (a ``ValueError`` with a hint: let it through a pydantic
        validator); with ``where`` (and ``key``, the key path) raises a located InputError.
        """
        try:
            return _compile(source, self)
        except ConditionError as e:
            if where is None and key is None:
                raise
            raise e.at(where, key) from None


def usable_name(name: str) -> bool:
    """Whether ``name`` can be written as a variable in a condition or template."""
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and name not in ("true", "false", "none", "and", "or", "not", "in", "is", "if", "else")
        and not name.startswith("_")
    )


def _v(group: str, name: str, type_: str, example: str, description: str, **kw: Any) -> Variable:
    return Variable(name, type_, description, example, group=group, **kw)


_BAND_TYPE = "band or none"

ACCOUNT_VARIABLES = Catalogue(
    [
        _v("account", "account_id", "text", "'ACC-00042'", "the account's id"),
        _v("account", "name", "text", "'Acme Corp'", "the account's name"),
        _v("account", "industry", "text", "'Software'", "the account's industry"),
        _v("account", "segment", "text", "'Enterprise'", "the account's segment"),
        _v("account", "arr", "number", "120000", "annual recurring revenue"),
        _v("account", "licenses_purchased", "integer", "250", "licenses bought"),
        _v("account", "csm", "text", "'Priya Raman'", "the owning CS manager"),
        _v(
            "account",
            "lifecycle_stage",
            "text",
            "'Onboarding'",
            "the account's lifecycle stage, as exported (case-sensitive)",
        ),
        _v(
            "account",
            "onboarding_date",
            "date (ISO text)",
            "'2026-03-01'",
            "the onboarding date; compare with a quoted date",
        ),
        _v(
            "account",
            "renewal_date",
            "date (ISO text)",
            "'2027-03-01'",
            "the next renewal date; compare with a quoted date",
        ),
        _v("account", "employees", "integer", "1200", "the number of employees"),
        _v("account", "region", "text", "'EMEA'", "the account's region"),
        _v(
            "adoption",
            "deployment",
            "number 0-1 or none",
            "0.8",
            "share of purchased licenses in use (activated users)",
        ),
        _v(
            "adoption", "depth", "number 0-1 or none", "0.45", "share of users active in the window"
        ),
        _v(
            "adoption",
            "breadth",
            "number 0-1 or none",
            "0.6",
            "weighted share of enabled features in use",
        ),
        *(
            _v(
                "adoption",
                f"{m}_band",
                _BAND_TYPE,
                "'red'",
                f"the {m} band: {', '.join(BANDS)}",
                choices=BANDS,
            )
            for m in ("deployment", "depth", "breadth")
        ),
        *(
            _v(
                "adoption",
                f"{m}_band_change",
                "integer or none",
                "-1",
                f"{m} band steps since the previous snapshot (positive is up; none without one)",
            )
            for m in ("deployment", "depth", "breadth")
        ),
        _v(
            "dates",
            "days_to_renewal",
            "integer or none",
            "90",
            "days from the as-of date to the renewal date (negative once past)",
        ),
        _v(
            "dates",
            "days_since_onboarding",
            "integer or none",
            "30",
            "days from the onboarding date to the as-of date",
        ),
        _v("nps", "nps", "integer 0-10 or none", "6", "the latest NPS score of the account"),
        _v("nps", "nps_days", "integer or none", "120", "age in days of that latest NPS score"),
        _v("work", "open_ctas", "integer", "2", "the account's open CTAs"),
        _v(
            "work",
            "touch_tier",
            "text",
            "'tech'",
            f"the account's touch tier: {', '.join(TOUCH_TIERS)}",
            choices=TOUCH_TIERS,
        ),
    ],
    reference="`cstool playbooks vars` lists the variables",
)
"""The variables of account conditions (playbooks, touch tiers, journey audiences)."""

USER_VARIABLES = Catalogue(
    [
        _v("user", "user_id", "text", "'USR-00012'", "the user's id"),
        _v("user", "account_id", "text", "'ACC-00042'", "the id of the user's account"),
        _v("user", "email", "text", "'ana@example.com'", "the user's email address"),
        _v("user", "first_name", "text", "'Ana'", "the user's first name"),
        _v("user", "last_name", "text", "'Silva'", "the user's last name"),
        _v("user", "role", "text", "'Power User'", "Executive Sponsor, Admin, Power User..."),
        _v("user", "level", "text", "'Director'", "CXO, VP, Director, Manager, Staff"),
        _v(
            "user",
            "activated_at",
            "date (ISO text) or none",
            "'2026-02-10'",
            "when the user was activated; compare with a quoted date",
        ),
        _v("user", "is_advocate", "boolean", "true", "the user is a known advocate"),
        _v("user", "unsubscribed", "boolean", "false", "the user unsubscribed from email"),
        _v(
            "activity",
            "days_inactive",
            "integer or none",
            "14",
            "days since the user's last recorded activity (none if never active)",
        ),
        _v(
            "activity",
            "features_unused",
            "list of text",
            "'reports' in features_unused",
            "enabled features of the account the user has not used in the breadth window",
        ),
    ],
    reference="the recipient variables are: user_id, account_id, email, first_name, last_name, "
    "role, level, activated_at, is_advocate, unsubscribed, days_inactive, features_unused",
)
"""The variables of recipient conditions (journeys' ``recipients:``)."""

TASK_RECIPIENT_VARIABLES = Catalogue(
    [
        *USER_VARIABLES,
        _v(
            "nps",
            "user_nps",
            "integer 0-10 or none",
            "4",
            "the user's latest NPS score on or before the date (none if they never answered)",
        ),
        _v("nps", "user_nps_days", "integer or none", "6", "age in days of that answer"),
    ],
    reference="the recipient variables are the journeys' (user_id, email, role, level, "
    "days_inactive...) plus user_nps and user_nps_days",
)
"""The variables of a playbook task's ``recipients:`` (who gets its email assist)."""


class Verdict(Enum):
    """What a condition said for one account or user."""

    TRUE = "true"
    FALSE = "false"
    MISSING = "missing"  # false because a value it compares is missing (None)
    ERROR = "error"  # false because the values cannot be compared (e.g. text with a number)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict of one evaluation, with the missing variables or the error behind it."""

    verdict: Verdict
    missing: tuple[str, ...] = ()
    error: str | None = None

    def __bool__(self) -> bool:
        return self.verdict is Verdict.TRUE


_TRUE = Outcome(Verdict.TRUE)
_FALSE = Outcome(Verdict.FALSE)


@functools.cache
def _missing_type() -> type[Any]:
    """The stand-in for a missing value (built on first use: it subclasses jinja2.Undefined)."""
    from jinja2 import Undefined

    class Missing(Undefined):
        """A missing value: false in any comparison, and it remembers being looked at."""

        __slots__ = ("touched",)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.touched = False

        def _false(self, *_: Any) -> bool:
            self.touched = True
            return False

        def _same(self, *_: Any) -> Any:
            self.touched = True
            return self

        __lt__ = __le__ = __gt__ = __ge__ = __contains__ = __bool__ = _false  # type: ignore[assignment]
        __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
        __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _same
        __mod__ = __rmod__ = __pow__ = __rpow__ = __pos__ = __neg__ = _same

        def __eq__(self, other: object) -> bool:
            self.touched = True
            return other is None or isinstance(other, Undefined)

        def __ne__(self, other: object) -> bool:
            self.touched = True
            return False

        def __hash__(self) -> int:
            return id(type(self))

        def __str__(self) -> str:
            self.touched = True
            return ""

    return Missing


@functools.cache
def _environment() -> ImmutableSandboxedEnvironment:
    """The expression sandbox: immutable, no globals, missing values as :func:`_missing_type`."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    missing = _missing_type()
    env = ImmutableSandboxedEnvironment(undefined=missing)
    env.globals.clear()  # no range(), dict(), lipsum()...: conditions see their variables only
    env.tests["none"] = lambda value: value is None or isinstance(value, missing)
    return env


class Condition:
    """A compiled condition: evaluate it per account or user with :meth:`evaluate`."""

    __slots__ = ("_local", "_order", "_root", "_template", "names", "source")

    def __init__(self, source: str, names: frozenset[str], template: Template) -> None:
        self.source = source
        self.names = names  # the variables it reads
        self._order = tuple(sorted(names))  # so that missing names are reported in one order
        self._template = template
        self._root = template.root_render_func
        # One Jinja context per thread, given each evaluation's values: making a new one per
        # evaluation (copying the environment's globals) cost half the evaluation time.
        self._local = threading.local()

    def _with_missing(self, context: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        values: dict[str, Any] = {}
        missing: list[Any] = []
        for name in self._order:
            value = context.get(name)
            if value is None:
                value = _missing_type()(name=name)
                missing.append(value)
            values[name] = value
        return values, missing

    def _context(self, values: Mapping[str, Any]) -> Any:
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = self._local.ctx = self._template.new_context({}, shared=True)
        ctx.parent = values
        return ctx

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"

    def evaluate(self, context: Mapping[str, Any]) -> Outcome:
        """Whether the condition holds for ``context`` (variable name -> value).

        A value that is ``None`` or absent is missing: comparisons with it are false, and
        when the condition is false because of one, the verdict is MISSING naming it. Values
        that cannot be compared (text with a number) give ERROR with the reason. Never raises
        for any values.
        """
        missing: list[Any] | None = None
        values: Mapping[str, Any] = context
        get = context.get
        for name in self._order:
            if get(name) is None:
                # Some value is missing: evaluate over a copy where each missing value is a
                # stand-in that remembers being compared. (With every value present, the
                # mapping itself is read, as it is.)
                values, missing = self._with_missing(context)
                break
        try:
            # What compile_expression's TemplateExpression does, with a shared context: the
            # values are used as they are instead of being copied beside the globals.
            ctx = self._context(values)
            for _ in self._root(ctx):
                pass
            result = ctx.vars["result"]
            holds = bool(result)
        except Exception as e:  # any failure caused by the values is an outcome, not a crash
            if missing:
                return Outcome(Verdict.MISSING, tuple(m._undefined_name for m in missing))
            return Outcome(Verdict.ERROR, error=_describe(e))
        if holds:
            return _TRUE
        if missing:
            touched = tuple(m._undefined_name for m in missing if m.touched)
            if touched:
                return Outcome(Verdict.MISSING, touched)
        return _FALSE

    def holds(self, context: Mapping[str, Any]) -> bool:
        """Shorthand for ``bool(evaluate(context))``."""
        return self.evaluate(context).verdict is Verdict.TRUE


_KINDS = {"str": "text", "int": "a number", "float": "a number", "bool": "a boolean"}


def _describe(error: Exception) -> str:
    """A short reason for an evaluation error, in the terms of the catalogue's types."""
    found = re.search(r"not supported between instances of '(\w+)' and '(\w+)'", str(error))
    if found:
        left, right = (_KINDS.get(t, t) for t in found.groups())
        return f"cannot compare {left} with {right}"
    return str(error) or type(error).__name__


def _compile(source: str, catalogue: Catalogue) -> Condition:
    from jinja2 import meta, nodes
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.parser import Parser

    env = _environment()
    if not source.strip():
        raise ConditionError("the condition is empty", SYNTAX_HINT)
    try:
        parser = Parser(env, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            token = parser.stream.current
            raise ConditionError(
                f"unexpected {token.value!r} after a complete expression",
                "use == to compare and and/or to combine; " + SYNTAX_HINT,
            )
    except TemplateSyntaxError as e:
        raise ConditionError(f"not a valid condition: {e.message}", SYNTAX_HINT) from None
    # find_all looks below a node, not at it: search from a template holding the expression.
    tree = nodes.Template([nodes.Output([expr])])
    tree.set_environment(env)
    _refuse_forbidden(tree)
    _check_choices(tree, catalogue)  # before code generation, which folds constants in place
    try:
        names = meta.find_undeclared_variables(tree)
    except TemplateSyntaxError as e:  # e.g. an unknown filter or test
        raise ConditionError(f"not a valid condition: {e.message}", SYNTAX_HINT) from None
    catalogue.check_names(names)
    body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
    try:
        template = env.from_string(nodes.Template(body, lineno=1))
    except TemplateSyntaxError as e:  # e.g. an unknown filter or test
        raise ConditionError(f"not a valid condition: {e.message}", SYNTAX_HINT) from None
    return Condition(source, frozenset(names), template)


def _refuse_forbidden(tree: nodes.Template) -> None:
    from jinja2 import nodes

    for node in tree.find_all((nodes.Call, nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Call):
            raise ConditionError(
                "function calls are not allowed in a condition",
                "compare variables with values; filters such as segment|lower are allowed",
            )
        raise ConditionError(
            "attribute and item access (x.y, x[0]) are not allowed in a condition",
            "variables are plain values: name them directly; " + "see the list of variables",
        )


def compared_values(source: str) -> list[tuple[str, Any]]:
    """(variable, value) for each quoted value or number that condition ``source`` compares a
    variable with (``==``, ``!=``, ``in``, ``not in``); [] when it does not parse."""
    from jinja2 import nodes
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.parser import Parser

    try:
        expr = Parser(_environment(), source, state="variable").parse_expression()
    except TemplateSyntaxError:
        return []
    tree = nodes.Template([nodes.Output([expr])])
    return [(name, v) for name, values in _comparisons(tree) for v in values]


def _comparisons(tree: nodes.Template) -> Iterator[tuple[str, list[Any]]]:
    """(variable name, constant values) of each ``==``, ``!=``, ``in``, ``not in`` comparison
    of a variable with constants in ``tree``."""
    from jinja2 import nodes

    def constants(node: nodes.Expr) -> list[Any] | None:
        if isinstance(node, nodes.Const):
            return list(node.value) if isinstance(node.value, list | tuple) else [node.value]
        if isinstance(node, nodes.List | nodes.Tuple) and all(
            isinstance(i, nodes.Const) for i in node.items
        ):
            return [i.value for i in node.items]  # type: ignore[attr-defined]
        return None

    for compare in tree.find_all(nodes.Compare):
        operands = [compare.expr, *(o.expr for o in compare.ops)]
        for i, op in enumerate(compare.ops):
            if op.op not in ("eq", "ne", "in", "notin"):
                continue
            pairs = [(operands[i], operands[i + 1])]
            if op.op in ("eq", "ne"):
                pairs.append((operands[i + 1], operands[i]))
            for name_node, value_node in pairs:
                if not isinstance(name_node, nodes.Name):
                    continue
                values = constants(value_node)
                if values is not None:
                    yield name_node.name, values


def _check_choices(tree: nodes.Template, catalogue: Catalogue) -> None:
    """Refuse a quoted value that a variable with fixed choices never takes."""
    for name, values in _comparisons(tree):
        variable = catalogue.get(name)
        if variable is None or not variable.choices:
            continue
        for value in values:
            if isinstance(value, str) and value not in variable.choices:
                close = difflib.get_close_matches(value, variable.choices, n=1)
                raise ConditionError(
                    f"{value!r} is never a value of {variable.name}",
                    (f"did you mean {close[0]!r}? " if close else "")
                    + f"{variable.name} is one of {', '.join(variable.choices)} (or none)",
                )


def compile_condition(
    source: str,
    catalogue: Catalogue = ACCOUNT_VARIABLES,
    *,
    where: Location | None = None,
    key: str | None = None,
) -> Condition:
    """Compile ``source`` against ``catalogue``; see :meth:`Catalogue.compile`."""
    return catalogue.compile(source, where=where, key=key)


__all__ = [
    "ACCOUNT_VARIABLES",
    "BANDS",
    "TASK_RECIPIENT_VARIABLES",
    "TOUCH_TIERS",
    "USER_VARIABLES",
    "Catalogue",
    "Condition",
    "ConditionError",
    "Outcome",
    "Variable",
    "Verdict",
    "compared_values",
    "compile_condition",
    "usable_name",
]
