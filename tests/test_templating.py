"""Email and text templates: the sandbox, StrictUndefined, escaping, lookup and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from cstool.errors import InputError, Location, NotFoundError
from cstool.templating import (
    EmailTemplates,
    RenderedEmail,
    compile_text,
    environment,
    html_to_text,
    render_text,
)

LAYOUT = """<html><body>
{% block body %}{% endblock %}
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> {{ company }}</p>
</body></html>
"""
# Whitespace is Jinja's default: "-" trims on purpose, as the shipped templates do.
HTML = """{% extends "_layouts/base.html.j2" %}
{% block body -%}
<h1>Hi {{ user.first_name }}</h1>
<p>{{ account.name }} is {{ adoption.depth }} deep.</p>
{%- endblock %}
"""
TEXT = """Hi {{ user.first_name }},
{% if account.name -%}
{{ account.name }} is {{ adoption.depth }} deep.
{% endif -%}
Unsubscribe: {{ unsubscribe_url }}
"""
SUBJECT = "{{ user.first_name }}, 30 days with {{ company }}\n"


def _context(**user: Any) -> dict[str, Any]:
    return {
        "user": {"user_id": "USR-00012", "first_name": "Ana", **user},
        "account": {"name": "Acme & Sons"},
        "adoption": {"depth": "45%"},
        "company": "Globex",
        "unsubscribe_url": "https://mail.example.com/u/1?a=1&b=2",
    }


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def templates(tmp_path: Path) -> EmailTemplates:
    """An email_templates folder with a layout, a full email and a text-only one."""
    folder = _write(
        tmp_path / "email_templates",
        {
            "_layouts/base.html.j2": LAYOUT,
            "day30-a/subject.j2": SUBJECT,
            "day30-a/body.html.j2": HTML,
            "day30-a/body.txt.j2": TEXT,
            "html_only/subject.j2": "Hello {{ user.first_name }}",
            "html_only/body.html.j2": HTML,
            "plain/subject.j2": "Note",
            "plain/body.txt.j2": "Hello {{ user.first_name }}\n",
        },
    )
    return EmailTemplates(folder)


def test_render_full_email(templates: EmailTemplates) -> None:
    """Subject, HTML (through the layout) and text parts render with the context's values."""
    email = templates.get("day30-a").render(_context())
    assert email.subject == "Ana, 30 days with Globex"
    assert email.html == (
        "<html><body>\n"
        "<h1>Hi Ana</h1>\n"
        "<p>Acme &amp; Sons is 45% deep.</p>\n"
        '<p><a href="https://mail.example.com/u/1?a=1&amp;b=2">Unsubscribe</a> Globex</p>\n'
        "</body></html>"
    )
    assert email.text == (
        "Hi Ana,\nAcme & Sons is 45% deep.\nUnsubscribe: https://mail.example.com/u/1?a=1&b=2"
    )


def test_html_is_escaped_but_subject_and_text_are_not(templates: EmailTemplates) -> None:
    """Markup in a value is escaped in the HTML part only."""
    email = templates.get("day30-a").render(_context(first_name='<b>Zoë</b> & "co"'))
    assert email.subject == '<b>Zoë</b> & "co", 30 days with Globex'
    assert email.html is not None
    assert "<h1>Hi &lt;b&gt;Zoë&lt;/b&gt; &amp; &#34;co&#34;</h1>" in email.html
    assert email.text.startswith('Hi <b>Zoë</b> & "co",\n')


def test_data_is_never_rendered_as_a_template(templates: EmailTemplates) -> None:
    """A value that looks like Jinja is shown as it is, not evaluated."""
    email = templates.get("day30-a").render(_context(first_name="{{ 7*7 }}{% if 1 %}x{% endif %}"))
    assert email.subject == "{{ 7*7 }}{% if 1 %}x{% endif %}, 30 days with Globex"
    assert "49" not in email.text


def test_text_part_is_derived_from_html_when_absent(templates: EmailTemplates) -> None:
    """Without body.txt.j2 the text part is the HTML as text, link targets kept."""
    email = templates.get("html_only").render(_context())
    assert email.text == (
        "Hi Ana\n\nAcme & Sons is 45% deep.\n\n"
        "[Unsubscribe](https://mail.example.com/u/1?a=1&b=2) Globex\n"
    )
    assert html_to_text("<p>a <a href='https://x.example/'>b</a></p>") == (
        "a [b](https://x.example/)\n"
    )


