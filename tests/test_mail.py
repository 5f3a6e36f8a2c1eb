"""The status pack by email, end to end against a real SMTP server on loopback.

Every test drives the real CLI in-process (``sheetsync send`` / ``run weekly``)
through the real smtplib client into aiosmtpd with STARTTLS and AUTH (see
tests/smtp_server.py), with the model in a real SQLite file, and then checks
what arrived at the server and what the ledger says.

Most tests point ``[report] template_dir`` at a one-page report template so a
render takes a second; ``test_pack_over_starttls_matches_rendered_reports``
uses the built-in reports.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result
from smtp_server import PASSWORD, USERNAME, SmtpServer, free_port, make_certificate

from sheetsync.cli import cli
from sheetsync.config import load_config
from sheetsync.mail import ledger
from sheetsync.mail.message import period_key
from sheetsync.mail.pack import build_all_packs, build_packs
from sheetsync.mail.send import claim_pack, send_packs
from sheetsync.store import Store, utcnow

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
# The sample plan's day. The model is pulled "now", whatever the date: before or
# on that day the pack shows the plan as it then stood, after it the plan as first
# pulled (sheetsync.plan.plan_as_of), so the tests hold on any date.
AS_OF = date(2026, 11, 30)
WEEK = period_key(AS_OF)
EXECS = ["ceo@northwind.example", "cfo@northwind.example", "coo@northwind.example"]

FAST_REPORT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ meta.title }}</title></head>
<body><h1>{{ meta.company }}: {{ meta.title }}</h1>
<p>As of {{ meta.as_of|day }}{% if meta.teams %} for {{ meta.teams|join(", ") }}{% endif %}</p>
<ul>{% for k in kpis %}<li>{{ k.label }}</li>{% endfor %}</ul></body></html>
"""

EXEC_GROUP = f"""
[mail.groups.executives]
recipients = {json.dumps(EXECS)}
reports = ["executive"]
"""


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def smtp_env(monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path]) -> None:
    """Trust the test certificate; the SMTP password in the environment only."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture
def server(certificate: tuple[Path, Path]):
    s = SmtpServer(*certificate).start()
    yield s
    s.stop()


@dataclass
class Plan:
    dir: Path
    config_path: Path
    db: str

    def run(self, *args: str | Path) -> Result:
        return CliRunner().invoke(
            cli,
            ["--config", str(self.config_path), "--db", self.db, *[str(a) for a in args]],
            catch_exceptions=False,
        )

    @property
    def config(self):
        return load_config(self.config_path)

    def store(self) -> Store:
        return Store(self.db)

    def ledger(self) -> dict[str, ledger.SendRecord]:
        store = self.store()
        try:
            return {r.recipient: r for r in ledger.history(store)}
        finally:
            store.close()


def without_mail(toml: str) -> str:
    """The sample's config minus any [mail] / [mail.groups.*] tables: the tests bring their own."""
    out, skipping = [], False
    for line in toml.splitlines(keepends=True):
        if line.startswith("["):
            skipping = re.match(r"\[mail[.\]]", line) is not None
        if not skipping:
            out.append(line)
    return "".join(out)


def make_plan(
    tmp_path: Path, mail: str, groups: str = EXEC_GROUP, *, fast: bool = True, pull: bool = True
) -> Plan:
    """The sample workbook and a sheetsync.toml written for this test."""
    d = tmp_path / "plan"
    d.mkdir()
    shutil.copy2(SAMPLES / "sales_plan.xlsx", d / "sales_plan.xlsx")
    toml = without_mail((SAMPLES / "sheetsync.toml").read_text(encoding="utf-8"))
    if fast:
        (d / "templates").mkdir()
        for name in ("executive", "weekly"):
            (d / "templates" / f"{name}.html").write_text(FAST_REPORT, encoding="utf-8")
        toml = toml.replace("[report]\n", '[report]\ntemplate_dir = "templates"\n', 1)
    (d / "sheetsync.toml").write_text(f"{toml}\n{mail}\n{groups}\n", encoding="utf-8")
    plan = Plan(d, d / "sheetsync.toml", f"sqlite:///{d / 'model.db'}")
    if pull:
        r = plan.run("pull")
        assert r.exit_code == 0, r.output
    return plan


