"""The weekly case: a pull of an unchanged source is not read again, only recorded.

Every test counts the real workbook reads (a spy around the real reader, which
still runs) and checks the model through the library. Where the pull skips, the
model must be exactly what a full pull (``--full``) of a copy makes of it.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from pg import *  # noqa: F403  (store_url: SQLite and PostgreSQL)

import sheetsync.sources.xlsx.source as xlsx
from sheetsync.config import load_config
from sheetsync.sources.changes import file_sha256
from sheetsync.store import SCHEMA, Store, open_store


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The workbooks parsed so far (file names), by the real reader."""
    seen: list[str] = []
    real = xlsx.read_workbook

    def spy(path: Path, sheets: list[str] | None = None, **kw):
        if sheets != []:  # [] only lists the sheet names
            seen.append(path.name)
        return real(path, sheets, **kw)

    monkeypatch.setattr(xlsx, "read_workbook", spy)
    return seen


def _store(d: Path) -> Store:
    return open_store(load_config(d / "sheetsync.toml"))


def _records(d: Path) -> tuple:
    """Every version of every record table, minus the times (which differ)."""
    s = _store(d)
    out = []
    with s.engine.connect() as c:
        for name, t in SCHEMA.items():
            if name in ("snapshots", "sends", "table_keys") or "_valid_to" not in t.c:
                continue
            cols = [col for col in t.c if col.name not in ("_id", "_valid_from", "_valid_to")]
            rows = c.execute(sa.select(*cols, t.c._valid_to.is_(None)).order_by(t.c._id)).all()
            out.append((name, tuple(map(tuple, rows))))
    s.close()
    return tuple(out)


def _edit(path: Path, sheet: str, **cells: object) -> None:
    wb = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        wb[sheet][ref] = value
    wb.save(path)


def _full_copy(d: Path, tmp: Path, run_cli) -> tuple:
    """What ``pull --full`` makes of a copy of this model and workbooks."""
    twin = tmp / "twin"
    shutil.copytree(d, twin)
    # a copy of the folder, model included: the same workbook, moved (--rebind)
    r = run_cli("--config", twin / "sheetsync.toml", "pull", "--full", "--rebind")
    assert r.exit_code == 0, r.output
    return _records(twin)


def test_unchanged_workbook_is_not_read_and_the_look_is_recorded(
    sample_dir, run_cli, reads, tmp_path
):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    assert reads == ["sales_plan.xlsx"]
    before = _records(sample_dir)
    expected = _full_copy(sample_dir, tmp_path, run_cli)
    assert reads == ["sales_plan.xlsx"] * 2  # the twin's full pull read it
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "Pulled plan (sales_plan.xlsx): unchanged since the last pull" in r.output
    assert reads == ["sales_plan.xlsx"] * 2  # not parsed again
    assert _records(sample_dir) == before == expected
    store = _store(sample_dir)
    first, look = store.snapshots("plan")[::-1]
    assert look.kind == "pull" and look.content_hash == first.content_hash
    assert look.summary["unchanged_since"] == first.id
    assert look.summary["quotas"]["unchanged"] == 139
    assert store.snapshot_values(look.id) == store.snapshot_values(first.id)
    # the look is itself a clean pull: the week after is skipped too
    r = run_cli("--config", cfg, "pull", "--json")
    assert '"unchanged_since": "' in r.output
    assert reads == ["sales_plan.xlsx"] * 2
    assert len(store.snapshots("plan")) == 3
    store.close()


def test_library_pull_skips_without_parsing(sample_dir, reads):
    from sheetsync.pull import pull

    config = load_config(sample_dir / "sheetsync.toml")
    store = _store(sample_dir)
    pull(config, store)
    [again] = pull(config, store)
    assert again.unchanged_since is not None and not again.changed
    assert again.tables["milestones"].unchanged == len(store.records("milestones"))
    assert reads == ["sales_plan.xlsx"]
    [full] = pull(config, store, full=True)
    assert full.unchanged_since is None and not full.changed
    assert reads == ["sales_plan.xlsx"] * 2
    store.close()