def test_text_only_email_has_no_html(templates: EmailTemplates) -> None:
    """An email with only body.txt.j2 renders no HTML part."""
    assert templates.get("plain").render(_context()) == RenderedEmail("Note", None, "Hello Ana")


def test_names_exists_and_cache(templates: EmailTemplates, tmp_path: Path) -> None:
    """names() lists complete emails only, sorted; get() compiles once."""
    _write(tmp_path / "email_templates", {"no-body/subject.j2": "x", "Bad Name/subject.j2": "x"})
    (tmp_path / "email_templates" / "stray.txt").write_text("x", encoding="utf-8")
    assert templates.names() == ["day30-a", "html_only", "plain"]
    assert templates.exists("plain")
    assert not templates.exists("no-body")
    assert not templates.exists("../email_templates/plain")
    assert templates.get("plain") is templates.get("plain")
    assert EmailTemplates(tmp_path / "nowhere").names() == []


def test_variables_include_the_layout(templates: EmailTemplates) -> None:
    """The names an email uses include those of the layouts it extends."""
    assert templates.get("day30-a").variables == {
        "user",
        "account",
        "adoption",
        "company",
        "unsubscribe_url",
    }


@pytest.mark.parametrize(
    "name", ["../plain", "Day30", "a/b", "", "_layouts", ".hidden", "a b", "-x", "/etc/passwd"]
)
def test_bad_names_are_refused(templates: EmailTemplates, name: str) -> None:
    """A name that could leave the folder or is not a template name is an InputError."""
    with pytest.raises(InputError) as e:
        templates.get(name)
    assert str(e.value) == f"{name!r} is not a valid email template name"
    assert "lower-case letters" in (e.value.hint or "")
    assert not templates.exists(name)


def test_unknown_template_suggests_a_close_one(templates: EmailTemplates) -> None:
    """A missing template is NotFoundError naming the folder, with a close match."""
    with pytest.raises(NotFoundError) as e:
        templates.get("day30-b")
    assert str(e.value) == "email_templates/day30-b: no such email template"
    assert (e.value.hint or "").startswith("did you mean day30-a? ")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"x/body.html.j2": "hi"}, "email_templates/x: the template has no subject.j2"),
        ({"x/subject.j2": "hi"}, "email_templates/x: the template has no body"),
        (
            {"x/subject.j2": "hi", "x/body.html.j2": "<p>\n{{ user.first_name }\n</p>"},
            "email_templates/x/body.html.j2: line 2: template syntax error: unexpected '}'",
        ),
        (
            {"x/subject.j2": "{% if user %}hi", "x/body.txt.j2": "x"},
            "email_templates/x/subject.j2: line 1: template syntax error: Unexpected end of "
            "template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. "
            "The innermost block that needs to be closed is 'if'.",
        ),
        (
            {"x/subject.j2": "hi", "x/body.html.j2": '{% extends "_layouts/broken.html.j2" %}',
             "_layouts/broken.html.j2": "<p>\n\n{% block body %}</p>"},
            "email_templates/_layouts/broken.html.j2: line 3: template syntax error: Unexpected "
            "end of template. Jinja was looking for the following tags: 'endblock'. The "
            "innermost block that needs to be closed is 'block'.",
        ),
        (
            {"x/subject.j2": "hi", "x/body.html.j2": '{% extends "_layouts/none.html.j2" %}'},
            "email_templates/x/body.html.j2: the template '_layouts/none.html.j2' it extends or "
            "includes does not exist",
        ),
        (
            {"x/subject.j2": "hi", "x/body.html.j2": '{% extends "../secret.html.j2" %}'},
            "email_templates/x/body.html.j2: the template '../secret.html.j2' it extends or "
            "includes does not exist",
        ),
        (
            {"x/subject.j2": "hi", "x/body.html.j2": "{{ user|nosuch }}"},
            "email_templates/x/body.html.j2: line 1: template syntax error: No filter named "
            "'nosuch'.",
        ),
    ],
)  # fmt: skip
def test_bad_templates_are_refused_when_compiled(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    """An incomplete email or a syntax error (in a part or a layout) names file and line."""
    _write(tmp_path / "email_templates", files)
    (tmp_path / "secret.html.j2").write_text("secret", encoding="utf-8")
    with pytest.raises(InputError) as e:
        EmailTemplates(tmp_path / "email_templates").get("x")
    assert str(e.value) == message
    assert e.value.exit_code == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c.pop("company"),
            "email_templates/day30-a/subject.j2: line 1: 'company' is undefined "
            "(recipient USR-00012)",
        ),
        (
            lambda c: c["adoption"].pop("depth"),
            "email_templates/day30-a/body.html.j2: line 4: 'adoption' has no attribute 'depth' "
            "(recipient USR-00012)",
        ),
        (
            lambda c: c.pop("unsubscribe_url"),
            "email_templates/_layouts/base.html.j2: line 3: 'unsubscribe_url' is undefined "
            "(recipient USR-00012)",
        ),
        (
            lambda c: c.update(account=5),
            "email_templates/day30-a/body.html.j2: line 4: 'account' has no attribute 'name' "
            "(recipient USR-00012)",
        ),
    ],
)
def test_missing_values_fail_with_template_line_and_recipient(
    templates: EmailTemplates, change: Any, message: str
) -> None:
    """StrictUndefined: a missing value names the file, line, variable and recipient."""
    context = _context()
    change(context)
    with pytest.raises(InputError) as e:
        templates.get("day30-a").render(context, recipient="USR-00012")
    assert str(e.value) == message
    assert (e.value.hint or "").startswith("fix the template; the values it can use are: ")


