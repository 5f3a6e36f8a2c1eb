"""Progress on a terminal: the real ``sheetsync`` CLI run with stderr on a
pseudo-terminal, and with stderr a pipe or ``--quiet``.

What a user sees is checked by replaying the raw terminal bytes through a tiny
screen model (carriage return, erase line, newline): every status line must be
gone from the screen by the time results or errors are printed.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import openpyxl
import pytest

from sheetsync.cli.terminal import StatusLine, format_line

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
ERASE = "\r\x1b[2K"
SPINNER = re.compile("[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏█░]")
COLOR = re.compile(r"\x1b\[[0-9;]*m")


def run(
    cwd: Path,
    *args: str,
    tty: str = "stderr",
    columns: int = 100,
    env: dict | None = None,
    code: str | None = None,
) -> tuple[int, str, str]:
    """Run ``python -m sheetsync ARGS`` (or ``python -c CODE ARGS``): ``tty`` is
    "stderr" (stderr on a pty, stdout a pipe), "both" (stdout and stderr on the
    pty, as a user sees it) or "none" (both pipes). Returns (exit code,
    terminal or stderr text, stdout)."""
    cmd = [sys.executable, *(["-c", code] if code else ["-m", "sheetsync"]), *args]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("SHEETSYNC_DB", None)
    if tty == "none":
        p = subprocess.run(
            cmd, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300
        )
        return p.returncode, p.stderr.decode(), p.stdout.decode()
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    p = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=slave if tty == "both" else subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    term, out = bytearray(), bytearray()
    streams = [master] + ([p.stdout.fileno()] if p.stdout else [])
    deadline = time.monotonic() + 300
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(streams, [], [], 0.5)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the pty's other end is closed
                data = b""
            if not data:
                streams.remove(fd)
            else:
                (term if fd == master else out).extend(data)
    os.close(master)
    if p.stdout:
        p.stdout.close()
    rc = p.wait(timeout=30)
    return rc, term.decode(), out.decode()


def screen(raw: str) -> list[str]:
    """The lines a terminal shows after ``raw``: \\r, erase-line and newlines
    applied, colours dropped (the pty turns \\n into \\r\\n)."""
    lines, line, col = [], [], 0
    for token in re.split(r"(\x1b\[2K|\x1b\[[0-9;]*m|\r|\n)", raw):
        if token == "\r":
            col = 0
        elif token == "\n":
            lines.append("".join(line))
            line, col = [], 0
        elif token == "\x1b[2K":
            line = []
        elif token.startswith("\x1b[") or not token:
            continue
        else:
            for ch in token:
                if col < len(line):
                    line[col] = ch
                else:
                    line.extend(" " * (col - len(line)) + ch)
                col += 1  # noqa: SIM113 - a cursor, not an index
    if line:
        lines.append("".join(line))
    return lines


def steps(raw: str) -> list[str]:
    """The status lines drawn, spinner frames and elapsed seconds removed, in order."""
    out: list[str] = []
    for part in raw.split(ERASE):
        part = re.sub(r"^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] ", "", part.split("\r\n")[0])
        part = re.sub(r" · \d+s$", "", part)
        if part and (not out or out[-1] != part):
            out.append(part)
    return out


@pytest.fixture
def plan(sample_dir: Path) -> Path:
    return sample_dir


@pytest.fixture
def pulled(plan: Path) -> Path:
    rc, err, out = run(plan, "pull", tty="none")
    assert rc == 0, err
    return plan


def assert_erased(raw: str, expected_screen: list[str]) -> None:
    """The terminal ends showing exactly ``expected_screen``: no status line left."""
    shown = [line.rstrip() for line in screen(raw)]
    while shown and not shown[-1]:
        shown.pop()
    assert shown == expected_screen, raw


def test_validate_shows_reading_on_the_terminal_and_stdout_stays_json(plan: Path) -> None:
    rc, term, out = run(plan, "validate", "--json")
    assert rc == 0, term
    assert "reading plan (sales_plan.xlsx)" in steps(term)
    assert ERASE in term and SPINNER.search(term)
    assert json.loads(out)[0]["source"] == "plan"  # nothing of the status line on stdout
    assert "\r" not in out and "\x1b" not in out
    assert_erased(term, [])


def test_push_shows_each_step_then_erases_before_the_results(pulled: Path) -> None:
    wb = pulled / "sales_plan.xlsx"
    book = openpyxl.load_workbook(wb)
    ws = book["Milestones"]
    row = next(c.row for c in ws["A"] if c.value == "G-04")
    old = ws[f"H{row}"].value
    ws[f"H{row}"] = 4321
    book.save(wb)

    rc, term, out = run(pulled, "push", "--force", "--json")
    assert rc == 0, term
    shown = steps(term)
    for step in (
        "reading plan (sales_plan.xlsx)",
        "comparing plan with the model",
        "saving plan to the model",
        "writing plan (sales_plan.xlsx)",
    ):
        assert step in shown, shown
    plans = json.loads(out)
    assert plans[0]["written"] and plans[0]["to_sheet"]
    assert openpyxl.load_workbook(wb)["Milestones"][f"H{row}"].value == old
    assert_erased(term, [])

    # As a user sees it: stdout on the same terminal, results on a clean line.
    rc, term, out = run(pulled, "push", tty="both")
    assert rc == 0
    assert "reading plan (sales_plan.xlsx)" in steps(term)
    assert_erased(term, ["plan (sales_plan.xlsx): already in sync, nothing to do."])


def test_report_shows_building_layout_and_pages(pulled: Path) -> None:
    rc, term, out = run(pulled, "report", "-o", "r.pdf", tty="both")  # as of today: the pull's
    assert rc == 0, term
    shown = steps(term)
    for step in (
        "weekly report: reading the model",
        "weekly report: building the report",
        "weekly report: laying out the PDF",
        "weekly report: laying out the PDF · page 1",
        "writing r.pdf",
    ):
        assert step in shown, shown
    pages = [s for s in shown if re.fullmatch(r"weekly report: writing the PDF \(\d+ pages?\)", s)]
    assert pages, shown
    assert (pulled / "r.pdf").read_bytes().startswith(b"%PDF")
    kib = (pulled / "r.pdf").stat().st_size / 1024
    assert_erased(term, [f"Wrote r.pdf ({kib:.0f} KiB)"])


def test_a_failing_command_leaves_no_half_drawn_line(pulled: Path) -> None:
    rc, term, out = run(pulled, "report", "--report", "nosuch", "-o", "x.pdf", tty="both")
    assert rc == 1
    assert "nosuch report: building the report" in steps(term)
    error = [line.rstrip() for line in screen(term) if line.strip()]
    assert error[0] == "Error: no report named 'nosuch'", term
    assert not any(SPINNER.search(line) for line in error)


BOOM = """
import os, sys, time
from sheetsync.cli import cli
from sheetsync.cli.app import pass_app
from sheetsync.errors import UsageError