def test_one_changed_byte_takes_the_full_path(sample_dir, run_cli, reads):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    before = _records(sample_dir)
    with zipfile.ZipFile(sample_dir / "sales_plan.xlsx", "a") as z:
        z.comment = b"x"  # other bytes, the very same cells
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert r.output.count("no change") == 5 and "unchanged since" not in r.output
    assert reads == ["sales_plan.xlsx"] * 2
    assert _records(sample_dir) == before
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", F2=123_456)
    r = run_cli("--config", cfg, "pull")
    assert "quotas: 1 updated" in r.output
    assert reads == ["sales_plan.xlsx"] * 3


def test_a_changed_mapping_takes_the_full_path(sample_dir, run_cli, reads):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    text = cfg.read_text()
    # the same columns, found by their headers instead of a fixed row
    cfg.write_text(text.replace('sheet = "Quotas"\nheader_row = 1\n', 'sheet = "Quotas"\n'))
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert r.output.count("no change") == 5
    assert reads == ["sales_plan.xlsx"] * 2
    # a mapping that reads other values from the same bytes
    cfg.write_text(text.replace('pipeline = "Pipeline ($)"\n', ""))
    r = run_cli("--config", cfg, "pull")
    assert reads == ["sales_plan.xlsx"] * 3
    assert r.exit_code == 0, r.output


def test_full_flag_reads_everything(sample_dir, run_cli, reads):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    r = run_cli("--config", cfg, "pull", "--full")
    assert r.exit_code == 0, r.output
    assert r.output.count("no change") == 5
    assert reads == ["sales_plan.xlsx"] * 2
    last = _store(sample_dir).snapshots("plan")[0]
    assert "unchanged_since" not in last.summary


def test_a_pull_with_skipped_rows_is_never_skipped(sample_dir, run_cli, reads):
    """The next pull must still refuse the bad cell, as a full one would."""
    cfg = sample_dir / "sheetsync.toml"
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", E14="12k")
    assert run_cli("--config", cfg, "pull", "--skip-invalid").exit_code == 0
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2
    assert "'Quotas'!E14 (Target ($)): \"12k\" is not a number" in r.output
    assert reads == ["sales_plan.xlsx"] * 2


REPS = """
[sources.reps]
kind = "xlsx"
path = "reps.xlsx"
[sources.reps.tables.quotas]
sheet = "Quotas"
header_row = 1
key = ["Salesperson", "Month"]
[sources.reps.tables.quotas.columns]
rep = "Salesperson"
team = "Team"
region = "Region"
period = "Month"
quota = "Target ($)"
closed = "Sales ($)"
pipeline = "Pipeline ($)"
"""


@pytest.fixture
def two_sources(sample_dir: Path) -> Path:
    """The plan plus a reps workbook that also feeds the quotas."""
    shutil.copy(sample_dir / "sales_plan.xlsx", sample_dir / "reps.xlsx")
    cfg = sample_dir / "sheetsync.toml"
    cfg.write_text(cfg.read_text().replace("\n[mail]\n", REPS + "\n[mail]\n", 1))
    return cfg


def _closed(d: Path, rep_row: int) -> float | None:
    ws = openpyxl.load_workbook(d / "sales_plan.xlsx")["Quotas"]
    rep, month = ws[f"A{rep_row}"].value, ws[f"D{rep_row}"].value
    store = _store(d)
    [q] = [
        q for q in store.records("quotas") if q["rep"] == rep and q["period"] == f"{month:%Y-%m}"
    ]
    store.close()
    return q["closed"]


def test_a_record_changed_by_another_source_takes_the_full_path(
    sample_dir, two_sources, run_cli, reads, tmp_path
):
    cfg = two_sources
    r = run_cli("--config", cfg, "pull", "plan")
    assert r.exit_code == 0, r.output
    _edit(sample_dir / "reps.xlsx", "Quotas", F2=4_242)
    r = run_cli("--config", cfg, "pull", "reps")  # the reps' number replaces the plan's
    assert "quotas: 1 updated" in r.output, r.output
    assert _closed(sample_dir, 2) == 4_242
    expected = _full_copy(sample_dir, tmp_path, run_cli)
    reads.clear()
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    # plan's bytes are unchanged, but its quotas are not as it left them: read
    # again, it puts its own number back; reps follows (it maps the same table)
    assert "Pulled plan (sales_plan.xlsx): projects: no change" in r.output
    assert "quotas: 1 updated" in r.output
    assert sorted(reads) == ["reps.xlsx", "sales_plan.xlsx"]
    assert _records(sample_dir) == expected


