"""Email throughput: `cstool journey send` end to end beside mailmerge's dry run.

Generates --emails recipients and one email: a ~2 KB HTML part, a text part and a subject, as
Jinja templates. Then, in the same run and each as its own process (so its wall time includes
start-up and imports, and its peak memory is its own):

* cstool: a workspace with those recipients as users (20 per account) and a journey whose one
  step is due for all of them, then ``cstool journey send bench`` timed end to end: planning
  (conditions, ledger history, caps), rendering every email in memory first, the ledger
  transaction, rendering again and writing each message to the Maildir outbox in chunks, the
  ledger updates and manifest.csv. (Building the workspace is not timed; the ledger is reset
  before each run.)
* mailmerge (the usual Jinja mail-merge CLI), over the same recipients and the same templates,
  in its dry run: ``mailmerge --no-limit --dry-run --output-format raw``, printing to /dev/null.

cstool also runs with ``--limit --small`` on the same workspace to show that its memory does
not grow with the batch, and the script checks that both tools render the same subject and
bodies and that the outbox is a valid Maildir whose messages parse back. Last, message building
alone, in this process: cstool's builder beside the email package's EmailMessage.

    pip install -e ".[bench]"                              # mailmerge
    python benchmarks/bench_email.py                       # 100,000 emails, a batch of 10,000
    python benchmarks/bench_email.py --emails 20000 --small 2000

Targets on a 2-core machine: at least 2,000 emails/s, at least 3x mailmerge, memory flat in
the batch size; message building alone at least 10,000/s.
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import mailbox
import shutil
import subprocess
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from _common import BIN, HERE, run

from cstool.mail import Mailbox, build_message, list_unsubscribe

SUBJECT = "{{ first_name }}, your first 30 days of {{ company }} at {{ account_name }}\n"
HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ company }}</title>
<style>body { font-family: sans-serif; color: #222; } .cta { background: #0a6; color: #fff; }
</style></head>
<body>
<h1>Hi {{ first_name }},</h1>
<p>It has been 30 days since {{ account_name }} started with {{ company }}. Here is how your
team is doing, and three things the most successful teams do in their second month.</p>
<table>
<tr><td>Licenses</td><td>{{ licenses }}</td></tr>
<tr><td>Segment</td><td>{{ segment }}</td></tr>
<tr><td>Region</td><td>{{ region }}</td></tr>
</table>
<ol>
<li><b>Weekly reviews</b>: teams that review their dashboards weekly keep momentum.</li>
<li><b>Automations</b>: set up one automation for your most common request.</li>
<li><b>Champions</b>: name a champion per team to answer the first questions.</li>
</ol>
<p>{% if role == 'Admin' %}As an admin you can invite the rest of your team from the
settings page.{% else %}Ask your admin to invite the rest of your team.{% endif %}</p>
<p><a class="cta" href="https://app.example.com/start?u={{ user_id }}">Open the guide</a></p>
<h2>What the most successful teams do next</h2>
<p>In their second month, the teams that get the most value from {{ company }} set up a short
weekly review of their dashboards, agree on one owner for each workflow, and retire the
spreadsheets that the new workflows replace. Most of them also invite the people who only
read reports, so that decisions are made from the same numbers everywhere.</p>
<p>Your next check-in is a good moment to look at these numbers together: bring the list of
the workflows you still run by hand, and we will show you which of them the teams most like
yours have moved into {{ company }} already, and how long it took them.</p>
<p>Questions? Reply to this email and {{ csm_name }}, your customer success manager, will get
back to you within one business day.</p>
<p>Best regards,<br>{{ csm_name }}<br>{{ company }}</p>
<hr>
<p style="font-size: 12px">You get this email because {{ account_name }} uses {{ company }}.
<a href="{{ unsubscribe_url }}">Unsubscribe</a> - {{ company }}, 1 Main Street, Springfield</p>
</body></html>
"""
TEXT = """Hi {{ first_name }},

It has been 30 days since {{ account_name }} started with {{ company }}. Here is how your team
is doing, and three things the most successful teams do in their second month.

Licenses: {{ licenses }}
Segment: {{ segment }}
Region: {{ region }}

1. Weekly reviews: teams that review their dashboards weekly keep momentum.
2. Automations: set up one automation for your most common request.
3. Champions: name a champion per team to answer the first questions.

{% if role == 'Admin' %}As an admin you can invite the rest of your team from the settings
page.{% else %}Ask your admin to invite the rest of your team.{% endif %} It takes a minute.

Open the guide: https://app.example.com/start?u={{ user_id }}

Questions? Reply to this email and {{ csm_name }}, your customer success manager, will get
back to you within one business day.

{{ csm_name }}, {{ company }}

Unsubscribe: {{ unsubscribe_url }}
{{ company }}, 1 Main Street, Springfield
"""
# The same parts for mailmerge, whose template is one message with its headers. (No block tag
# ends a line in the parts: cstool's environment trims the line break after one, mailmerge's
# does not.)
MAILMERGE = """TO: {{ name }} <{{ email }}>
FROM: Priya Raman <priya@globex.example>
REPLY-TO: Priya Raman <priya@globex.example>
SUBJECT: {% include "day30/subject.j2" %}
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="bench-boundary"

--bench-boundary
Content-Type: text/plain; charset=us-ascii

{% include "day30/body.txt.j2" %}
--bench-boundary
Content-Type: text/html; charset=us-ascii

{% include "day30/body.html.j2" %}
--bench-boundary--
"""
MAILMERGE_CONFIG = "[smtp_server]\nhost = 127.0.0.1\nport = 25\nratelimit = 0\n"
COLUMNS = [
    "user_id",
    "email",
    "name",
    "first_name",
    "role",
    "account_name",
    "company",
    "csm_name",
    "licenses",
    "segment",
    "region",
    "unsubscribe_url",
]
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustavo", "Hana", "Ivo", "Jonas"]
LAST = ["Silva", "Okafor", "Müller", "Nakamura", "Jensen", "Haddad", "Novak", "Reyes"]
SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
REGIONS = ["EMEA", "AMER", "APAC", "LATAM"]
DATE = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
# The cstool templates name the documented context instead of the CSV's flat columns.
CONTEXT_NAMES = {
    "first_name": "user.first_name",
    "role": "user.role",
    "user_id": "user.user_id",
    "company": "company.name",
    "account_name": "account.name",
    "licenses": "account.licenses_purchased",
    "segment": "account.segment",
    "region": "account.region",
    "csm_name": "csm.name",
}
WORKSPACE_CONFIG = """
company: Globex
sender: {name: Priya Raman, email: priya@globex.example, postal_address: 1 Main Street}
csms: [{name: Priya Raman, email: priya@globex.example}]
journeys:
  frequency_cap: null
  send_days: [mon, tue, wed, thu, fri, sat, sun]
  unsubscribe_url: "https://mail.globex.example/u/{user_id}"
"""
JOURNEY = """name: bench
description: The benchmark's email, due for everyone.
category: onboarding
audience: "true"
recipients: "true"
from: csm
steps:
  - {id: day30, template: day30, when: "true"}
"""
SENDER = ("Priya Raman", "priya@globex.example")