def test_missing_value_without_recipient(templates: EmailTemplates) -> None:
    """Without a recipient the message ends at the variable."""
    context = _context()
    del context["user"]["first_name"]
    with pytest.raises(InputError) as e:
        templates.get("plain").render(context)
    assert str(e.value) == (
        "email_templates/plain/body.txt.j2: line 1: 'user' has no attribute 'first_name'"
    )


@pytest.mark.parametrize(
    ("subject", "first_name"),
    [("{{ user.first_name }}", "Ana\r\nBcc: x@example.com"), ("Hi\nthere", "Ana")],
)
def test_a_subject_must_be_one_line(tmp_path: Path, subject: str, first_name: str) -> None:
    """A line break in the rendered subject is refused, naming the recipient."""
    folder = _write(tmp_path / "t", {"x/subject.j2": subject, "x/body.txt.j2": "hi"})
    with pytest.raises(InputError) as e:
        EmailTemplates(folder).get("x").render(_context(first_name=first_name), recipient="U1")
    assert str(e.value) == (
        "t/x/subject.j2: the subject must be one line, but it has a line break after rendering "
        "(recipient U1)"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ user.__class__ }}", "not allowed in a template: access to attribute '__class__' of "
         "'dict' object is unsafe."),
        ("{{ ''.__class__.__mro__ }}", "not allowed in a template: access to attribute "
         "'__class__' of 'str' object is unsafe."),
        ("{{ tips.append(1) }}", "not allowed in a template: access to attribute 'append' of "
         "'list' object is unsafe."),
        ("{{ user.update(a=1) }}", "not allowed in a template: access to attribute 'update' of "
         "'dict' object is unsafe."),
    ],
)  # fmt: skip
def test_the_sandbox_refuses_unsafe_access(tmp_path: Path, body: str, message: str) -> None:
    """Templates cannot reach Python internals or change the values they are given."""
    folder = _write(tmp_path / "t", {"x/subject.j2": "s", "x/body.txt.j2": body})
    context = {**_context(), "tips": [1, 2]}
    with pytest.raises(InputError) as e:
        EmailTemplates(folder).get("x").render(context)
    assert str(e.value) == f"t/x/body.txt.j2: line 1: {message}"
    assert context["tips"] == [1, 2]


