"""How `sheetsync send` fails, against the real SMTP server misbehaving on purpose.

Each test points the real CLI at the aiosmtpd server of tests/smtp_server.py
configured to answer the way real servers do when something is wrong (no
STARTTLS, no AUTH, 530, 553, 421, 452, 503, 554 after the message, a reply it
cannot read, a dropped connection, a slow answer), or at an address where no
SMTP server answers. Each checks the message the user reads, the exit code,
what arrived and what the ledger says the next run will do.
"""

# ruff: noqa: F811 - test_mail's fixtures (plan, server) are imported, then requested
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from smtp_server import SmtpServer, make_certificate
from test_mail import (  # noqa: F401 - the fixtures: certificate, smtp_env, server, plan
    AS_OF,
    EXEC_GROUP,
    EXECS,
    WEEK,
    Plan,
    assert_no_secret,
    attachments,
    certificate,
    make_plan,
    plan,
    send,
    server,
    smtp_env,
)
from test_mail_pack_hash import rendering, terminal_send

from sheetsync.mail import ledger
from sheetsync.mail.pack import build_packs
from sheetsync.mail.send import claim_pack

CEO, CFO, COO = EXECS


def statuses(plan: Plan) -> dict[str, str]:
    return {r: row.status for r, row in plan.ledger().items()}


def delivered(server: SmtpServer) -> list[str]:
    return [m.rcpt_tos[0] for m in server.messages]


