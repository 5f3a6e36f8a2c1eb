"""Bad input that used to be accepted silently (issue 12, items 8-14), through the real CLI."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import os
import re
import tomllib
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES

from sheetsync.cli import cli
from sheetsync.config import load_config, parse_config
from sheetsync.mail import ledger
from sheetsync.store import Store, open_store, utcnow


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def pulled(sample_dir: Path, run_cli) -> Path:
    cfg = sample_dir / "sheetsync.toml"
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    return cfg


# ------------------------------------------------------------------ 8. unknown config keys


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'locale = "en_US"',
            'local = "de_DE"',
            "[report]: unknown key 'local' (did you mean 'locale'?)",
        ),
        (
            'sheet = "Quotas"\nheader_row = 1',
            'sheet = "Quotas"\nheaderrow = 1',
            "[sources.plan.tables.quotas]: unknown key 'headerrow' (did you mean 'header_row'?)",
        ),
        (
            'path = "sales_plan.xlsx"',
            'path = "sales_plan.xlsx"\nbackup = 5',
            "[sources.plan]: unknown key 'backup' (did you mean 'backups'?)",
        ),
        (
            'path = "sales_plan.xlsx"',
            'path = "sales_plan.xlsx"\nspreadsheet = "KEY"',
            "[sources.plan]: unknown key 'spreadsheet'",  # a gsheets key in an xlsx source
        ),
        ("port = 587", "prot = 587", "[mail]: unknown key 'prot' (did you mean 'port'?)"),
        (
            'teams = ["Enterprise"]',
            'team = ["Enterprise"]',
            "[mail.groups.enterprise]: unknown key 'team' (did you mean 'teams'?)",
        ),
        ("[report]", "[reports]\n[report]", "the top level: unknown key 'reports' (did you mean"),
        ("[report]", "[rag]\ngreen = 0.9\n[report]", "[rag]: unknown key 'green' (did you mean"),
    ],
)
def test_an_unknown_config_key_is_an_error_with_a_did_you_mean(
    sample_dir, run_cli, old, new, message
):
    cfg = sample_dir / "sheetsync.toml"
    _replace(cfg, old, new)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 1
    assert f"Error: {message}" in r.output
    assert "keys of " in r.output  # the hint lists what the section takes
    assert not (sample_dir / ".sheetsync").exists()  # nothing was written


def test_keys_being_added_elsewhere_are_known(sample_dir, run_cli):
    """[report] week_ends (issue 11) parses; so will a mind map source's own keys."""
    from sheetsync.config import SOURCE_KIND_KEYS

    cfg = sample_dir / "sheetsync.toml"
    _replace(cfg, 'week_ends = "Sunday"', 'week_ends = "Friday"')
    assert run_cli("--config", cfg, "validate").exit_code == 0
    _replace(cfg, 'week_ends = "Friday"', 'week_ends = "Fryday"')
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 1 and "report.week_ends" in r.output
    assert {"path", "levels", "skip_root"} <= set(SOURCE_KIND_KEYS["mindmap"])


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _doc_snippets() -> list[tuple[str, str]]:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    out = []
    for doc in docs:
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", doc.read_text(), re.S)):
            out.append((f"{doc.name}#{i + 1}", block))
    return out


@pytest.mark.parametrize(("where", "block"), _doc_snippets(), ids=[w for w, _ in _doc_snippets()])
def test_every_config_snippet_in_the_docs_parses(where, block):
    """Each ```toml block of the README and docs/, laid over the sample's config
    (a source it names without tables gets the sample's tables), is a valid config."""
    base = tomllib.loads((SAMPLES / "sheetsync.toml").read_text(encoding="utf-8"))
    data = _merge(base, tomllib.loads(block))
    for s in data["sources"].values():
        s.setdefault("tables", base["sources"]["plan"]["tables"])
    parse_config(data, SAMPLES / "sheetsync.toml")  # raises on any unknown key


def test_the_sample_config_and_inits_output_use_only_known_keys(sample_dir, run_cli):
    assert load_config(SAMPLES / "sheetsync.toml").sources["plan"].tables
    cfg = sample_dir / "guessed.toml"
    assert run_cli("init", sample_dir / "sales_plan.xlsx", "-o", cfg).exit_code == 0
    assert run_cli("--config", cfg, "validate").exit_code == 0


# ------------------------------------------------------------------ 9. init with no table