@pytest.fixture
def plan(tmp_path: Path, server: SmtpServer) -> Plan:
    return make_plan(tmp_path, server.mail_section())


def send(plan: Plan, *args: str) -> Result:
    return plan.run("send", "--as-of", AS_OF.isoformat(), *args)


def structure(msg) -> list:
    """The MIME tree as nested [content type, children...] / 'type filename'."""
    if msg.is_multipart():
        return [msg.get_content_type(), *[structure(p) for p in msg.iter_parts()]]
    name = msg.get_filename()
    return f"{msg.get_content_type()} {name}" if name else msg.get_content_type()


def attachments(msg) -> dict[str, bytes]:
    return {p.get_filename(): p.get_content() for p in msg.iter_attachments()}


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def assert_no_secret(result: Result) -> None:
    assert PASSWORD not in result.output


# --------------------------------------------------------------------------- the pack


def test_pack_over_starttls_matches_rendered_reports(tmp_path: Path, server: SmtpServer):
    """Built-in reports, two groups (one filtered to a team, one with the workbook)."""
    groups = (
        EXEC_GROUP
        + "attach_workbook = true\n"
        + """
[mail.groups.enterprise]
recipients = ["ent.lead@northwind.example"]
reports = ["executive"]
teams = ["Enterprise"]
"""
    )
    plan = make_plan(tmp_path, server.mail_section(), groups, fast=False)
    r = send(plan)
    assert r.exit_code == 0, r.output
    assert_no_secret(r)
    assert f"Sent 4 of 4 messages for {WEEK}" in r.output

    # One envelope per recipient, each over TLS after AUTH.
    assert sorted(rc for m in server.messages for rc in m.rcpt_tos) == sorted(
        [*EXECS, "ent.lead@northwind.example"]
    )
    assert all(len(m.rcpt_tos) == 1 for m in server.messages)
    assert all(m.mail_from == "salesops@northwind.example" for m in server.messages)
    assert all(m.tls and m.login == USERNAME for m in server.messages)

    y, w, _ = AS_OF.isocalendar()
    subject = f"Northwind Traders sales status — week {w}, {y} ({AS_OF:%b} {AS_OF.day}, {AS_OF.year})"  # the one date style
    ceo = server.handler.to("ceo@northwind.example")[0].message
    lead = server.handler.to("ent.lead@northwind.example")[0].message
    # the verdict in a few words, from the same figures as the report (94% of plan)
    assert ceo["Subject"] == subject + ": 94% of plan, $1.2M projected gap"
    assert lead["Subject"].startswith(subject + " · Enterprise: ")
    assert "% of plan" in lead["Subject"]
    assert ceo["To"] == "ceo@northwind.example"
    assert ceo["From"] == "Northwind Sales Ops <salesops@northwind.example>"
    assert ceo["Auto-Submitted"] == "auto-generated"
    assert ceo["Date"]

    exec_pdf = f"northwind-traders-executive-{WEEK}.pdf"
    workbook = f"northwind-traders-model-{WEEK}.xlsx"
    team_pdf = f"northwind-traders-executive-{WEEK}-enterprise.pdf"
    assert structure(ceo) == [
        "multipart/mixed",
        ["multipart/alternative", "text/plain", "text/html"],
        f"application/pdf {exec_pdf}",
        f"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet {workbook}",
    ]
    assert structure(lead) == [
        "multipart/mixed",
        ["multipart/alternative", "text/plain", "text/html"],
        f"application/pdf {team_pdf}",
    ]

    # The attachments are exactly the reports render_report makes for that day.
    from sheetsync.report import render_report

    store = plan.store()
    expected = render_report(store, plan.config, name="executive", as_of=AS_OF)
    expected_team = render_report(
        store, plan.config, name="executive", as_of=AS_OF, teams=("Enterprise",)
    )
    got = attachments(ceo)
    assert got[exec_pdf] == expected
    assert attachments(lead)[team_pdf] == expected_team
    text_of_pdf = pdf_text(got[exec_pdf])
    assert "NORTHWIND TRADERS" in text_of_pdf.upper() and "Executive summary" in text_of_pdf
    assert "Tom Okafor" in pdf_text(expected_team)  # an Enterprise rep behind pace

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(got[workbook]))
    assert {"Projects", "Milestones", "Quotas", "Budget"} <= set(wb.sheetnames)
    assert wb["Quotas"].max_row == 1 + len(store.records("quotas"))

    # The summary: headline KPIs and what needs attention, phone-friendly, no remote anything.
    html = ceo.get_body(("html",)).get_content()
    text = ceo.get_body(("plain",)).get_content()
    for body in (html, text):
        assert "Attainment year to date" in body
        assert "Milestones late or at risk" in body
        assert "Partner referral programme live" in body  # late in the sample
    assert 'name="viewport"' in html and "max-width:600px" in html
    assert not re.search(r"<img|<link|<style|<script|src=|url\(|https?://", html, re.I)
    assert "Tom Okafor" in lead.get_body(("plain",)).get_content()

    # The ledger: one sent row per recipient, its Message-ID the one that arrived.
    rows = plan.ledger()
    assert {r: rows[r].status for r in rows} == dict.fromkeys(
        [*EXECS, "ent.lead@northwind.example"], "sent"
    )
    assert rows["ceo@northwind.example"].message_id == ceo["Message-ID"]
    assert rows["ceo@northwind.example"].period == WEEK

    # Identical runs give identical packs (hash, Message-ID): the PDFs are deterministic.
    again = build_packs(plan.config, store, "executives", AS_OF)
    assert {p.recipient: p.pack_hash for p in again} == {r: rows[r].pack_hash for r in EXECS}
    assert {p.message_id for p in again} == {
        m.message["Message-ID"] for m in server.messages if m.rcpt_tos[0] in EXECS
    }
    store.close()