@cli.command()
@pass_app
def boom(app):
    app.progress()("working on it")  # a new step is drawn at once
    raise KeyboardInterrupt if os.environ["HOW"] == "interrupt" else UsageError("it broke")

cli.main(sys.argv[1:], prog_name="sheetsync")
"""


@pytest.mark.parametrize(
    ("how", "rc", "message"), [("error", 1, "Error: it broke"), ("interrupt", 130, "Aborted.")]
)
def test_any_command_that_fails_mid_step_erases_the_line_first(
    tmp_path: Path, how: str, rc: int, message: str
) -> None:
    """Even a command without its own cleanup: the line goes when the CLI context closes."""
    code, term, _ = run(tmp_path, "boom", code=BOOM, tty="both", env={"HOW": how})
    assert code == rc, term
    assert "working on it" in steps(term)
    # (On Ctrl-C Click prints a newline first, past the "^C" the terminal echoed.)
    assert [line.rstrip() for line in screen(term) if line.strip()] == [message], term


def test_silent_when_stderr_is_a_pipe(pulled: Path) -> None:
    for args in (("validate",), ("push",), ("report", "-o", "r.pdf"), ("diff",)):
        rc, err, out = run(pulled, *args, tty="none")
        assert rc == 0, err
        assert err == "", (args, err)
        assert "\r" not in out and "\x1b[2K" not in out and not SPINNER.search(out)


def test_quiet_shows_nothing_on_a_terminal(pulled: Path) -> None:
    for args in (("validate",), ("push",), ("report", "-o", "r.pdf")):
        rc, term, out = run(pulled, "--quiet", *args)
        assert rc == 0, term
        assert term == "", (args, term)


def test_send_shows_rendering_then_a_bar_per_recipient(
    pulled: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from smtp_server import PASSWORD, SmtpServer, make_certificate

    cert = make_certificate(tmp_path_factory.mktemp("tls"))
    server = SmtpServer(*cert).start()
    try:
        cfg = pulled / "sheetsync.toml"
        toml = cfg.read_text(encoding="utf-8")
        toml = (
            toml[: toml.index("[mail]")]
            + server.mail_section()
            + (
                "\n[mail.groups.executives]\n"
                'recipients = ["a@example.com", "b@example.com", "c@example.com"]\n'
                'reports = ["executive"]\n'
            )
        )
        cfg.write_text(toml, encoding="utf-8")
        env = {"SSL_CERT_FILE": str(cert[0]), "TEST_SMTP_PASSWORD": PASSWORD}
        # as of the end of last week, before the pull: the plan as first pulled, said once
        rc, term, out = run(pulled, "send", "--json", env=env)
        assert rc == 0, term
        shown = steps(term)
        assert "executive report: laying out the PDF" in shown, shown
        for n, who in enumerate(("a", "b", "c"), 1):
            assert any(s.endswith(f"sending to {who}@example.com ({n} of 3)") for s in shown), shown
        assert len(json.loads(out)["outcomes"]) == 3
        assert len(server.messages) == 3
        shown = [line.rstrip() for line in screen(term) if line.strip()]
        assert len(shown) == 1 and re.fullmatch(
            r"Note: The model's history starts on .+, after .+: this uses the plan as first "
            r"pulled\.",
            shown[0],
        ), term
    finally:
        server.stop()


# ------------------------------------------------------------ the display itself


def test_format_line_fits_the_terminal_and_keeps_the_counts() -> None:
    line = format_line("sending to " + "x" * 200 + "@example.com", 3, 12, width=60)
    assert len(line) == 59 and line.endswith("… (3 of 12)")
    assert line.startswith("██████░░░░░░░░░░░░░░░░░░  25%  sending to")
    assert format_line("reading plan", None, None, frame=1, elapsed=3.4) == "⠙ reading plan · 3s"
    assert format_line("reading plan", None, None, elapsed=0.5) == "⠋ reading plan"
    assert format_line("x", 1, 2, ascii=True).startswith("#" * 12 + "-" * 12)


def test_the_spinner_moves_while_the_caller_is_busy_and_clear_erases_it() -> None:
    master, slave = os.openpty()
    with open(slave, "w", encoding="utf-8", closefd=True) as stream:
        status = StatusLine(stream, interval=0.02)
        status("laying out the PDF")
        # The caller is busy (blocked reading the terminal here, as C code releases the
        # GIL): the frames that arrive meanwhile are drawn by the thread alone.
        raw = b""
        while len(set(re.findall("[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]", raw.decode(errors="ignore")))) < 3:
            assert select.select([master], [], [], 30)[0], raw  # redrawn by the thread
            raw += os.read(master, 65536)
        status.clear()
        assert not any(t.name == "sheetsync-progress" for t in threading.enumerate())
        stream.flush()
        while not raw.endswith(ERASE.encode()):  # the erase the clear wrote
            assert select.select([master], [], [], 30)[0], raw
            raw += os.read(master, 65536)
    os.close(master)
    text = raw.decode()
    assert text.endswith(ERASE)