def write_inputs(work: Path, n: int) -> Path:
    """The templates, mailmerge's template and config, and ``n`` recipients (made once)."""
    day30 = work / "templates" / "day30"
    day30.mkdir(parents=True, exist_ok=True)
    for name, source in (("subject.j2", SUBJECT), ("body.html.j2", HTML), ("body.txt.j2", TEXT)):
        (day30 / name).write_text(source, encoding="utf-8")
    (work / "templates" / "mailmerge.txt").write_text(MAILMERGE, encoding="utf-8")
    (work / "mailmerge.conf").write_text(MAILMERGE_CONFIG, encoding="utf-8")
    path = work / f"recipients-{n}.csv"
    if not path.exists():
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(COLUMNS)
            for i in range(n):
                first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
                out.writerow([
                    f"USR-{i:06d}", f"user{i}@customer{i // 20}.example", f"{first} {last}",
                    first, "Admin" if i % 7 == 0 else "User", f"Customer {i // 20}", "Globex",
                    "Priya Raman", 10 + (i // 20) % 90, SEGMENTS[(i // 20) % 3],
                    REGIONS[(i // 20) % 4], f"https://mail.globex.example/u/USR-{i:06d}",
                ])  # fmt: skip
    return path


# -- cstool ---------------------------------------------------------------------------------
def _context_template(source: str) -> str:
    import re

    source = source.replace("{% if role ==", "{% if user.role ==")
    return re.sub(
        r"{{ (\w+) }}", lambda m: "{{ " + CONTEXT_NAMES.get(m.group(1), m.group(1)) + " }}", source
    )


def workspace(work: Path, n: int) -> Path:
    """A workspace with the ``n`` recipients as users and the bench journey (built once)."""
    import yaml

    root = work / f"ws-{n}"
    if (root / "pristine.db").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    cstool = str(BIN / "cstool")
    subprocess.run([cstool, "init", str(root)], check=True, capture_output=True)
    config = yaml.safe_load((root / "cstool.yaml").read_text(encoding="utf-8"))
    config.update(yaml.safe_load(WORKSPACE_CONFIG))
    (root / "cstool.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "journeys" / "bench.yaml").write_text(JOURNEY, encoding="utf-8")
    day30 = root / "email_templates" / "day30"
    day30.mkdir()
    for name, source in (("subject.j2", SUBJECT), ("body.html.j2", HTML), ("body.txt.j2", TEXT)):
        (day30 / name).write_text(_context_template(source), encoding="utf-8")
    accounts: dict[str, list[object]] = {}
    with (work / f"recipients-{n}.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    users = root / "users.csv"
    with users.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["user_id", "account_id", "email", "first_name", "last_name", "role"])
        for r in rows:
            account = f"C{int(r['user_id'][4:]) // 20:05d}"
            accounts.setdefault(
                account, [account, r["account_name"], r["csm_name"], r["licenses"], r["segment"],
                          r["region"]],
            )  # fmt: skip
            first, _, last = r["name"].partition(" ")
            out.writerow([r["user_id"], account, r["email"], first, last, r["role"]])
    with (root / "accounts.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["account_id", "name", "csm", "licenses_purchased", "segment", "region"])
        out.writerows(accounts.values())
    for kind, path in (("accounts", root / "accounts.csv"), ("users", users)):
        subprocess.run(
            [cstool, "--workspace", str(root), "load", kind, str(path)],
            check=True,
            capture_output=True,
        )
    shutil.copyfile(root / "cstool.db", root / "pristine.db")
    return root


def run_cstool(n: int, work: Path, limit: int | None = None) -> tuple[float, float]:
    """Wall seconds and peak MB of ``cstool journey send`` over a fresh ledger."""
    root = workspace(work, n)
    shutil.rmtree(root / "outbox", ignore_errors=True)
    (root / "outbox").mkdir()
    for leftover in ("cstool.db-wal", "cstool.db-shm"):
        (root / leftover).unlink(missing_ok=True)
    shutil.copyfile(root / "pristine.db", root / "cstool.db")
    cmd = [str(BIN / "cstool"), "--workspace", str(root), "journey", "send", "bench"]
    cmd += ["--as-of", "2026-11-20"] + (["--limit", str(limit)] if limit else [])
    return run(cmd, work)


def run_mailmerge(
    n: int, work: Path, limit: int | None = None, out: Path | None = None
) -> tuple[float, float]:
    """Wall seconds and peak MB of mailmerge's dry run over ``limit`` (else all) recipients."""
    cmd = [str(BIN / "mailmerge"), "--template", str(work / "templates" / "mailmerge.txt")]
    cmd += ["--database", str(work / f"recipients-{n}.csv")]
    cmd += ["--config", str(work / "mailmerge.conf"), "--dry-run", "--output-format", "raw"]
    cmd += ["--no-limit"] if limit is None else ["--limit", str(limit)]
    with (out or Path("/dev/null")).open("wb") as f:
        return run(cmd, work, f)


# -- checks ---------------------------------------------------------------------------------
def check(n: int, work: Path) -> str:
    """The outbox is a Maildir of n parseable messages, with the bodies mailmerge renders."""
    folder = work / f"ws-{n}" / "outbox" / "bench" / "0001-2026-11-20"
    md = mailbox.Maildir(folder, factory=None, create=False)
    if len(md) != n:
        return f"FAILED: the outbox holds {len(md)} messages, not {n}"
    with (folder / "manifest.csv").open(newline="", encoding="utf-8") as f:
        key = {r["user_id"]: r["key"] for r in csv.DictReader(f)}
    first, last = key["USR-000000"], key[f"USR-{n - 1:06d}"]
    ours = email.message_from_bytes(md.get_bytes(first), policy=email.policy.default)
    end = email.message_from_bytes(md.get_bytes(last), policy=email.policy.default)
    if end["To"].addresses[0].addr_spec != f"user{n - 1}@customer{(n - 1) // 20}.example":
        return "FAILED: the last message is not for the last recipient"
    peer_out = work / "mailmerge-1.txt"
    run_mailmerge(n, work, limit=1, out=peer_out)
    raw = peer_out.read_text(encoding="utf-8").split(">>> message 1\n", 1)[1]
    theirs = email.message_from_string(raw.split(">>> message 1 sent", 1)[0])
    for kind in ("plain", "html"):
        mine = ours.get_body((kind,)).get_content()  # type: ignore[union-attr]
        peer = next(p for p in theirs.walk() if p.get_content_subtype() == kind)
        payload = peer.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if mine.replace("\r\n", "\n").strip() != payload.decode().replace("\r\n", "\n").strip():
            return f"FAILED: the {kind} bodies of cstool and mailmerge differ"
    if ours["Subject"] != theirs["Subject"]:
        return "FAILED: the subjects of cstool and mailmerge differ"
    return f"ok ({n:,} messages in a valid Maildir; same subject and bodies as mailmerge)"


# -- message building alone -----------------------------------------------------------------
def building(work: Path, count: int) -> tuple[float, float, float, int]:
    """Builds/s: prepared recipient, recipient validated each time, EmailMessage; size."""
    from cstool.templating import EmailTemplates

    template = EmailTemplates(work / "templates").get("day30")
    with (work / f"recipients-{10}.csv").open(newline="", encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    r = template.render(row)
    html, text = r.html or "", r.text
    sender, to = Mailbox(*SENDER), Mailbox(row["name"], row["email"])
    headers = list_unsubscribe(row["unsubscribe_url"])

    def ours(i: int, recipient: Mailbox) -> bytes:
        return build_message(
            sender=sender,
            to=recipient,
            subject=r.subject,
            message_id=f"<b1.{i}@globex.example>",
            date=DATE,
            text=text,
            html=html,
            headers=headers,
        )

    def stdlib(i: int) -> bytes:
        msg = EmailMessage()
        msg["From"] = f"{SENDER[0]} <{SENDER[1]}>"
        msg["To"] = f"{row['name']} <user{i}@customer.example>"
        msg["Subject"] = r.subject
        msg["Message-ID"] = f"<b1.{i}@globex.example>"
        msg["Date"] = DATE
        msg["List-Unsubscribe"] = headers[0][1]
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        return msg.as_bytes(policy=email.policy.SMTP)

    def rate(fn: object, k: int) -> float:
        best = 0.0
        for _ in range(3):
            start = time.perf_counter()
            fn(k)  # type: ignore[operator]
            best = max(best, k / (time.perf_counter() - start))
        return best

    prepared = rate(lambda k: [ours(i, to) for i in range(k)], count)
    validated = rate(
        lambda k: [ours(i, Mailbox(row["name"], f"user{i}@customer.example")) for i in range(k)],
        count,
    )
    stdlib_rate = rate(lambda k: [stdlib(i) for i in range(k)], max(1, count // 20))
    return prepared, validated, stdlib_rate, len(ours(0, to))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--emails", type=int, default=100_000, help="recipients (100,000)")
    ap.add_argument("--small", type=int, default=10_000, help="smaller batch for memory (10,000)")
    ap.add_argument("--builds", type=int, default=20_000, help="builds timed in-process")
    ap.add_argument("--runs", type=int, default=1, help="timed runs of each tool (best kept)")
    ap.add_argument("--work", type=Path, default=HERE / "scratch" / "email")
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    n, small = args.emails, args.small
    for size in (n, 10):
        write_inputs(work, size)
    print(f"building a workspace of {n:,} recipients (not timed) ...", flush=True)
    workspace(work, n)

    print(f"cstool journey send, a batch of {small:,} ...", flush=True)
    _, s_mem = run_cstool(n, work, limit=small)
    c_wall, c_mem = min(run_cstool(n, work) for _ in range(args.runs))
    print(f"cstool journey send, {n:,} emails: {c_wall:.1f} s", flush=True)
    m_wall, m_mem = min(run_mailmerge(n, work) for _ in range(args.runs))
    print(f"mailmerge --dry-run, {n:,} emails: {m_wall:.1f} s", flush=True)
    verdict = check(n, work)
    prepared, validated, stdlib_rate, size = building(work, args.builds)

    new = work / f"ws-{n}" / "outbox" / "bench" / "0001-2026-11-20" / "new"
    eml = next(new.iterdir())
    print(f"\none email: {eml.stat().st_size:,} bytes on disk (HTML + text, quoted-printable)")
    print(f"{'tool':<48}{'emails/s':>10}{'wall s':>9}{'peak MB':>9}")
    print(f"{'cstool journey send (plan, render, ledger, Maildir)':<48}{n / c_wall:>10,.0f}"
          f"{c_wall:>9.1f}{c_mem:>9,.0f}")  # fmt: skip
    print(f"{'mailmerge --dry-run (peer)':<48}{n / m_wall:>10,.0f}{m_wall:>9.1f}{m_mem:>9,.0f}")
    print(f"cstool / mailmerge: {m_wall / c_wall:.2f}x")
    print(f"memory: cstool peak {s_mem:,.0f} MB for a batch of {small:,}, {c_mem:,.0f} MB for "
          f"{n:,} (same workspace of {n:,} people)")  # fmt: skip
    print(f"message building alone ({size:,} bytes): build_message {prepared:,.0f}/s, "
          f"{validated:,.0f}/s validating a new recipient each time; "
          f"EmailMessage {stdlib_rate:,.0f}/s")  # fmt: skip
    print(f"check: {verdict}")
    targets = {
        "at least 2,000 emails/s": n / c_wall >= 2000,
        "at least 3x mailmerge": m_wall / c_wall >= 3,
        "memory flat (within 10%)": c_mem <= s_mem * 1.1,
        "building at least 10,000/s": prepared >= 10_000,
    }
    print("targets: " + "; ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in targets.items()))
    if verdict.startswith("FAILED"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