def mail_section(server: SmtpServer, **changes: str | None) -> str:
    """The server's [mail] settings with some lines changed (None: left out)."""
    lines = server.mail_section().splitlines()
    out = []
    for line in lines:
        key = line.split(" = ")[0]
        if key in changes:
            if changes[key] is not None:
                out.append(f"{key} = {changes[key]}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- the session


@pytest.mark.parametrize(
    "hide, security, expected",
    [
        ({"STARTTLS"}, None, "does not offer STARTTLS"),
        ({"AUTH"}, None, "does not offer AUTH"),
        (set(), '"none"', "does not offer AUTH before TLS"),  # AUTH only after STARTTLS
    ],
)
def test_a_server_that_does_not_offer_what_the_config_needs(
    hide, security, expected, tmp_path: Path, server: SmtpServer
):
    server.handler.hide = hide
    plan = make_plan(tmp_path, mail_section(server, security=security))
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert f"the SMTP server at 127.0.0.1:{server.port} {expected}" in r.output
    assert ("before TLS" in r.output) == (security is not None)
    assert "3 of 3 messages not delivered" in r.output
    assert server.messages == [] and statuses(plan) == dict.fromkeys(EXECS, "failed")
    assert_no_secret(r)


def test_a_server_that_requires_a_login_the_config_does_not_give(
    tmp_path: Path, server: SmtpServer
):
    plan = make_plan(tmp_path, mail_section(server, username=None))
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "requires a login (530 5.7.0 Authentication required)" in r.output
    assert "set mail.username and export TEST_SMTP_PASSWORD" in r.output
    assert server.messages == [] and statuses(plan) == dict.fromkeys(EXECS, "failed")


def test_a_server_whose_auth_methods_smtplib_cannot_use(plan: Plan, server: SmtpServer):
    server.handler.offer = {"AUTH": "AUTH XOAUTH2"}
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "refused the session: No suitable authentication method found." in r.output
    assert server.messages == []


def test_a_server_that_hangs_up_at_the_greeting(plan: Plan, server: SmtpServer):
    server.handler.drop_at = {"EHLO"}
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "closed the connection during the greeting" in r.output
    assert "check mail.port and mail.security" in r.output


def test_a_port_that_accepts_but_never_greets(tmp_path: Path, server: SmtpServer):
    """A listening socket nobody serves: the connection opens, no greeting comes."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        plan = make_plan(tmp_path, mail_section(server, port=str(port), timeout="1"))
        r = send(plan)
    assert r.exit_code == 4, r.output
    assert f"the SMTP server at 127.0.0.1:{port} did not answer within 1 s" in r.output
    assert "mail.security" in r.output


def test_tls_spoken_to_a_plain_port(tmp_path: Path, server: SmtpServer):
    plan = make_plan(tmp_path, mail_section(server, security='"tls"'))
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert f"TLS with the SMTP server at 127.0.0.1:{server.port} failed" in r.output
    assert '"starttls" for 587' in r.output


def test_a_certificate_the_client_does_not_trust(
    plan: Plan, server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    other, _ = make_certificate(tmp_path)  # the client trusts this one, not the server's
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert f"the TLS certificate of 127.0.0.1:{server.port} cannot be trusted" in r.output
    assert "SSL_CERT_FILE" in r.output and server.messages == []


@pytest.mark.parametrize(
    "host, expected",
    [
        ('"smtp server.northwind.example"', "cannot find the SMTP server"),  # no DNS query
        ('"smtp..northwind.example"', "is not a valid host name"),
        ('"255.255.255.255"', "cannot connect to the SMTP server at 255.255.255.255"),
    ],
)
def test_a_host_that_cannot_be_reached(host, expected, tmp_path: Path, server: SmtpServer):
    """Each fails on this machine, before any packet leaves it: a name with a space,
    a name with an empty label, a broadcast address TCP cannot connect to."""
    plan = make_plan(tmp_path, mail_section(server, host=host))
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert expected in r.output and "check mail.host" in r.output
    assert statuses(plan) == dict.fromkeys(EXECS, "failed")


def test_a_password_smtplib_cannot_send(plan: Plan, server: SmtpServer, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "pässwort")
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "the SMTP login needs an ASCII user name and password" in r.output
    assert "pässwort" not in r.output and server.messages == []


def test_a_server_that_hangs_up_at_quit_still_delivered_everything(plan: Plan, server: SmtpServer):
    server.handler.drop_at = {"QUIT"}
    r = send(plan)
    assert r.exit_code == 0, r.output
    assert sorted(delivered(server)) == sorted(EXECS)
    assert statuses(plan) == dict.fromkeys(EXECS, "sent")


# --------------------------------------------------------------------------- one message


def test_a_sender_the_server_refuses_stops_the_run(plan: Plan, server: SmtpServer):
    server.handler.mail_reply = "553 5.7.1 Sender address rejected: not owned by user"
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "refused the sender salesops@northwind.example: 553 5.7.1" in r.output
    assert "check mail.from" in r.output
    assert server.handler.data_for == [] and statuses(plan) == dict.fromkeys(EXECS, "failed")
    server.handler.mail_reply = None
    assert send(plan).exit_code == 0 and sorted(delivered(server)) == sorted(EXECS)


@pytest.mark.parametrize(
    "where, reply, reconnects",
    [
        ("rcpt", "421 4.7.0 Too many connections, closing channel", True),
        ("rcpt", "452 4.2.2 Mailbox full", False),
        ("data", "452 4.3.1 Insufficient system storage", False),
        ("data", "421 4.3.2 System shutting down", True),
    ],
)
def test_a_refusal_fails_that_message_only(
    where: str, reply: str, reconnects: bool, plan: Plan, server: SmtpServer
):
    """CFO's message is refused (after RCPT, or after the whole message): it failed,
    the next run retries it; COO's, after it, is delivered, over the same
    connection unless the refusal closed it (421)."""
    (server.handler.rcpt_reply if where == "rcpt" else server.handler.data_reply)[CFO] = reply
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert reply in r.output
    if where == "rcpt":
        assert f"rejected recipient {CFO}: {reply}" in r.output
    else:
        assert f"the server refused the message to {CFO}: {reply}" in r.output
    assert delivered(server) == [CEO, COO]
    assert server.handler.ehlos == (4 if reconnects else 2)  # two per STARTTLS session
    assert statuses(plan) == {CEO: "sent", CFO: "failed", COO: "sent"}
    server.handler.rcpt_reply.clear()
    server.handler.data_reply.clear()
    r = send(plan)
    assert r.exit_code == 0 and f"Sent 1 of 3 messages for {WEEK} (2 sent before)." in r.output
    assert delivered(server) == [CEO, COO, CFO]


def test_a_refused_message_whose_reset_fails_reconnects(plan: Plan, server: SmtpServer):
    server.handler.data_reply[CFO] = "554 5.6.0 Message rejected: looks like spam"
    server.handler.drop_at = {"RSET"}
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert "554 5.6.0 Message rejected" in r.output
    assert delivered(server) == [CEO, COO] and server.handler.ehlos == 4


def test_data_refused_before_the_message(plan: Plan, server: SmtpServer):
    """RCPT said yes but the server then refuses DATA (503): not delivered, retried."""
    server.handler.rcpt_forget.add(CFO)
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert f"the server refused the message to {CFO}: 503" in r.output
    assert delivered(server) == [CEO, COO] and server.handler.ehlos == 2
    assert statuses(plan)[CFO] == "failed"


def test_no_answer_before_the_message_was_sent_is_not_delivered(tmp_path: Path, server: SmtpServer):
    plan = make_plan(tmp_path, mail_section(server, timeout="1"))
    server.handler.rcpt_stall[CFO] = 3
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert (
        f"did not answer within 1 s while sending to {CFO}, before the end of the message: "
        "it was not delivered" in r.output
    )
    assert statuses(plan) == {CEO: "sent", CFO: "failed", COO: "sent"}
    assert delivered(server) == [CEO, COO]


def test_a_reply_that_cannot_be_read_leaves_the_message_in_doubt(plan: Plan, server: SmtpServer):
    server.handler.data_reply[CFO] = "299 2.0.0 maybe"
    r = send(plan)
    assert r.exit_code == 4, r.output
    assert f"gave an unreadable reply (299 2.0.0 maybe) after the whole message to {CFO}" in (
        r.output
    )
    assert statuses(plan) == {CEO: "sent", CFO: "unknown", COO: "sent"}
    assert server.handler.ehlos == 4  # the connection was given up and opened again
    server.handler.data_reply.clear()
    r = send(plan)  # in doubt: not sent again on its own
    assert r.exit_code == 4 and f"{CFO} (executives): in doubt since" in r.output
    assert delivered(server) == [CEO, COO]


# --------------------------------------------------------------------------- before sending


@pytest.mark.parametrize(
    "groups, expected",
    [
        ("", "no recipient groups: add a [mail.groups.NAME] section"),
        (
            EXEC_GROUP.replace('["executive"]', '["monthly"]'),
            "mail.groups.executives.reports: unknown report 'monthly'",
        ),
        (
            EXEC_GROUP.replace(CFO, "jürgen@northwind.example"),
            "mail.groups.executives.recipients: 'jürgen@northwind.example' is not an ASCII",
        ),
    ],
)
def test_a_config_mistake_sends_and_records_nothing(
    groups: str, expected: str, tmp_path: Path, server: SmtpServer
):
    plan = make_plan(tmp_path, server.mail_section(), groups)
    for args in ((), ("--dry-run", "--outbox", str(tmp_path / "box"))):
        r = send(plan, *args)
        assert r.exit_code == 1, r.output
        assert expected in r.output
    assert server.handler.ehlos == 0 and plan.ledger() == {}
    assert not (tmp_path / "box").exists()


def test_a_template_error_is_found_before_anything_is_claimed(plan: Plan, server: SmtpServer):
    (plan.dir / "templates" / "email_summary.txt").write_text(
        "{{ email.heading }}\n{{ no_such_thing }}\n", encoding="utf-8"
    )
    r = send(plan)
    assert r.exit_code == 1, r.output
    assert "email_summary.txt:2: undefined variable" in r.output
    assert server.handler.ehlos == 0 and plan.ledger() == {}  # nothing claimed, in doubt or sent


def test_resend_and_dry_run_do_not_go_together(plan: Plan, server: SmtpServer):
    r = send(plan, "--resend", "--dry-run")
    assert r.exit_code == 1 and "--resend and --dry-run do not go together" in r.output


# --------------------------------------------------------------------------- the packs


def test_groups_with_the_same_scope_share_one_render(tmp_path: Path, server: SmtpServer):
    """Two groups get the same report and workbook: each is made once, and the
    model's optional tables with no rows (tasks, here) get no sheet."""
    groups = (
        EXEC_GROUP
        + "attach_workbook = true\n"
        + '[mail.groups.board]\nrecipients = ["chair@northwind.example"]\n'
        + 'reports = ["executive"]\nattach_workbook = true\n'
    )
    plan = make_plan(tmp_path, server.mail_section(), groups, pull=False)
    toml = plan.config_path.read_text(encoding="utf-8")
    start = toml.index("[sources.plan.tables.tasks]")
    end = toml.index("\n[", toml.index("[sources.plan.tables.tasks.columns]") + 1)
    plan.config_path.write_text(toml[:start] + toml[end + 1 :], encoding="utf-8")
    assert plan.run("pull").exit_code == 0

    rc, shown, out = terminal_send(plan, "send", "--as-of", AS_OF.isoformat())
    assert rc == 0, (shown, out)
    renders = rendering(shown)
    assert renders.count("executive report: laying out the PDF") == 1, renders
    chair = server.handler.to("chair@northwind.example")[0].message
    ceo = server.handler.to(CEO)[0].message
    assert attachments(chair) == attachments(ceo)
    assert chair["X-Sheetsync-Pack"] == ceo["X-Sheetsync-Pack"]  # the same pack
    book = attachments(ceo)[f"northwind-traders-model-{WEEK}.xlsx"]
    assert load_workbook(io.BytesIO(book)).sheetnames == [
        "Projects",
        "Milestones",
        "Quotas",
        "Budget",
    ]


def test_a_dry_run_says_what_a_real_send_would_do_with_each(plan: Plan, server: SmtpServer):
    server.handler.reject.add(CFO)
    server.handler.drop.add(COO)
    assert send(plan).exit_code == 4
    assert statuses(plan) == {CEO: "sent", CFO: "failed", COO: "unknown"}
    rc, shown, out = terminal_send(
        plan, "send", "--as-of", AS_OF.isoformat(), "--dry-run", "--outbox", "box"
    )
    assert rc == 0, (shown, out)
    assert any(s.endswith(f"writing the message to {COO} (3 of 3)") for s in shown), shown
    lines = {who: next(x for x in out.splitlines() if who in x) for who in EXECS}
    assert "already sent" in lines[CEO] and "a real send would skip it" in lines[CEO]
    assert "failed before; a real send would retry it" in lines[CFO]
    assert "unknown: a real send would not touch it without --resend" in lines[COO]
    assert len(list((plan.dir / "box").glob("*.eml"))) == 3


# --------------------------------------------------------------------------- another run


@pytest.mark.parametrize("other", ["fails", "dies"])
def test_the_outcome_of_another_runs_message_is_waited_for(
    other: str, tmp_path: Path, server: SmtpServer
):
    """COO's pack is being sent by another live run. This run sends the others, says
    QUIT, then waits: the other run records a failure, or dies without a word,
    and this run reports that, not "sent"."""
    plan = make_plan(tmp_path, mail_section(server, timeout="60"))
    store = plan.store()
    pack = next(
        p for p in build_packs(plan.config, store, "executives", AS_OF) if p.recipient == COO
    )
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)  # fmt: skip
    try:
        claim = claim_pack(store, pack, owner=f"{socket.gethostname()}:{sleeper.pid}")
        assert claim.claimed
        cmd = [sys.executable, "-m", "sheetsync", "--config", str(plan.config_path)]
        cmd += ["--db", plan.db, "send", "--as-of", AS_OF.isoformat(), "--json"]
        run = subprocess.Popen(cmd, env={**os.environ}, stdout=subprocess.PIPE, text=True)
        assert server.handler.quit_seen.wait(timeout=300)  # this run now waits for COO's
        if other == "fails":
            ledger.mark_failed(store, claim.record.id, "550 5.1.1 User unknown")
        sleeper.stdin.close()  # the other run ends
        sleeper.wait()
        out, _ = run.communicate(timeout=300)
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        store.close()
    assert run.returncode == 4
    outcomes = {o["recipient"]: o for o in json.loads(out)["outcomes"]}
    assert outcomes[CEO]["status"] == outcomes[CFO]["status"] == "sent"
    coo = outcomes[COO]
    assert coo["subject"] == pack.subject
    if other == "fails":
        assert coo["status"] == "failed"
        assert coo["detail"] == f"pid {sleeper.pid} on {socket.gethostname()} could not " + (
            "deliver it: 550 5.1.1 User unknown"
        )
    else:
        assert coo["status"] == "unknown"
        assert f"a run (pid {sleeper.pid} on" in coo["detail"]
        assert "it may or may not have arrived" in coo["detail"]
    assert delivered(server) == [CEO, CFO]
