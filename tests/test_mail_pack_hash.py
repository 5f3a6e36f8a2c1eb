"""Nothing is rendered for nothing: the pack hash comes from what a pack is made of.

``send`` and ``run weekly`` find, before rendering anything, whether every
recipient already has the current pack: its hash covers the record versions
and reads the day's plan rests on, the report and RAG settings, the template
files, the group's scope, the day and sheetsync's version (see
``sheetsync.mail.pack.PackBuilder``). These tests drive the real CLI against the
real SMTP server of tests/smtp_server.py:

* a second send of an unchanged model shows no rendering step on the terminal
  (the real CLI in a subprocess with stderr on a pseudo-terminal, as a user
  sees it), opens no SMTP connection and sends nothing;
* each thing a pack is made of, changed, gives an "updated pack" whose content
  shows the change; things a pack is not made of (the SMTP settings, a new
  recipient, where the template folder lives, a re-read of the same workbook)
  give none.
"""

# ruff: noqa: F811 - test_mail's fixtures (plan, server) are imported, then requested
from __future__ import annotations

import email.policy
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import pytest
import time_machine
from openpyxl import load_workbook
from smtp_server import SmtpServer
from test_mail import (  # noqa: F401 - the fixtures: certificate, smtp_env, server, plan
    AS_OF,
    EXECS,
    WEEK,
    Plan,
    attachments,
    certificate,
    make_plan,
    pdf_text,
    plan,
    send,
    server,
    smtp_env,
)
from test_progress import COLOR, run, steps

# The pack's day, on which the edits below are pulled (later pulls would not
# change that day's plan: the plan as of a day is the one known that day).
ON_THE_DAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
LATER_THAT_DAY = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
LATE_MILESTONE = "Partner referral programme live"  # late in the sample: in every summary


def terminal_send(plan: Plan, *args: str) -> tuple[int, list[str], str]:
    """``sheetsync send`` as a user runs it, stderr on a terminal: (exit code, the
    status lines it drew, stdout). The plan's "history starts on" note is left out."""
    rc, term, out = run(
        plan.dir, "--config", str(plan.config_path), "--db", plan.db, *args, tty="stderr"
    )
    shown = [COLOR.sub("", s) for s in steps(term)]
    return rc, [s for s in shown if not s.startswith("Note: The model's history")], out


def rendering(shown: list[str]) -> list[str]:
    """The status lines of a render: "executive report: laying out the PDF" ..."""
    return [s for s in shown if " report" in s.split(":")[0]]


def latest(server: SmtpServer, rcpt: str):
    return server.handler.to(rcpt)[-1].message


def text_body(msg) -> str:
    return " ".join(msg.get_body(("plain",)).get_content().split())


# --------------------------------------------------------------------------- nothing to do


def test_a_second_send_of_an_unchanged_model_renders_nothing(plan: Plan, server: SmtpServer):
    rc, shown, out = terminal_send(plan, "send", "--as-of", AS_OF.isoformat())
    assert rc == 0, (shown, out)
    assert "executive report: laying out the PDF" in shown, shown  # the observation works
    assert f"Sent 3 of 3 messages for {WEEK}." in out
    assert len(server.messages) == 3
    ehlos, rows = server.handler.ehlos, plan.ledger()

    rc, shown, out = terminal_send(plan, "send", "--as-of", AS_OF.isoformat())
    assert rc == 0, (shown, out)
    assert rendering(shown) == [] and shown == [], shown  # no step at all: nothing rendered
    assert f"Nothing to send: all 3 messages for {WEEK} were sent before." in out
    assert server.handler.ehlos == ehlos  # not even a connection to the server
    assert len(server.handler.data_for) == 3
    assert plan.ledger() == rows  # no claim, no attempt counted

    # The JSON still says which pack each recipient has, with its subject, from the ledger.
    rc, shown, out = terminal_send(plan, "send", "--as-of", AS_OF.isoformat(), "--json")
    assert rc == 0 and shown == [], shown
    outcomes = {o["recipient"]: o for o in json.loads(out)["outcomes"]}
    for rcpt in EXECS:
        sent = latest(server, rcpt)
        assert outcomes[rcpt]["status"] == "skipped"
        assert outcomes[rcpt]["subject"] == sent["Subject"]
        assert f"{WEEK} {outcomes[rcpt]['pack_hash']}" == sent["X-Sheetsync-Pack"].strip()