def test_sources_of_other_tables_skip_on_their_own(sample_dir, run_cli, reads, tmp_path):
    """The reps workbook feeds only the quotas: plan's tables untouched → plan
    skipped whatever reps does, and the model is what a full pull makes."""
    shutil.copy(sample_dir / "sales_plan.xlsx", sample_dir / "reps.xlsx")
    cfg = sample_dir / "sheetsync.toml"
    text = cfg.read_text()
    start = text.index("[sources.plan.tables.quotas]")
    end = text.index("[sources.plan.tables.budget]")
    cfg.write_text(text[:start] + text[end:].replace("\n[mail]\n", REPS + "\n[mail]\n", 1))
    assert run_cli("--config", cfg, "pull").exit_code == 0
    _edit(sample_dir / "reps.xlsx", "Quotas", F2=4_242)
    expected = _full_copy(sample_dir, tmp_path, run_cli)
    reads.clear()
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "Pulled plan (sales_plan.xlsx): unchanged since the last pull" in r.output
    assert "Pulled reps (reps.xlsx): quotas: 1 updated" in r.output
    assert reads == ["reps.xlsx"]
    assert _records(sample_dir) == expected
    reads.clear()
    r = run_cli("--config", cfg, "pull")
    assert r.output.count("unchanged since the last pull") == 2
    assert reads == []


# ---------------------------------------------------------------- edits cost what they change


@pytest.fixture
def whole_loads(monkeypatch) -> list[str]:
    """The tables whose every current record a pull read from the model."""
    seen: list[str] = []
    real = Store.current_chunks

    def spy(self, conn, table):
        seen.append(table)
        return real(self, conn, table)

    monkeypatch.setattr(Store, "current_chunks", spy)
    return seen


def test_an_edit_is_compared_with_the_last_pull_not_the_whole_model(
    sample_dir, run_cli, whole_loads, tmp_path
):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    whole_loads.clear()
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", F2=123_456, E5=1)
    _edit(sample_dir / "sales_plan.xlsx", "Milestones", K2="moved on")
    expected = _full_copy(sample_dir, tmp_path, run_cli)
    whole_loads.clear()
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "quotas: 2 updated" in r.output and "milestones: 1 updated" in r.output
    assert whole_loads == []
    assert _records(sample_dir) == expected
    store = _store(sample_dir)
    assert store.snapshot_values(store.snapshots("plan")[0].id) == store.snapshot_values(
        _twin_last(tmp_path)
    )
    store.close()


def _twin_last(tmp_path: Path) -> int:
    s = _store(tmp_path / "twin")
    last = s.snapshots("plan")[0].id
    s.close()
    return last


def test_resorted_deleted_and_added_rows_match_a_full_pull(
    sample_dir, run_cli, whole_loads, tmp_path
):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    wb = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")
    ws = wb["Quotas"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=ws.max_row)]
    rows = [r for r in rows if r[0]]
    gone = rows.pop(7)
    rows.reverse()  # every record moves
    rows.append(["New Rep", *rows[0][1:3], rows[0][3], 1000, 10, *rows[0][6:]])
    for i, values in enumerate(rows, start=2):
        for j, v in enumerate(values, start=1):
            ws.cell(i, j).value = v
    ws.delete_rows(len(rows) + 2, ws.max_row)
    wb.save(sample_dir / "sales_plan.xlsx")
    expected = _full_copy(sample_dir, tmp_path, run_cli)
    whole_loads.clear()
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "quotas: 1 new, 1 deleted" in r.output
    assert whole_loads == []
    assert _records(sample_dir) == expected
    quotas = {q["rep"] for q in _store(sample_dir).records("quotas")}
    assert "New Rep" in quotas and (gone[0] in quotas) == any(r[0] == gone[0] for r in rows)


