"""Email rendering speed: personalised emails per second with the one sandboxed environment.

Renders a ~2 KB HTML part (with a shared layout) plus a text part and a subject for --emails
generated recipients, beside plain Jinja (an ordinary ``Environment`` with the same templates,
no sandbox, no StrictUndefined: the floor of what Jinja can do), in the same run; then the
same email with its text part derived from the HTML (inscriptis) instead of ``body.txt.j2``.
Best of --runs. Rendering only: no MIME, ledger or files (journeys measure those end to end).

    python benchmarks/bench_templates.py --emails 20000

Target on a 2-core machine: well above the 2,000 emails/s journeys need end to end.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cstool.templating import EmailTemplates

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ company }}</title>
<style>body { font-family: sans-serif; color: #222; } .cta { background: #0a6; color: #fff; }
</style></head>
<body>
{% block body %}{% endblock %}
<hr>
<p style="font-size: 12px">You get this email because {{ account.name }} uses {{ company }}.
<a href="{{ unsubscribe_url }}">Unsubscribe</a> · {{ company }}, 1 Main Street, Springfield</p>
</body></html>
"""
HTML = """{% extends "_layouts/base.html.j2" %}
{% block body %}
<h1>Hi {{ user.first_name }},</h1>
<p>It has been 30 days since {{ account.name }} started with {{ company }}. Here is how your
team is doing, and three things the most successful teams do in their second month.</p>
<table>
<tr><td>Active users this week</td><td>{{ adoption.active_users }}</td></tr>
<tr><td>Depth</td><td>{{ adoption.depth_pct }}</td></tr>
<tr><td>Features in use</td><td>{{ adoption.features_used }} of {{ adoption.features }}</td></tr>
</table>
<ol>
{% for tip in tips %}<li><b>{{ tip.title }}</b>: {{ tip.text }}</li>
{% endfor %}</ol>
<p>{% if user.role == 'Admin' %}As an admin you can invite the rest of your team from the
settings page.{% else %}Ask your admin to invite the rest of your team.{% endif %}</p>
<p><a class="cta" href="https://app.example.com/start?u={{ user.user_id }}">Open the guide</a>
</p>
<h2>What the most successful teams do next</h2>
<p>In their second month, the teams that get the most value from {{ company }} set up a short
weekly review of their dashboards, agree on one owner for each workflow, and retire the
spreadsheets that the new workflows replace. Most of them also invite the people who only
read reports, so that decisions are made from the same numbers everywhere.</p>
<p>Your next check-in is a good moment to look at these numbers together: bring the list of
the workflows you still run by hand, and we will show you which of them the teams most like
yours have moved into {{ company }} already, and how long it took them.</p>
<p>Questions? Reply to this email and {{ csm.name }}, your customer success manager, will get
back to you within one business day.</p>
<p>Best regards,<br>{{ csm.name }}<br>{{ company }}</p>
{% endblock %}
"""
TEXT = """Hi {{ user.first_name }},

It has been 30 days since {{ account.name }} started with {{ company }}.

Active users this week: {{ adoption.active_users }}
Depth: {{ adoption.depth_pct }}
Features in use: {{ adoption.features_used }} of {{ adoption.features }}

{% for tip in tips %}- {{ tip.title }}: {{ tip.text }}
{% endfor %}
Open the guide: https://app.example.com/start?u={{ user.user_id }}

{{ csm.name }}, {{ company }}
Unsubscribe: {{ unsubscribe_url }}
"""
SUBJECT = "{{ user.first_name }}, your first 30 days with {{ company }}\n"
TIPS = [
    {"title": "Weekly reviews", "text": "teams that review dashboards weekly keep momentum."},
    {"title": "Automations", "text": "set up one automation for your most common request."},
    {"title": "Champions", "text": "name a champion per team to answer first questions."},
]


def write_templates(root: Path, with_text: bool) -> Path:
    """An email_templates folder with the layout and the day30 email."""
    folder = root / ("with-text" if with_text else "html-only")
    (folder / "_layouts").mkdir(parents=True)
    (folder / "_layouts" / "base.html.j2").write_text(LAYOUT, encoding="utf-8")
    (folder / "day30").mkdir()
    (folder / "day30" / "subject.j2").write_text(SUBJECT, encoding="utf-8")
    (folder / "day30" / "body.html.j2").write_text(HTML, encoding="utf-8")
    if with_text:
        (folder / "day30" / "body.txt.j2").write_text(TEXT, encoding="utf-8")
    return folder


def contexts(n: int) -> list[dict[str, Any]]:
    """``n`` recipients' contexts."""
    return [
        {
            "user": {"user_id": f"USR-{i:05d}", "first_name": f"Ana{i}", "role": "Admin"},
            "account": {"name": f"Account {i // 10} & Co"},
            "adoption": {"active_users": i % 50, "depth_pct": f"{i % 100}%", "features": 12,
                         "features_used": i % 12},
            "csm": {"name": "Priya Raman"},
            "company": "Globex",
            "tips": TIPS,
            "unsubscribe_url": f"https://mail.example.com/u/{i:08x}",
        }
        for i in range(n)
    ]  # fmt: skip


def best(runs: int, fn: Callable[[], object]) -> float:
    """The best wall time of ``runs`` calls of ``fn``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = contexts(args.emails)
    n = args.emails
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_templates(Path(tmp), with_text=True)
        email = EmailTemplates(folder).get("day30")
        sample = email.render(data[0], recipient="USR-00000")
        html_kb = len(sample.html.encode()) / 1024 if sample.html else 0.0
        ours = best(args.runs, lambda: [email.render(c) for c in data])

        from jinja2 import Environment, FileSystemLoader

        plain = Environment(loader=FileSystemLoader(str(folder)), autoescape=True)
        parts = [plain.get_template(f"day30/{p}") for p in ("subject.j2", "body.html.j2")]
        text = Environment(loader=FileSystemLoader(str(folder))).get_template("day30/body.txt.j2")
        theirs = best(
            args.runs,
            lambda: [(parts[0].render(c), parts[1].render(c), text.render(c)) for c in data],
        )

        derived_email = EmailTemplates(write_templates(Path(tmp), with_text=False)).get("day30")
        m = max(1, n // 10)
        derived = best(1, lambda: [derived_email.render(c) for c in data[:m]])

    print(f"HTML part {html_kb:.1f} KB, text part {len(sample.text.encode()) / 1024:.1f} KB")
    print(f"cstool templating (sandbox, StrictUndefined): {n / ours:>8,.0f} emails/s")
    print(f"plain jinja2 Environment (peer):              {n / theirs:>8,.0f} emails/s")
    print(f"cstool runs at {theirs / ours:.2f}x the speed of plain Jinja")
    print(f"text part derived from HTML (inscriptis):     {m / derived:>8,.0f} emails/s "
          f"({m:,} emails)")  # fmt: skip


if __name__ == "__main__":
    main()