def test_run_weekly_on_unchanged_sources_renders_nothing(tmp_path: Path, server: SmtpServer):
    plan = make_plan(tmp_path, server.mail_section(), pull=False)
    rc, shown, out = terminal_send(plan, "run", "weekly", "--as-of", AS_OF.isoformat())
    assert rc == 0, (shown, out)
    assert "Pulled plan: changes." in out and rendering(shown), shown
    assert len(server.messages) == 3
    ehlos = server.handler.ehlos

    rc, shown, out = terminal_send(plan, "run", "weekly", "--as-of", AS_OF.isoformat())
    assert rc == 0, (shown, out)
    assert "Pulled plan: no change." in out
    assert rendering(shown) == [], shown  # only the pull's own steps
    assert "Nothing to send: all 3 messages" in out
    assert server.handler.ehlos == ehlos and len(server.messages) == 3


def test_resend_renders_what_it_sends(plan: Plan, server: SmtpServer):
    """--resend is the exception: it sends, so it renders; the copy is the same pack."""
    assert send(plan).exit_code == 0
    rc, shown, out = terminal_send(
        plan, "send", "--as-of", AS_OF.isoformat(), "--resend", "--to", "cfo@northwind.example"
    )
    assert rc == 0, (shown, out)
    assert rendering(shown), shown
    first, again = server.handler.to("cfo@northwind.example")
    assert first.message["X-Sheetsync-Pack"] == again.message["X-Sheetsync-Pack"]
    assert first.message["Message-ID"] == again.message["Message-ID"]


# --------------------------------------------------------------------------- what a pack is made of


def edit_workbook(plan: Plan) -> None:
    """Rename the late milestone in the workbook and pull, on the pack's day."""
    path = plan.dir / "sales_plan.xlsx"
    wb = load_workbook(path)
    ws = wb["Milestones"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == LATE_MILESTONE)
    cell.value = "Partner referral programme relaunched"
    wb.save(path)
    with time_machine.travel(LATER_THAT_DAY, tick=False):
        r = plan.run("pull")
    assert r.exit_code == 0 and "milestones: 1 updated" in r.output, r.output


def edit_template(plan: Plan) -> None:
    page = plan.dir / "templates" / "executive.html"
    page.write_text(
        page.read_text().replace("</body>", "<p>Prepared by Sales Ops</p></body>"),
        encoding="utf-8",
    )


def add_email_template(plan: Plan) -> None:
    """A new file in the template folder: a text summary of its own."""
    (plan.dir / "templates" / "email_summary.txt").write_text(
        "{{ email.heading }}\nSee the attached report, as of {{ email.as_of }}.\n",
        encoding="utf-8",
    )


def edit_config(old: str, new: str) -> Callable[[Plan], None]:
    def change(plan: Plan) -> None:
        text = plan.config_path.read_text(encoding="utf-8")
        assert old in text
        plan.config_path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return change


def shows_renamed_milestone(before, after) -> None:
    assert LATE_MILESTONE in text_body(before)
    assert "Partner referral programme relaunched" in text_body(after)


def pdf_of(msg) -> str:
    (data,) = attachments(msg).values()
    return pdf_text(data)


def shows_new_template(before, after) -> None:
    assert "Prepared by Sales Ops" not in pdf_of(before)
    assert "Prepared by Sales Ops" in pdf_of(after)


def shows_email_template(before, after) -> None:
    line = "See the attached report, as of Nov 30, 2026."
    assert line not in text_body(before) and line in text_body(after)


def shows_company(before, after) -> None:
    assert before["Subject"].startswith("Northwind Traders sales status")
    assert after["Subject"].startswith("Northwind Traders GmbH sales status")
    assert "Northwind Traders GmbH" in pdf_of(after)