def test_other_bytes_with_the_same_values_keep_the_snapshot_values(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    with zipfile.ZipFile(sample_dir / "sales_plan.xlsx", "a") as z:
        z.comment = b"re-saved"
    assert run_cli("--config", cfg, "pull").output.count("no change") == 5
    store = _store(sample_dir)
    now, then = store.snapshots("plan")
    assert now.content_hash != then.content_hash
    assert now.content_hash == file_sha256(sample_dir / "sales_plan.xlsx")
    assert store.snapshot_values(now.id) == store.snapshot_values(then.id)
    # and that snapshot is the one the next pull skips on
    assert "unchanged since" in run_cli("--config", cfg, "pull").output
    store.close()


def test_a_model_changed_since_is_compared_whole(sample_dir, run_cli, whole_loads):
    """A sync wrote the model after the pull: the pull's values are not the
    model's any more, so the whole table is compared, as before."""
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", F2=4_242)
    assert run_cli("--config", cfg, "sync").exit_code == 0
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", F2=5_151)
    whole_loads.clear()
    r = run_cli("--config", cfg, "pull")
    assert "quotas: 1 updated" in r.output
    assert "quotas" in whole_loads


# ---------------------------------------------------------------- both databases


def test_skip_and_edit_paths_on_every_database(sample_dir, store_url, reads):
    """The look, the copied snapshot and the in-place compare, on SQLite and PostgreSQL."""
    from sheetsync.pull import pull

    config = load_config(sample_dir / "sheetsync.toml")
    store = Store(store_url)
    pull(config, store)
    [look] = pull(config, store)
    assert look.unchanged_since is not None and reads == ["sales_plan.xlsx"]
    first, again = store.snapshots("plan")[::-1]
    assert again.content_hash == first.content_hash
    assert store.snapshot_values(again.id) == store.snapshot_values(first.id)
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", F2=777)
    [edit] = pull(config, store)
    assert edit.tables["quotas"].updated == 1 and edit.tables["quotas"].unchanged == 138
    assert 777 in {q["closed"] for q in store.records("quotas")}
    store.close()


def _checks_hold(d: Path) -> None:
    """The newest snapshot's check states each of its tables as the model has
    it now (nothing was written after the last source of a pull): the pull
    counts them up from what it wrote (``pull._written``) instead of asking."""
    store = _store(d)
    snaps = SCHEMA["snapshots"]
    with store.engine.connect() as c:
        newest = c.execute(sa.select(snaps.c.summary).order_by(snaps.c.id.desc())).first()
        check = newest.summary["_check"]
        assert check["tables"], check
        for name, state in check["tables"].items():
            assert state == store.table_state(c, name), name
    store.close()


def test_the_check_counts_what_the_pull_wrote(sample_dir, two_sources, run_cli):
    """New, changed, deleted and kept records, and two sources writing one
    table in one pull: each check's states are the model's, to the version."""
    cfg = two_sources
    plan = sample_dir / "sales_plan.xlsx"
    assert run_cli("--config", cfg, "pull").exit_code == 0  # first pull: all new
    _checks_hold(sample_dir)
    _edit(plan, "Quotas", F2=123_456, F3=654_321)  # changed records
    _edit(sample_dir / "reps.xlsx", "Quotas", F4=7)  # the second source changes another
    r = run_cli("--config", cfg, "pull")
    assert "quotas: 2 updated" in r.output and "quotas: 3 updated" in r.output, r.output
    _checks_hold(sample_dir)
    wb = openpyxl.load_workbook(plan)  # a record gone, one new
    ws = wb["Quotas"]
    ws["A5"] = "Someone New"
    wb.save(plan)
    r = run_cli("--config", cfg, "pull", "plan")  # and puts back its own numbers over reps'
    assert "quotas: 1 new, 3 updated, 1 deleted" in r.output, r.output
    _checks_hold(sample_dir)