def test_a_team_pack_carries_only_that_teams_data(tmp_path: Path, server: SmtpServer):
    """The Enterprise lead's workbook holds Enterprise quotas only (not all 139 rows),
    and the milestone and budget cards, which belong to no team, say company-wide."""
    groups = EXEC_GROUP + (
        "attach_workbook = true\n"
        '[mail.groups.enterprise]\nrecipients = ["ent.lead@northwind.example"]\n'
        'reports = ["executive"]\nteams = ["Enterprise"]\nattach_workbook = true\n'
    )
    plan = make_plan(tmp_path, server.mail_section(), groups, fast=False)
    r = send(plan)
    assert r.exit_code == 0, r.output
    from openpyxl import load_workbook

    store = plan.store()
    quotas = store.records("quotas")
    store.close()
    mine = [q for q in quotas if q["team"] == "Enterprise"]
    assert 0 < len(mine) < len(quotas) == 139
    lead = server.handler.to("ent.lead@northwind.example")[0].message
    got = attachments(lead)
    name = f"northwind-traders-model-{WEEK}-enterprise.xlsx"
    assert set(got) == {f"northwind-traders-executive-{WEEK}-enterprise.pdf", name}
    ws = load_workbook(io.BytesIO(got[name]))["Quotas"]
    header = [c.value for c in ws[1]]
    teams = [row[header.index("Team")] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert teams == ["Enterprise"] * len(mine)
    ceo = server.handler.to("ceo@northwind.example")[0].message
    everyone = load_workbook(io.BytesIO(attachments(ceo)[f"northwind-traders-model-{WEEK}.xlsx"]))
    assert everyone["Quotas"].max_row == 1 + 139  # the unfiltered group still gets it all

    text = lead.get_body(("plain",)).get_content()
    html = lead.get_body(("html",)).get_content()
    assert "Milestones (company-wide):" in text and "Budget spent (company-wide):" in text
    assert "Milestones · company-wide" in html and "Budget spent · company-wide" in html
    assert "Milestones late or at risk (company-wide)" in text + html
    assert "Attainment year to date:" in text  # the team's own figures are not labelled
    exec_text = ceo.get_body(("plain",)).get_content()
    assert "company-wide" not in exec_text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(tmp_path: Path, certificate: tuple[Path, Path]):
    server = SmtpServer(*certificate, implicit_tls=True).start()
    try:
        plan = make_plan(tmp_path, server.mail_section())
        r = send(plan)
        assert r.exit_code == 0, r.output
        assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(EXECS)
        assert all(m.tls for m in server.messages)
    finally:
        server.stop()


# --------------------------------------------------------------------------- exactly once


def test_rerun_after_success_sends_nothing_and_resend_forces(plan: Plan, server: SmtpServer):
    first = send(plan)
    assert first.exit_code == 0, first.output
    assert len(server.messages) == 3

    again = send(plan)
    assert again.exit_code == 0, again.output
    assert f"Nothing to send: all 3 messages for {WEEK} were sent before." in again.output
    assert "already sent" in again.output
    assert len(server.messages) == 3

    forced = send(plan, "--resend", "--to", "cfo@northwind.example")
    assert forced.exit_code == 0, forced.output
    assert len(server.messages) == 4
    resent = server.handler.to("cfo@northwind.example")
    assert len(resent) == 2
    assert resent[0].message["Message-ID"] == resent[1].message["Message-ID"]
    assert plan.ledger()["cfo@northwind.example"].attempts == 2

    everyone = send(plan, "--resend")
    assert everyone.exit_code == 0
    assert len(server.messages) == 7


def test_server_down_then_up_delivers_everything(tmp_path: Path, certificate):
    port = free_port()  # nothing listens here yet
    plan = make_plan(tmp_path, SmtpServer(*certificate, port=port).mail_section())
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "connection refused" in r.output
    assert "run the same command again" in r.output
    assert {row.status for row in plan.ledger().values()} == {"failed"}
    assert len(plan.ledger()) == 3

    server = SmtpServer(*certificate, port=port).start()
    try:
        r = send(plan)
        assert r.exit_code == 0, r.output
        assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(EXECS)
        rows = plan.ledger()
        assert {row.status for row in rows.values()} == {"sent"}
        assert {row.attempts for row in rows.values()} == {2}
    finally:
        server.stop()


def test_rejected_recipient_only_it_is_retried(plan: Plan, server: SmtpServer):
    server.handler.reject.add("cfo@northwind.example")
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "rejected recipient cfo@northwind.example: 550" in r.output
    assert sorted(m.rcpt_tos[0] for m in server.messages) == [
        "ceo@northwind.example",
        "coo@northwind.example",
    ]
    rows = plan.ledger()
    assert rows["cfo@northwind.example"].status == "failed"
    assert "User unknown" in rows["cfo@northwind.example"].error

    server.handler.reject.clear()  # the mailbox was fixed
    r = send(plan)
    assert r.exit_code == 0, r.output
    assert len(server.messages) == 3
    assert server.messages[-1].rcpt_tos == ["cfo@northwind.example"]
    assert "already sent" in r.output
    assert f"Sent 1 of 3 messages for {WEEK} (2 sent before)." in r.output


def test_dropped_connection_after_the_whole_message_is_in_doubt(plan: Plan, server: SmtpServer):
    """The server drops the connection once the final "." arrived: the message may
    have been accepted, so it is "unknown" and a re-run does not send it again."""
    server.handler.drop.add("ceo@northwind.example")  # the first message of the run
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "? unknown" in r.output
    assert (
        "closed the connection after the whole message to ceo@northwind.example was sent"
        in r.output
    )
    assert "it may have been accepted, so it is not sent again without --resend" in r.output
    assert "1 of 3 messages in doubt" not in r.output and "1 in doubt" in r.output
    assert server.handler.dropped == [["ceo@northwind.example"]]
    # The connection is opened again for the messages after it.
    assert sorted(m.rcpt_tos[0] for m in server.messages) == [
        "cfo@northwind.example",
        "coo@northwind.example",
    ]
    assert plan.ledger()["ceo@northwind.example"].status == "unknown"

    server.handler.drop.clear()
    r = send(plan)  # a plain re-run: never a second copy of a message in doubt
    assert r.exit_code == 4, r.output
    assert "ceo@northwind.example (executives): in doubt since" in r.output
    assert "--resend --to ADDRESS" in r.output
    assert len(server.handler.data_for) == 3 and len(server.messages) == 2

    r = send(plan, "--resend", "--to", "ceo@northwind.example")  # checked: it did not arrive
    assert r.exit_code == 0, r.output
    assert [m.rcpt_tos for m in server.messages[2:]] == [["ceo@northwind.example"]]


def test_reply_too_late_is_in_doubt_and_never_sent_twice(tmp_path: Path, server: SmtpServer):
    """The server accepts the message after the client gave up waiting (timeout):
    before, the re-run delivered it a second time."""
    plan = make_plan(tmp_path, server.mail_section(timeout=1))
    server.handler.stall["cfo@northwind.example"] = 2.5
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert (
        "did not answer within 1 s after the whole message to cfo@northwind.example was sent"
        in r.output
    )
    assert plan.ledger()["cfo@northwind.example"].status == "unknown"
    server.handler.stall.clear()
    assert len(server.handler.to("cfo@northwind.example")) == 1  # it did arrive
    r = send(plan)
    assert r.exit_code == 4 and "in doubt" in r.output
    assert len(server.handler.to("cfo@northwind.example")) == 1
    assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(EXECS)


def test_dropped_connection_before_the_message_is_retried(plan: Plan, server: SmtpServer):
    server.handler.drop_at_rcpt.add("coo@northwind.example")
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert (
        "closed the connection while sending to coo@northwind.example, before the end of the "
        "message: it was not delivered" in r.output
    )
    assert "run the same command again" in r.output
    assert plan.ledger()["coo@northwind.example"].status == "failed"
    server.handler.drop_at_rcpt.clear()
    r = send(plan)
    assert r.exit_code == 0, r.output
    assert f"Sent 1 of 3 messages for {WEEK} (2 sent before)." in r.output
    assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(EXECS)


def test_login_failure_and_missing_password(plan: Plan, server: SmtpServer, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-password")
    r = send(plan)
    assert r.exit_code == 4
    assert f"rejected the login of '{USERNAME}'" in r.output
    assert "$TEST_SMTP_PASSWORD" in r.output
    assert "wrong-password" not in r.output
    assert server.messages == []

    monkeypatch.delenv("TEST_SMTP_PASSWORD")
    r = send(plan)
    assert r.exit_code == 4
    assert "no password was found" in r.output
    assert "export TEST_SMTP_PASSWORD=" in r.output
    assert server.messages == []
    assert {row.status for row in plan.ledger().values()} == {"failed"}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_server_without_starttls_is_refused(tmp_path: Path, certificate):
    """security = starttls never falls back to sending the password in clear."""
    server = SmtpServer(*certificate, implicit_tls=True).start()
    try:
        plan = make_plan(tmp_path, server.mail_section(security="starttls", timeout=2))
        r = send(plan)
        assert r.exit_code == 4
        assert "mail.security" in r.output  # the hint: it waits for a TLS hello
        assert server.messages == []
        assert_no_secret(r)
    finally:
        server.stop()


def test_crashed_send_is_reported_not_resent(plan: Plan, server: SmtpServer):
    """A row left in `sending` by a dead run: in doubt, reported, resent only on --resend."""
    store = plan.store()
    pack = next(
        p for p in build_packs(plan.config, store, "executives", AS_OF)
        if p.recipient == "coo@northwind.example"
    )  # fmt: skip
    c = claim_pack(store, pack, now=utcnow() - timedelta(hours=2))
    assert c.claimed  # ... and the process died here
    store.close()

    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "? unknown" in r.output and "coo@northwind.example" in r.output
    assert "may or may not have arrived" in r.output
    assert sorted(m.rcpt_tos[0] for m in server.messages) == [
        "ceo@northwind.example",
        "cfo@northwind.example",
    ]
    h = json.loads(plan.run("history", "--json").output)
    assert {x["recipient"]: x["outcome"] for x in h}["coo@northwind.example"] == "unknown"

    r = send(plan, "--resend", "--to", "coo@northwind.example")
    assert r.exit_code == 0, r.output
    assert server.messages[-1].rcpt_tos == ["coo@northwind.example"]
    assert len(server.messages) == 3


def _claim_as(plan: Plan, recipient: str, owner: str | None) -> None:
    """The ledger row of another run that is sending ``recipient``'s pack now."""
    store = plan.store()
    pack = next(
        p for p in build_packs(plan.config, store, "executives", AS_OF) if p.recipient == recipient
    )
    kw = dict(
        period=pack.period,
        group=pack.group,
        recipient=pack.recipient,
        pack_hash=pack.pack_hash,
        subject=pack.subject,
        message_id=pack.message_id,
    )
    assert ledger.claim(store, **kw, owner=owner).claimed
    second = ledger.claim(store, **kw, resend=True)
    assert not second.claimed and second.reason == "in_flight"
    store.close()


@pytest.mark.parametrize("other", ["live process here", "another host"])
def test_a_pack_in_flight_in_another_run_is_not_counted_as_sent(
    other: str, tmp_path: Path, server: SmtpServer
):
    import socket
    import subprocess

    plan = make_plan(tmp_path, server.mail_section(timeout=1))
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        owner, shown = {
            "live process here": (
                f"{socket.gethostname()}:{sleeper.pid}",
                f"pid {sleeper.pid} on {socket.gethostname()}",
            ),
            "another host": ("ws9.northwind.example:4242", "pid 4242 on ws9.northwind.example"),
        }[other]
        _claim_as(plan, "coo@northwind.example", owner)
        r = send(plan)
        r2 = send(plan, "--resend", "--to", "coo@northwind.example")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert r.exit_code == 4, r.output
    assert f"Sent 2 of 3 messages for {WEEK}." in r.output and "sent before" not in r.output
    assert "… in flight" in r.output
    assert f"coo@northwind.example (executives): {shown} has been sending it since" in r.output
    assert "1 still being sent by another run" in r.output
    assert r2.exit_code == 4 and "… in flight" in r2.output  # even --resend leaves it alone
    assert sorted(m.rcpt_tos[0] for m in server.messages) == [
        "ceo@northwind.example",
        "cfo@northwind.example",
    ]


def test_a_killed_send_is_in_doubt_at_once_not_in_flight(plan: Plan, server: SmtpServer):
    """A real `sheetsync send` killed while the server holds its first message: the
    re-run (within minutes) sees that process is gone and reports the message in
    doubt, not as sent before, and exits 4."""
    import os
    import signal
    import subprocess
    import sys
    import time

    server.handler.stall["ceo@northwind.example"] = 60
    cmd = [sys.executable, "-m", "sheetsync", "--config", str(plan.config_path)]
    cmd += ["--db", plan.db, "send", "--as-of", AS_OF.isoformat()]
    proc = subprocess.Popen(cmd, env={**os.environ}, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not server.handler.data_for and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.handler.data_for == [["ceo@northwind.example"]]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    row = plan.ledger()["ceo@northwind.example"]
    assert row.status == "sending" and row.claimed_by.endswith(f":{proc.pid}")
    server.handler.stall.clear()
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert f"Sent 2 of 3 messages for {WEEK}." in r.output and "sent before" not in r.output
    assert f"ceo@northwind.example (executives): a run (pid {proc.pid} on" in r.output
    assert "may or may not have arrived" in r.output
    assert [m[0] for m in server.handler.data_for].count("ceo@northwind.example") == 1


def test_concurrent_sends_deliver_each_message_once(plan: Plan, server: SmtpServer):
    """Two runs at once (two processes' worth of Store and SMTP connections)."""
    config = plan.config
    packs = build_all_packs(config, plan.store(), AS_OF)
    reports = []
    barrier = threading.Barrier(2)

    def one_run() -> None:
        store = plan.store()
        barrier.wait()
        reports.append(send_packs(config, store, packs))
        store.close()

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(EXECS)
    statuses = sorted(o.status for r in reports for o in r.outcomes)
    assert statuses.count("sent") == 3
    assert set(statuses) <= {"sent", "skipped", "in_flight"}


def test_two_send_processes_at_once_deliver_each_message_once(plan: Plan, server: SmtpServer):
    """Two real `sheetsync send` processes started together, each with its own
    connection to the model and to the SMTP server: every recipient gets one message."""
    import os
    import subprocess
    import sys

    cmd = [
        sys.executable,
        "-m",
        "sheetsync",
        "--config",
        str(plan.config_path),
        "--db",
        plan.db,
        "send",
        "--as-of",
        AS_OF.isoformat(),
    ]
    env = {**os.environ}  # SSL_CERT_FILE and the SMTP password, as the fixtures set them
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(EXECS)
    assert {r.status for r in plan.ledger().values()} == {"sent"}


def test_changed_plan_is_a_new_pack(tmp_path: Path, server: SmtpServer):
    """Keyed on content: after the sheet changes, the updated pack goes out, and says so.

    Both pulls fall on the pack's day (the clock frozen there): a later pull would
    not change that day's pack (the plan as of a day is the one known that day).
    """
    with time_machine.travel(datetime(2026, 11, 30, 8, 0, tzinfo=UTC), tick=False):
        plan = make_plan(tmp_path, server.mail_section())
        assert send(plan).exit_code == 0
    from openpyxl import load_workbook

    path = plan.dir / "sales_plan.xlsx"
    wb = load_workbook(path)
    ws = wb["Quotas"]
    col = [c.value for c in ws[1]].index("Sales ($)") + 1
    ws.cell(row=2, column=col).value = (ws.cell(row=2, column=col).value or 0) + 25_000
    wb.save(path)
    with time_machine.travel(datetime(2026, 11, 30, 15, 0, tzinfo=UTC), tick=False):
        assert plan.run("pull").exit_code == 0
        r = send(plan)
    assert r.exit_code == 0, r.output
    assert "updated pack: an earlier version went out" in r.output
    assert len(server.messages) == 6


# --------------------------------------------------------------------------- dry run, history


def test_dry_run_writes_eml_and_records_nothing(plan: Plan, server: SmtpServer):
    out = plan.dir / "outbox"
    r = send(plan, "--dry-run", "--outbox", str(out))
    assert r.exit_code == 0, r.output
    assert "nothing was sent" in r.output
    files = sorted(out.glob("*.eml"))
    assert [f.name for f in files] == sorted(f"{WEEK}-executives-{a}.eml" for a in EXECS)
    from email import message_from_bytes, policy

    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert structure(msg)[1] == ["multipart/alternative", "text/plain", "text/html"]
    assert server.messages == []
    assert plan.ledger() == {}
    assert json.loads(plan.run("history", "--json").output) == []

    # Nothing was recorded, so the real send delivers everything.
    r = send(plan)
    assert r.exit_code == 0
    assert len(server.messages) == 3
    r = send(plan, "--outbox", str(out))  # --outbox alone is a dry run too
    assert "a real send would skip it" in r.output
    assert len(server.messages) == 3


def test_history_lists_outcomes(plan: Plan, server: SmtpServer):
    server.handler.reject.add("coo@northwind.example")
    send(plan)
    r = plan.run("history")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].split()[:4] == ["Last", "attempt", "(UTC)", "Period"]
    coo = next(line for line in lines if "coo@northwind.example" in line)
    assert "failed" in coo and "550" in coo
    assert sum("sent" in line.split() for line in lines) == 2
    rows = json.loads(plan.run("history", "--json").output)
    assert {x["recipient"]: x["outcome"] for x in rows} == {
        "ceo@northwind.example": "sent",
        "cfo@northwind.example": "sent",
        "coo@northwind.example": "failed",
    }
    assert all(x["period"] == WEEK for x in rows)
    assert json.loads(plan.run("history", "--json", "--period", "1999-W01").output) == []


def test_config_mistakes_fail_before_sending(tmp_path: Path, server: SmtpServer):
    groups = '[mail.groups.east]\nrecipients = ["a@northwind.example"]\nteams = ["East"]\n'
    plan = make_plan(tmp_path, server.mail_section(), groups)
    r = send(plan)
    assert r.exit_code == 1
    assert "no quotas for team 'East'" in r.output and "Enterprise" in r.output
    r = send(plan, "--group", "nope")
    assert r.exit_code == 1 and "unknown recipient group 'nope'" in r.output
    r = send(plan, "--to", "stranger@example.com")
    assert r.exit_code == 1
    assert server.messages == []


# --------------------------------------------------------------------------- run weekly


def test_run_weekly_pulls_renders_sends_once(tmp_path: Path, server: SmtpServer):
    plan = make_plan(tmp_path, server.mail_section(), pull=False)
    r = plan.run("run", "weekly", "--as-of", AS_OF.isoformat())
    assert r.exit_code == 0, r.output
    assert "Pulled plan: changes." in r.output
    assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(EXECS)

    r = plan.run("run", "weekly", "--as-of", AS_OF.isoformat())
    assert r.exit_code == 0, r.output
    assert "Pulled plan: no change." in r.output
    assert "Nothing to send" in r.output
    assert len(server.messages) == 3


def test_run_weekly_stops_before_sending_on_a_bad_cell(tmp_path: Path, server: SmtpServer):
    from openpyxl import load_workbook

    plan = make_plan(tmp_path, server.mail_section(), pull=False)
    path = plan.dir / "sales_plan.xlsx"
    wb = load_workbook(path)
    ws = wb["Quotas"]
    col = [c.value for c in ws[1]].index("Target ($)") + 1
    ws.cell(row=5, column=col).value = "12k"
    wb.save(path)

    r = plan.run("run", "weekly", "--as-of", AS_OF.isoformat())
    assert r.exit_code == 2, r.output
    assert "'Quotas'!" in r.output and "12k" in r.output
    assert "no report was rendered and nothing was sent" in r.output
    assert server.messages == []
    assert plan.ledger() == {}
    store = plan.store()
    assert store.records("quotas") == []  # the pull wrote nothing either
    store.close()


def test_run_weekly_dry_run(tmp_path: Path, server: SmtpServer):
    plan = make_plan(tmp_path, server.mail_section(), pull=False)
    out = tmp_path / "outbox"
    r = plan.run("run", "weekly", "--as-of", AS_OF.isoformat(), "--dry-run", "--outbox", out)
    assert r.exit_code == 0, r.output
    assert len(list(out.glob("*.eml"))) == 3
    assert server.messages == [] and plan.ledger() == {}


def test_help_has_examples():
    for args in (["send", "--help"], ["history", "--help"], ["run", "weekly", "--help"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0
        assert "Example:" in r.output


def test_ledger_timestamps_are_utc_naive(plan: Plan, server: SmtpServer):
    before = utcnow()
    assert send(plan).exit_code == 0
    row = plan.ledger()["ceo@northwind.example"]
    assert isinstance(row.sent_at, datetime)
    assert before - timedelta(seconds=1) <= row.sent_at <= utcnow() + timedelta(seconds=1)