def shows_rag(before, after) -> None:
    """The thresholds are in the summary's RAG rules."""
    assert "Green: pace ≥ 95%." in text_body(before)
    assert "Green: pace ≥ 90%." in text_body(after)


CHANGES = {
    "workbook edited and pulled": (edit_workbook, shows_renamed_milestone),
    "report template edited": (edit_template, shows_new_template),
    "template added to the folder": (add_email_template, shows_email_template),
    "config: company": (
        edit_config('company = "Northwind Traders"', 'company = "Northwind Traders GmbH"'),
        shows_company,
    ),
    "config: RAG threshold": (
        edit_config("[report]\n", "[rag]\ngreen_at = 0.9\n\n[report]\n"),
        shows_rag,
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_to_what_the_pack_is_made_of_is_an_updated_pack(
    change: str, tmp_path: Path, server: SmtpServer
):
    make_change, check = CHANGES[change]
    with time_machine.travel(ON_THE_DAY, tick=False):
        plan = make_plan(tmp_path, server.mail_section())
        assert send(plan).exit_code == 0
    before = {r: latest(server, r) for r in EXECS}

    make_change(plan)
    with time_machine.travel(LATER_THAT_DAY, tick=False):
        r = send(plan)
    assert r.exit_code == 0, r.output
    assert r.output.count("updated pack: an earlier version went out 2026-11-30 08:00 UTC") == 3
    assert len(server.messages) == 6
    for rcpt in EXECS:
        after = latest(server, rcpt)
        assert after["X-Sheetsync-Pack"] != before[rcpt]["X-Sheetsync-Pack"]
        check(before[rcpt], after)
    with time_machine.travel(LATER_THAT_DAY, tick=False):
        again = send(plan)  # and the updated pack is the current one
    assert "Nothing to send: all 3 messages" in again.output, again.output
    assert len(server.messages) == 6


# --------------------------------------------------------------------------- what it is not made of


def reread_workbook(plan: Plan) -> None:
    """The same workbook read and compared again in full: a new read, the same values."""
    r = plan.run("pull", "--full")
    assert r.exit_code == 0 and "milestones: no change" in r.output, r.output


def move_templates(plan: Plan) -> None:
    shutil.move(plan.dir / "templates", plan.dir / "report-templates")
    edit_config('template_dir = "templates"', 'template_dir = "report-templates"')(plan)


NOT_THE_PACK = {
    "workbook read again": reread_workbook,
    "template folder moved": move_templates,
    "SMTP settings": edit_config("timeout = 10", "timeout = 20"),
}


@pytest.mark.parametrize("change", list(NOT_THE_PACK))
def test_a_change_to_anything_else_sends_nothing(change: str, plan: Plan, server: SmtpServer):
    assert send(plan).exit_code == 0
    NOT_THE_PACK[change](plan)
    rc, shown, out = terminal_send(plan, "send", "--as-of", AS_OF.isoformat())
    assert rc == 0, (shown, out)
    assert "Nothing to send: all 3 messages" in out and rendering(shown) == [], (shown, out)
    assert len(server.messages) == 3


def test_a_new_recipient_gets_the_pack_the_others_already_have(plan: Plan, server: SmtpServer):
    assert send(plan).exit_code == 0
    edit_config('"coo@northwind.example"]', '"coo@northwind.example", "cro@northwind.example"]')(
        plan
    )
    r = send(plan)
    assert r.exit_code == 0, r.output
    assert f"Sent 1 of 4 messages for {WEEK} (3 sent before)." in r.output
    assert "updated pack" not in r.output
    new = latest(server, "cro@northwind.example")
    assert new["X-Sheetsync-Pack"] == latest(server, "ceo@northwind.example")["X-Sheetsync-Pack"]
    raw = server.handler.to("cro@northwind.example")[0].data
    eml = message_from_bytes(raw, policy=email.policy.default)
    assert eml["To"] == "cro@northwind.example"