def _tableless_workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["Meeting notes"])
    ws.append([])
    ws.append(["We agreed to grow sales", "2026-01-05"])
    chart = wb.create_sheet("Chart data")
    chart.append(["x", "Owner"])
    chart.append([1, "Ann"])
    wb.create_sheet("Empty")
    wb.save(path)


def test_init_on_a_workbook_with_no_table_says_what_it_saw_and_exits_2(tmp_path, run_cli):
    book = tmp_path / "notes.xlsx"
    _tableless_workbook(book)
    cfg = tmp_path / "sheetsync.toml"
    r = run_cli("init", book, "-o", cfg)
    assert r.exit_code == 2, r.output
    out = r.output
    assert "Error: notes.xlsx: no sheet holds a table sheetsync recognises" in out
    assert (
        """'Notes': row 1: "Meeting notes"; row 3: "We agreed to grow sales" | "2026-01-05";"""
        in out
    )
    assert "no cell in its first 30 rows is a header sheetsync knows" in out
    assert (
        """'Chart data': row 1: "x" | "Owner"; row 2: "1" | "Ann"; only one known header""" in out
    )
    assert "'Empty': the sheet is empty" in out
    assert "uncomment a table's section" in out
    # The config holds a commented template per table, and no live table section.
    text = cfg.read_text()
    for table in ("projects", "milestones", "quotas", "budget", "tasks"):
        assert f"# [sources.notes.tables.{table}]" in text  # the source is named after the file
    assert "\n[sources.notes.tables." not in text
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 1 and "no [sources.notes.tables.*] sections" in r.output


def test_inits_template_uncommented_is_a_working_config(tmp_path, run_cli):
    """The user adds the sheet the template describes and removes the #s: it validates."""
    book = tmp_path / "notes.xlsx"
    _tableless_workbook(book)
    cfg = tmp_path / "sheetsync.toml"
    assert run_cli("init", book, "-o", cfg).exit_code == 2
    lines = cfg.read_text().splitlines()
    start = lines.index("# [sources.notes.tables.quotas]")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("#"))
    section = [line[2:] for line in lines[start:end]]
    cfg.write_text("\n".join([*lines, *section]) + "\n")
    headers = dict(
        line.split(" = ", 1) for line in section if " = " in line and '"' in line.split(" = ")[1]
    )
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet(json.loads(headers.pop("sheet")))
    titles = [json.loads(v.split("  ")[0]) for k, v in headers.items() if k != "key"]
    ws.append(titles)
    row = {"Rep": "Ann Lee", "Period": "Jan 2026", "Quota": 1000, "Closed": 900}
    ws.append([row.get(t) for t in titles])
    wb.save(book)
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 0, r.output
    assert "1 quota — ok" in r.output


def test_init_writes_valid_toml_for_headers_and_cells_with_line_breaks(tmp_path, run_cli):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Milestones"
    ws.append(["Milestone\nID", "Project", "Milestone", "Due\ndate", 'Comment\n"x" = 1'])
    ws.append(["M1", "P1", "Launch", "2026-03-01", "ok"])
    notes = wb.create_sheet("Notes")
    notes.append(["first line\nsecond line = not toml"])
    wb.save(tmp_path / "plan.xlsx")
    cfg = tmp_path / "sheetsync.toml"
    assert run_cli("init", tmp_path / "plan.xlsx", "-o", cfg).exit_code == 0
    mapping = load_config(cfg).sources["plan"].tables["milestones"]
    assert mapping.columns["due"] == ("Due\ndate",)
    assert mapping.columns["key"] == ("Milestone\nID",)
    assert run_cli("--config", cfg, "validate").exit_code == 0


