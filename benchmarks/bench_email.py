"""Email throughput: personalised emails rendered and written per second, beside mailmerge.

Generates --emails recipients (a CSV file) and one email: a ~2 KB HTML part, a text part and a
subject, as Jinja templates. Then, in the same run and each as its own process (so its wall
time includes start-up and imports, and its peak memory is its own):

* cstool: for each recipient, render with the one sandboxed environment (cstool.templating),
  build the message (cstool.mail.build_message), stage it in a Maildir outbox and insert a
  row in a SQLite send ledger, all in one transaction; then publish the batch (rename into
  new/), sync the outbox folders, commit, and write manifest.csv. That is the work of
  ``journey send`` without its planning; :func:`run_cstool` is the one function to point at
  the command instead.
* mailmerge (the usual Jinja mail-merge CLI), over the same CSV and the same templates, in its
  dry run: ``mailmerge --no-limit --dry-run --output-format raw``, printing to /dev/null.

cstool also runs at --small recipients to show that its memory does not grow with the batch,
and the script checks that both tools render the same bodies and that the outbox is a valid
Maildir whose messages parse back. Last, message building alone, in this process: cstool's
builder beside the email package's EmailMessage.

    python benchmarks/bench_email.py                      # 100,000 emails, memory at 10,000
    python benchmarks/bench_email.py --emails 20000 --small 2000

Targets on a 2-core machine: at least 2,000 emails/s, at least 3x mailmerge, memory flat in
the batch size; message building alone at least 10,000/s.
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import json
import mailbox
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from _common import BIN, HERE, run

from cstool.mail import Mailbox, MaildirOutbox, Rejected, build_message, list_unsubscribe
from cstool.mail import message_id as make_message_id

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
<tr><td>Active users this week</td><td>{{ active_users }}</td></tr>
<tr><td>Depth</td><td>{{ depth_pct }}</td></tr>
<tr><td>Features in use</td><td>{{ features_used }} of {{ features }}</td></tr>
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

Active users this week: {{ active_users }}
Depth: {{ depth_pct }}
Features in use: {{ features_used }} of {{ features }}

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
    "active_users",
    "depth_pct",
    "features_used",
    "features",
    "unsubscribe_url",
]
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustavo", "Hana", "Ivo", "Jonas"]
LAST = ["Silva", "Okafor", "Müller", "Nakamura", "Jensen", "Haddad", "Novak", "Reyes"]
DATE = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
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
                    "Priya Raman", i % 50, f"{i % 100}%", i % 12, 12,
                    f"https://mail.globex.example/u/{i:08x}",
                ])  # fmt: skip
    return path


# -- cstool ---------------------------------------------------------------------------------
def worker(n: int, work: Path) -> None:
    """The cstool side, run as its own process: render, build, stage, ledger, publish."""
    from cstool.templating import EmailTemplates

    outbox_dir, ledger_path = work / f"outbox-{n}", work / f"ledger-{n}.db"
    template = EmailTemplates(work / "templates").get("day30")
    sender = Mailbox(*SENDER)
    outbox = MaildirOutbox(outbox_dir / "batch-1")
    ledger = sqlite3.connect(ledger_path, isolation_level=None)
    ledger.execute("PRAGMA journal_mode=WAL")
    ledger.execute("PRAGMA synchronous=NORMAL")
    ledger.execute(
        "CREATE TABLE sends (key TEXT PRIMARY KEY, message_id TEXT NOT NULL, user_id TEXT,"
        " recipient TEXT NOT NULL, subject TEXT NOT NULL, status TEXT NOT NULL, reason TEXT)"
    )
    spent = dict.fromkeys(("render", "address", "build", "stage", "ledger"), 0.0)
    clock = time.perf_counter
    keys = 0
    ledger.execute("BEGIN IMMEDIATE")
    with (work / f"recipients-{n}.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = f"b1.{keys:06d}"
            mid = make_message_id(key, "globex.example")
            t0 = clock()
            rendered = template.render(row, recipient=row["user_id"])
            t1 = clock()
            status, reason = "written", None
            try:
                to = Mailbox(row["name"], row["email"])
                t2 = clock()
                data = build_message(
                    sender=sender,
                    to=to,
                    reply_to=sender,
                    subject=rendered.subject,
                    message_id=mid,
                    date=DATE,
                    text=rendered.text,
                    html=rendered.html or "",
                    headers=[
                        *list_unsubscribe(row["unsubscribe_url"]),
                        ("X-Cstool-Journey", "onboarding"),
                        ("X-Cstool-Step", "day30"),
                    ],
                )
                t3 = clock()
                outbox.stage(key, data)
            except Rejected as e:
                t2 = t3 = clock()
                status, reason = "invalid", str(e)
            t4 = clock()
            ledger.execute(
                "INSERT INTO sends VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, mid, row["user_id"], row["email"], rendered.subject, status, reason),
            )
            t5 = clock()
            spent["render"] += t1 - t0
            spent["address"] += t2 - t1
            spent["build"] += t3 - t2
            spent["stage"] += t4 - t3
            spent["ledger"] += t5 - t4
            keys += 1
    t0 = clock()
    for i in range(keys):
        outbox.publish(f"b1.{i:06d}")
    outbox.sync()
    ledger.execute("COMMIT")
    t1 = clock()
    rows = ledger.execute("SELECT key, message_id, user_id, status, reason FROM sends ORDER BY key")
    outbox.write_manifest(["key", "message_id", "user_id", "status", "reason"], rows)
    ledger.close()
    spent["publish + commit"] = t1 - t0
    spent["manifest"] = clock() - t1
    print(json.dumps({"emails": keys, "spent": spent}))


def run_cstool(n: int, work: Path) -> tuple[float, float, dict[str, float]]:
    """Wall seconds, peak MB and the time per phase of cstool writing ``n`` emails."""
    # A fresh outbox and ledger; removing the last run's files is not part of the timing.
    shutil.rmtree(work / f"outbox-{n}", ignore_errors=True)
    (work / f"ledger-{n}.db").unlink(missing_ok=True)
    out = work / f"worker-{n}.json"
    with out.open("wb") as f:
        wall, mem = run(
            [sys.executable, __file__, "--worker", str(n), "--work", str(work)], work, f
        )
    report = json.loads(out.read_text())
    if report["emails"] != n:
        raise SystemExit(f"cstool wrote {report['emails']} emails, not {n}")
    return wall, mem, report["spent"]


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
    md = mailbox.Maildir(work / f"outbox-{n}" / "batch-1", factory=None, create=False)
    keys = sorted(md.keys())
    if len(keys) != n:
        return f"FAILED: the outbox holds {len(keys)} messages, not {n}"
    ours = email.message_from_bytes(md.get_bytes(keys[0]), policy=email.policy.default)
    last = email.message_from_bytes(md.get_bytes(keys[-1]), policy=email.policy.default)
    if last["To"].addresses[0].addr_spec != f"user{n - 1}@customer{(n - 1) // 20}.example":
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
    ap.add_argument("--work", type=Path, default=HERE / "scratch" / "email")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = args.work.resolve()
    if args.worker is not None:
        worker(args.worker, work)
        return
    work.mkdir(parents=True, exist_ok=True)
    n, small = args.emails, args.small
    for size in (n, small, 10):
        write_inputs(work, size)

    print(f"cstool: {n:,} emails ...", flush=True)
    c_wall, c_mem, spent = run_cstool(n, work)
    print(f"cstool: {small:,} emails ...", flush=True)
    _, s_mem, _ = run_cstool(small, work)
    print(f"mailmerge: {n:,} emails ...", flush=True)
    m_wall, m_mem = run_mailmerge(n, work)
    verdict = check(n, work)
    prepared, validated, stdlib_rate, size = building(work, args.builds)

    eml = work / f"outbox-{n}" / "batch-1" / "new" / "b1.000000"
    print(f"\none email: {eml.stat().st_size:,} bytes on disk (HTML + text, quoted-printable)")
    print(f"{'tool':<44}{'emails/s':>10}{'wall s':>9}{'peak MB':>9}")
    print(f"{'cstool (render, build, ledger, Maildir)':<44}{n / c_wall:>10,.0f}{c_wall:>9.1f}"
          f"{c_mem:>9,.0f}")  # fmt: skip
    print(f"{'mailmerge --dry-run (peer)':<44}{n / m_wall:>10,.0f}{m_wall:>9.1f}{m_mem:>9,.0f}")
    print(f"cstool / mailmerge: {m_wall / c_wall:.2f}x")
    print(f"memory: cstool peak {s_mem:,.0f} MB at {small:,} emails, {c_mem:,.0f} MB at {n:,}")
    total = sum(spent.values())
    print("cstool time per email: " + ", ".join(
        f"{k} {v / n * 1e6:.0f} us" for k, v in spent.items()
    ) + f"; the rest (start-up, CSV) {(c_wall - total) / n * 1e6:.0f} us")  # fmt: skip
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