def test_a_dict_key_wins_over_a_dict_method(tmp_path: Path) -> None:
    """{{ d.items }} and {{ d.title }} show the keys' values, not dict methods."""
    folder = _write(
        tmp_path / "t", {"x/subject.j2": "{{ d.title }}", "x/body.txt.j2": "{{ d.items }}"}
    )
    email = EmailTemplates(folder).get("x").render({"d": {"title": "T", "items": 3}})
    assert (email.subject, email.text) == ("T", "3")


def test_same_output_as_jinja_render(templates: EmailTemplates, tmp_path: Path) -> None:
    """The compiled email renders exactly what the environment's Template.render gives."""
    from jinja2 import FileSystemLoader

    env = environment(FileSystemLoader(str(tmp_path / "email_templates")))
    context = _context(first_name="<i>Zoë</i>")
    email = templates.get("day30-a").render(context)
    assert email.html == env.get_template("day30-a/body.html.j2").render(context)
    assert email.text == env.get_template("day30-a/body.txt.j2").render(context)


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30))
def test_any_value_is_escaped_in_html_and_verbatim_in_text(
    tmp_path_factory: Any, name: str
) -> None:
    """Whatever a value holds, HTML shows it escaped and the text part as it is."""
    folder = tmp_path_factory.getbasetemp() / "prop"
    if not folder.exists():
        _write(folder, {"x/subject.j2": "s", "x/body.html.j2": "<p>{{ v }}</p>",
                        "x/body.txt.j2": "[{{ v }}]"})  # fmt: skip
    email = EmailTemplates(folder).get("x").render({"v": name})
    assert email.html == f"<p>{escape(name)}</p>"
    assert email.text == f"[{name}]"


# ---- one-line text templates ---------------------------------------------------------------


def test_render_text() -> None:
    """A reason renders its values on one line."""
    reason = "Renewal in {{ days_to_renewal }} days; depth {{ depth_band }}"
    assert render_text(reason, {"days_to_renewal": 30, "depth_band": "red"}) == (
        "Renewal in 30 days; depth red"
    )
    assert render_text("<{{ x }}>", {"x": "a & b"}) == "<a & b>"
    assert render_text("  a\n  {{ x }}\r\n\n b ", {"x": "1\n2"}) == "a 1 2 b"


def test_compile_text_lists_its_variables() -> None:
    """A compiled text template knows the names it uses (to check them against a catalogue)."""
    t = compile_text("{{ a }} and {{ b|upper }}{% if c %}!{% endif %}")
    assert t.variables == {"a", "b", "c"}
    assert t.render({"a": 1, "b": "x", "c": True}) == "1 and X!"


def test_text_syntax_error_is_located() -> None:
    """A syntax error names the definition file, line and key given by the caller."""
    with pytest.raises(InputError) as e:
        compile_text(
            "Renewal in {{ days_to_renewal days",
            where=Location("playbooks/a.yaml", 7),
            key="reason",
        )
    assert str(e.value) == (
        "playbooks/a.yaml: line 7: reason: template syntax error: "
        "expected token 'end of print statement', got 'days'"
    )


def test_text_missing_value_is_located() -> None:
    """A missing value names where the text is defined and the account it was rendered for."""
    with pytest.raises(InputError) as e:
        render_text(
            "Depth {{ depth_band }}",
            {"segment": "SMB"},
            where=Location("playbooks/a.yaml", 7),
            recipient="ACC-00001",
        )
    assert (
        str(e.value) == "playbooks/a.yaml: line 7: 'depth_band' is undefined (recipient ACC-00001)"
    )
    assert e.value.hint == "fix the text; the values it can use are: segment"


def test_line_breaks_after_tags_are_kept(tmp_path: Path) -> None:
    """A line break after a tag stays (Jinja's default): list items and footer lines keep
    their own lines in a text part, as the shipped templates expect."""
    body = (
        "Items:\n{% for x in items %}\n- {{ x }}\n{%- endfor %}\n\n--\n"
        "{% block f %}F{% endblock %}\nU\n"
    )
    folder = _write(tmp_path / "t", {"list/subject.j2": "S", "list/body.txt.j2": body})
    text = EmailTemplates(folder).get("list").render({"items": ["a", "b"]}).text
    assert text == "Items:\n\n- a\n- b\n\n--\nF\nU"