def test_init_overwrites_only_with_overwrite(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    before = cfg.read_text()
    r = run_cli("init", sample_dir / "sales_plan.xlsx", "-o", cfg)
    assert r.exit_code == 1 and "--overwrite" in r.output
    assert cfg.read_text() == before
    r = run_cli("init", sample_dir / "sales_plan.xlsx", "-o", cfg, "--force")
    assert r.exit_code == 1 and "No such option '--force'" in r.output  # --force is for refusals
    r = run_cli("init", sample_dir / "sales_plan.xlsx", "-o", cfg, "--overwrite")
    assert r.exit_code == 0 and "written by `sheetsync init`" in cfg.read_text()


# ------------------------------------------------------------------ 10. --db paths


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_db_as_a_plain_path_is_a_sqlite_file(sample_dir, run_cli, monkeypatch, form):
    monkeypatch.chdir(sample_dir)
    db = "foo.db" if form == "relative" else str(sample_dir / "models" / "abs.db")
    (sample_dir / "models").mkdir()
    r = run_cli("--db", db, "--config", sample_dir / "sheetsync.toml", "pull")
    assert r.exit_code == 0, r.output
    path = sample_dir / db
    assert path.is_file() and not (sample_dir / ".sheetsync").exists()
    assert len(Store(f"sqlite:///{path}").records("quotas")) == 139


def test_db_in_the_config_as_a_path_is_relative_to_the_config(sample_dir, run_cli, monkeypatch):
    cfg = sample_dir / "sheetsync.toml"
    cfg.write_text('db = "plan-model.db"\n' + cfg.read_text())
    monkeypatch.chdir(sample_dir.parent)
    assert run_cli("--config", cfg, "pull").exit_code == 0
    assert len(Store(f"sqlite:///{sample_dir / 'plan-model.db'}").records("milestones")) == 20


@pytest.mark.parametrize("form", ["url", "path", "config"])
def test_an_explicit_model_in_a_missing_folder_is_an_error(sample_dir, run_cli, form):
    cfg = sample_dir / "sheetsync.toml"
    missing = sample_dir / "missing" / "dir"
    args = ["--config", cfg]
    if form == "url":
        args += ["--db", f"sqlite:///{missing / 'm.db'}"]
    elif form == "path":
        args += ["--db", missing / "m.db"]
    else:
        cfg.write_text(f'db = "{missing / "m.db"}"\n' + cfg.read_text())
    r = run_cli(*args, "pull")
    assert r.exit_code == 1
    assert f"the model's folder {missing} does not exist" in r.output
    assert not (sample_dir / "missing").exists()
    assert not (sample_dir / ".sheetsync").exists()


def test_only_the_default_model_folder_is_created(sample_dir, run_cli):
    assert not (sample_dir / ".sheetsync").exists()
    assert run_cli("--config", sample_dir / "sheetsync.toml", "pull").exit_code == 0
    assert (sample_dir / ".sheetsync" / "model.db").is_file()


# ------------------------------------------------------------------ 11. send without a server


def _broken_templates(cfg: Path) -> None:
    """Templates that fail to render: a command that renders anything says so."""
    d = cfg.parent / "templates"
    d.mkdir()
    for name in ("executive", "weekly"):
        (d / f"{name}.html").write_text("{{ no_such_variable.attribute }}", encoding="utf-8")
    _replace(cfg, "[report]\n", '[report]\ntemplate_dir = "templates"\n')


def test_send_without_a_mail_host_is_a_config_error_before_rendering(pulled, run_cli):
    _replace(pulled, 'host = "smtp.example.com"\n', "")
    _broken_templates(pulled)
    r = run_cli("--config", pulled, "send", "--as-of", "2026-11-30")
    assert r.exit_code == 1
    assert "Error: mail.host is not set" in r.output
    assert "template" not in r.output  # nothing was rendered
    assert ledger.history(open_store(load_config(pulled))) == []


def test_run_weekly_without_a_mail_host_stops_before_the_pull(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    _replace(cfg, 'host = "smtp.example.com"\n', "")
    r = run_cli("--config", cfg, "run", "weekly", "--as-of", "2026-11-30")
    assert r.exit_code == 1 and "Error: mail.host is not set" in r.output
    assert not (sample_dir / ".sheetsync").exists()  # nothing pulled


def test_a_dry_run_needs_no_mail_host(pulled, run_cli, tmp_path):
    _replace(pulled, 'host = "smtp.example.com"\n', "")
    # the enterprise group names its team in lower case: matched to "Enterprise"
    _replace(pulled, 'teams = ["Enterprise"]', 'teams = ["enterprise"]')
    box = tmp_path / "outbox"
    r = run_cli("--config", pulled, "send", "--outbox", box)
    assert r.exit_code == 0, r.output
    eml = next(box.glob("*enterprise.lead*.eml")).read_bytes()
    subject = email.message_from_bytes(eml, policy=email.policy.default)["Subject"]
    assert "(Nov 29, 2026) · Enterprise: " in subject, subject  # then the short verdict


# ------------------------------------------------------------------ 12. --team


def test_team_matches_whatever_the_case(pulled, run_cli, tmp_path):
    out = tmp_path / "r.html"
    args = ("--config", pulled, "report", "--as-of", "2026-11-30", "--html", "-o", out)
    r = run_cli(*args, "--team", "enterprise")
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert "Dana Whitfield" in html and "Tom Okafor" in html  # Enterprise reps
    assert "Ben Carter" not in html and "Aisha Khan" not in html  # Mid-Market, SMB


def test_an_unknown_team_is_an_error_listing_the_teams(pulled, run_cli, tmp_path):
    out = tmp_path / "r.html"
    r = run_cli("--config", pulled, "report", "--html", "-o", out, "--team", "Nope")
    assert r.exit_code == 1
    assert "Error: no quotas for team 'Nope' in the model" in r.output
    assert "teams in the model: Enterprise, Mid-Market, SMB" in r.output
    assert not out.exists()


def test_an_unknown_team_of_a_mail_group_is_an_error(pulled, run_cli, tmp_path):
    _replace(pulled, 'teams = ["Enterprise"]', 'teams = ["Enterprize"]')
    r = run_cli("--config", pulled, "send", "--outbox", tmp_path / "box")
    assert r.exit_code == 1
    assert "mail.groups.enterprise.teams: no quotas for team 'Enterprize'" in r.output
    assert not (tmp_path / "box").exists()


# ------------------------------------------------------------------ 13. export -o -


def test_export_dash_writes_json_to_stdout(pulled, run_cli, monkeypatch):
    monkeypatch.chdir(pulled.parent)
    r = CliRunner().invoke(cli, ["--config", str(pulled), "export", "-o", "-"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert len(data["quotas"]) == 139 and len(data["milestones"]) == 20
    assert not (pulled.parent / "-").exists()


def test_export_dash_writes_one_csv_table_to_stdout(pulled, run_cli, monkeypatch):
    monkeypatch.chdir(pulled.parent)
    args = ["--config", str(pulled), "export", "--format", "csv", "-o", "-"]
    r = CliRunner().invoke(cli, [*args, "--table", "quotas"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 139 and rows[0]["rep"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "choose it with --table" in r.output
    assert not list(pulled.parent.glob("-*"))


# ------------------------------------------------------------------ 14. terminal conventions


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_no_color_and_dumb_terminals_get_plain_text(pulled, env):
    args = ["--config", str(pulled), "status", "--as-of", "2026-11-30"]
    coloured = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": None, "TERM": "xterm"})
    assert "\x1b[" in coloured.output  # the control: a terminal gets bold headings
    plain = CliRunner().invoke(cli, args, color=True, env=env)
    assert plain.exit_code == 0 and "Plan status as of Nov 30, 2026" in plain.output
    assert "\x1b[" not in plain.output
    bad = CliRunner().invoke(cli, ["--config", str(pulled), "pull", "nope"], color=True, env=env)
    assert bad.exit_code == 1 and "Error: unknown source 'nope'" in bad.output
    assert "\x1b[" not in bad.output


def test_a_dumb_terminal_gets_no_status_line(monkeypatch):
    from sheetsync.cli.terminal import wanted

    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        monkeypatch.setenv("TERM", "xterm")
        assert wanted(tty)
        monkeypatch.setenv("TERM", "dumb")
        assert not wanted(tty)
    os.close(master)


def test_dash_v_prints_the_version(run_cli):
    from importlib.metadata import version

    for flag in ("-V", "--version"):
        r = run_cli(flag)
        assert r.exit_code == 0 and version("sheetsync") in r.output


def test_global_options_after_the_command(sample_dir, run_cli, monkeypatch, tmp_path):
    cfg = sample_dir / "sheetsync.toml"
    monkeypatch.chdir(tmp_path)  # no ./sheetsync.toml here
    r = run_cli("pull", "--config", cfg, "-q")
    assert r.exit_code == 0 and r.output == ""  # --quiet after the command too
    r = run_cli("status", "--config", cfg, "--as-of", "2026-11-30")
    assert r.exit_code == 0 and "Plan status as of Nov 30, 2026" in r.output
    r = run_cli("status", "-c", cfg, "--db", "other.db", "--as-of", "2026-11-30")
    assert r.exit_code == 1 and "the model is empty" in r.output
    assert (tmp_path / "other.db").is_file()
    r = run_cli("run", "weekly", "--config", cfg, "--dry-run", "--outbox", tmp_path / "box")
    assert r.exit_code == 0, r.output
    # after the command wins over before it
    r = run_cli("--config", tmp_path / "nope.toml", "validate", "--config", cfg)
    assert r.exit_code == 0, r.output


def _set_model(cfg: Path, key: str, **fields: object) -> None:
    """Change a milestone in the model, as a teammate's sync would."""
    s = Store(load_config(cfg).default_db_url())  # pulled: the folder exists
    rec = {**next(m for m in s.records("milestones") if m["key"] == key), **fields}
    with s.transaction() as conn:
        s.apply(conn, "milestones", [rec], [], source="teammate", at=utcnow(), replaced=[key])


def test_push_dry_run_warns_when_excel_would_refuse_the_push(pulled, run_cli):
    book = pulled.parent / "sales_plan.xlsx"
    _set_model(pulled, "G-05", notes="changed in the model")
    r = run_cli("--config", pulled, "push", "--dry-run")
    assert r.exit_code == 0 and "would push" in r.output and "Warning" not in r.output
    lock = pulled.parent / "~$sales_plan.xlsx"
    lock.write_bytes(b"owner")
    before = book.read_bytes()
    for command in ("push", "sync"):
        r = run_cli("--config", pulled, command, "--dry-run")
        assert r.exit_code == 0, r.output
        assert f"would {command}:" in r.output
        assert (
            f"Warning: plan (sales_plan.xlsx): the real {command} would be refused: "
            "sales_plan.xlsx: is open in Excel or LibreOffice (lock file ~$sales_plan.xlsx"
        ) in r.output
        r = run_cli("--config", pulled, command, "--dry-run", "--json")
        assert "is open in Excel" in json.loads(r.stdout)[0]["warnings"][0]
    assert book.read_bytes() == before
    r = run_cli("--config", pulled, "push")  # the warning was right
    assert r.exit_code == 5 and "is open in Excel" in r.output
    assert book.read_bytes() == before


def test_push_dry_run_warns_when_the_workbook_changed_since_read(pulled, run_cli):
    book = pulled.parent / "sales_plan.xlsx"
    wb = openpyxl.load_workbook(book)
    wb["Milestones"]["K3"] = "edited in Excel"
    wb.save(book)
    r = run_cli("--config", pulled, "push", "--dry-run")
    assert r.exit_code == 0
    assert "the real push would be refused: plan: sales_plan.xlsx changed since" in r.output
    assert run_cli("--config", pulled, "push").exit_code == 5


def test_history_takes_as_of_for_the_week(sample_dir, tmp_path, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    db = tmp_path / "m.db"
    store = Store(f"sqlite:///{db}")
    for period, who in (("2026-W48", "a@x.example"), ("2026-W49", "b@x.example")):
        c = ledger.claim(
            store,
            period=period,
            group="executives",
            recipient=who,
            pack_hash="h" + period,
            subject="s",
            message_id=f"<{period}@x>",
            resend=False,
        )
        ledger.mark_sent(store, c.record.id)
    r = run_cli("--config", cfg, "--db", db, "history", "--as-of", "2026-12-02")
    assert r.exit_code == 0, r.output
    assert "b@x.example" in r.output and "a@x.example" not in r.output
    r = run_cli("--config", cfg, "--db", db, "history", "--as-of", "2026-11-25", "--json")
    assert [h["recipient"] for h in json.loads(r.stdout)] == ["a@x.example"]


def test_help_documents_completion_and_the_environment(run_cli):
    r = run_cli("--help")
    for text in ("SHEETSYNC_CONFIG", "SHEETSYNC_DB", "NO_COLOR", "_SHEETSYNC_COMPLETE=bash_source"):
        assert text in r.output
    readme = (ROOT / "README.md").read_text()
    assert "_SHEETSYNC_COMPLETE=bash_source sheetsync" in readme and "SHEETSYNC_CONFIG" in readme


def test_the_documented_completion_works(sample_dir):
    """What the --help line evals: the bash script, then completions from it."""
    script = CliRunner().invoke(
        cli, [], prog_name="sheetsync", env={"_SHEETSYNC_COMPLETE": "bash_source"}
    )
    assert "_sheetsync_completion" in script.output
    r = CliRunner().invoke(
        cli,
        [],
        prog_name="sheetsync",
        env={
            "_SHEETSYNC_COMPLETE": "bash_complete",
            "COMP_WORDS": "sheetsync sta",
            "COMP_CWORD": "1",
        },
    )
    assert "plain,status" in r.output.split()
    words = f"sheetsync --config {sample_dir / 'sheetsync.toml'} pull p"
    env = {"_SHEETSYNC_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": "4"}
    r = CliRunner().invoke(cli, [], prog_name="sheetsync", env=env)
    assert r.output.split() == ["plain,plan"]
