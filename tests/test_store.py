"""The model store on SQLite and PostgreSQL: pull, as-of, history, snapshots, locks.

Every test taking ``store``/``store_url`` runs twice: on a SQLite file and on
a fresh PostgreSQL database (see tests/pg.py).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import time_machine
from pg import *  # noqa: F403  (fixtures: store_url, store, pg_database_url)
from pg import pg_admin_url

from sheetsync.config import load_config
from sheetsync.errors import ConfigError, RefusedError
from sheetsync.migrations import HEAD, current_revision
from sheetsync.model import TABLES
from sheetsync.pull import pull
from sheetsync.schema import engine_url
from sheetsync.store import SCHEMA, Store, record_key, utcnow

SAMPLE_COUNTS = {"projects": 2, "milestones": 20, "quotas": 139, "budget": 10, "tasks": 16}


def _edit(path: Path, sheet: str, **cells: object) -> None:
    wb = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        wb[sheet][ref] = value
    wb.save(path)


def _pull(sample_dir: Path, store: Store):
    return pull(load_config(sample_dir / "sheetsync.toml"), store)


def test_pull_sample_then_nothing_changes(sample_dir, store):
    (first,) = _pull(sample_dir, store)
    assert {n: c.inserted for n, c in first.tables.items()} == SAMPLE_COUNTS
    assert {n: len(store.records(n)) for n in SAMPLE_COUNTS} == SAMPLE_COUNTS
    (again,) = _pull(sample_dir, store)
    assert not again.changed
    assert {n: c.unchanged for n, c in again.tables.items()} == SAMPLE_COUNTS
    # Exactly one version per record: the second pull wrote none.
    with store.engine.connect() as c:
        for name, n in SAMPLE_COUNTS.items():
            assert c.execute(sa.select(sa.func.count()).select_from(SCHEMA[name])).scalar() == n


def test_values_round_trip_with_their_types(sample_dir, store):
    _pull(sample_dir, store)
    projects = {p["key"]: p for p in store.records("projects")}
    grow = projects["GROW20"]
    assert grow["target_value"] == pytest.approx(1_500_000)
    assert grow["start"] == date(2026, 7, 1) and isinstance(grow["start"], date)
    assert grow["owner"] == "Karen Liu"
    tasks = {t["key"]: t for t in store.records("tasks")}
    assert tasks["T-001"]["done"] is True
    assert tasks["T-001"]["due"] == date(2026, 9, 11)
    quotas = {(q["rep"], q["period"]): q for q in store.records("quotas")}
    dana = quotas[("Dana Whitfield", "2026-01")]
    assert dana["quota"] == pytest.approx(185000) and dana["closed"] == pytest.approx(211402)


def test_as_of_history_and_snapshots(sample_dir, store):
    with time_machine.travel(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)):
        (first,) = _pull(sample_dir, store)
    between = datetime(2026, 11, 30, 10, 0)  # naive UTC, as the model stores it
    # Projects!G2 is GROW20's Current value; Budget row 2 is deleted.
    _edit(sample_dir / "sales_plan.xlsx", "Projects", G2=1_480_000)
    wb = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")
    deleted = (wb["Budget"]["A2"].value, wb["Budget"]["B2"].value)
    wb["Budget"].delete_rows(2)
    wb.save(sample_dir / "sales_plan.xlsx")
    with time_machine.travel(datetime(2026, 11, 30, 11, 0, tzinfo=UTC)):
        (second,) = _pull(sample_dir, store)
    assert second.tables["projects"].updated == 1
    assert second.tables["budget"].deleted == 1

    now = {p["key"]: p for p in store.records("projects")}
    then = {p["key"]: p for p in store.records("projects", as_of=between)}
    assert now["GROW20"]["current_value"] == pytest.approx(1_480_000)
    assert then["GROW20"]["current_value"] == pytest.approx(1_471_998)
    assert store.records("projects", as_of=between - timedelta(days=1)) == []
    budget_now = {(b["project"], b["category"]) for b in store.records("budget")}
    budget_then = {(b["project"], b["category"]) for b in store.records("budget", as_of=between)}
    assert deleted in budget_then and deleted not in budget_now
    assert len(budget_then) == 10 and len(budget_now) == 9
    everything = store.all_records(as_of=between)
    assert {n: len(everything[n]) for n in SAMPLE_COUNTS} == SAMPLE_COUNTS

    key = record_key(TABLES["projects"], {"key": "GROW20"})
    versions = store.history("projects", key)
    assert [v[3]["current_value"] for v in versions] == pytest.approx([1_471_998, 1_480_000])
    assert versions[0][1] == versions[1][0]  # closed when the new one began
    assert versions[1][1] is None and versions[0][2] == "plan"

    snaps = store.snapshots("plan")
    assert [s.id for s in snaps] == [second.snapshot_id, first.snapshot_id]
    assert snaps[0].summary["projects"]["updated"] == 1
    assert store.last_snapshot("plan").id == second.snapshot_id
    assert store.last_snapshot("plan", kinds=("push",)) is None
    values = store.snapshot_values(first.snapshot_id)
    assert {n: len(values[n]) for n in SAMPLE_COUNTS} == SAMPLE_COUNTS
    assert {p["key"]: p for p in values["projects"]}["GROW20"]["start"] == date(2026, 7, 1)


def test_failed_transaction_writes_nothing(store):
    at = utcnow()
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.apply(conn, "projects", [{"key": "X", "name": "x"}], [], source="t", at=at)
        raise RuntimeError("boom")
    assert store.records("projects") == []


def test_second_current_version_of_a_key_is_refused(store):
    """The 0002 unique index: a record key has at most one current version.

    What two unlocked concurrent pulls of one source would do ends in a clear
    RefusedError, and the transaction writes nothing.
    """
    at = utcnow()
    with store.transaction() as conn:
        store.apply(conn, "projects", [{"key": "X", "name": "x"}], [], source="a", at=at)
    key = record_key(TABLES["projects"], {"key": "X"})
    with (
        pytest.raises(RefusedError, match="another sheetsync changed projects") as e,
        store.transaction() as conn,
    ):
        conn.execute(sa.insert(SCHEMA["projects"]).values(_key=key, _valid_from=at, key="X"))
    assert "try again when it has finished" in str(e.value)
    twice = [{"key": "Y", "name": "y"}, {"key": "Y", "name": "y"}]
    with (
        pytest.raises(RefusedError, match="another sheetsync changed projects"),
        store.transaction() as conn,
    ):
        store.apply(conn, "projects", [{"key": "Z", "name": "z"}], [], source="b", at=at)
        store.apply(conn, "projects", twice, [], source="b", at=at)
    assert [p["name"] for p in store.records("projects")] == ["x"]


def test_ledger_unique_constraint_kept(store):
    t = SCHEMA["sends"]
    row = dict(
        period="2026-W49",
        group_name="exec",
        recipient="ceo@example.com",
        pack_hash="abc",
        status="sending",
        attempts=1,
    )
    with store.transaction() as conn:
        conn.execute(sa.insert(t).values(**row))
    with pytest.raises(sa.exc.IntegrityError), store.transaction() as conn:
        conn.execute(sa.insert(t).values(**row))
    with store.transaction() as conn:
        conn.execute(sa.insert(t).values(**{**row, "pack_hash": "def"}))


# ---------------------------------------------------------------- schema


def test_revisions_replayed_give_the_schema_a_new_model_is_created_with(store_url):
    """A new model is created from METADATA at once; replaying every revision
    must give exactly that schema, or upgraded models would differ from new ones."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sheetsync.migrations import upgrade
    from sheetsync.store import METADATA

    replayed = sa.create_engine(engine_url(store_url))
    try:
        with replayed.begin() as c:
            upgrade(c, "0001")  # not "head": the revisions run one by one
            upgrade(c, "head")
        with replayed.connect() as c:
            assert current_revision(c) == HEAD
            diffs = compare_metadata(MigrationContext.configure(c), METADATA)
    finally:
        replayed.dispose()
    assert diffs == []
    store = Store(store_url)  # opens the replayed model as current: nothing to do
    try:
        with store.engine.connect() as c:
            assert current_revision(c) == HEAD
    finally:
        store.close()


def test_new_model_is_created_at_head_with_the_metadata_schema(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sheetsync.store import METADATA

    with store.engine.connect() as c:
        assert current_revision(c) == HEAD
        assert compare_metadata(MigrationContext.configure(c), METADATA) == []
        names = set(sa.inspect(c).get_table_names())
    assert names == set(METADATA.tables) | {"alembic_version"}


def test_head_constant_is_the_newest_revision():
    from alembic.script import ScriptDirectory

    from sheetsync.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD]
    assert [s.revision for s in script.walk_revisions()][-1] == "0001"


def test_opening_a_current_model_does_not_import_alembic(store_url):
    Store(store_url).close()
    code = (
        "import sys, time; from sheetsync.store import Store; t = time.perf_counter(); "
        "s = Store(sys.argv[1]); print(time.perf_counter() - t, 'alembic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, store_url], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[1] == "False"
    assert float(out[0]) < 2.0


def test_model_from_a_newer_sheetsync_is_refused(store_url):
    Store(store_url).close()
    engine = sa.create_engine(engine_url(store_url))
    with engine.begin() as c:
        c.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(ConfigError, match="newer sheetsync"):
        Store(store_url)


# ---------------------------------------------------------------- URLs and errors


def test_postgresql_urls_use_psycopg3():
    assert engine_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert engine_url("postgres://u@h:5433/db").drivername == "postgresql+psycopg"
    assert engine_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert engine_url("sqlite:///x.db").drivername == "sqlite"


def test_bad_urls_are_config_errors():
    with pytest.raises(ConfigError, match="not a database URL"):
        Store("not a url")
    with pytest.raises(ConfigError, match="not a database URL"):
        Store("nosuchdb://x/y")


def test_unreachable_postgres_is_a_config_error_without_the_password():
    with pytest.raises(ConfigError) as e:
        Store("postgresql://sheet:s3cret@127.0.0.1:1/model?connect_timeout=3")
    assert "cannot open the model at postgresql+psycopg://sheet:***@127.0.0.1:1/model" in str(
        e.value
    )
    assert "s3cret" not in str(e.value)


# ---------------------------------------------------------------- locks


def test_lock_without_waiting_refuses_clearly(store_url):
    a, b = Store(store_url), Store(store_url)
    try:
        if a.dialect == "postgresql":
            with a.transaction() as c1:
                a.lock(c1, "source:plan")
                with pytest.raises(RefusedError) as e, b.transaction() as c2:
                    b.lock(c2, "source:plan", wait=False)
                assert str(e.value).startswith(
                    "another sheetsync is syncing source 'plan' into this model; "
                    "try again when it has finished"
                )
                with b.transaction() as c2:  # other names are free
                    b.lock(c2, "source:crm", wait=False)
            with b.transaction() as c2:  # released at commit
                b.lock(c2, "source:plan", wait=False)
        else:
            with a.transaction() as c1:
                a.lock(c1, "source:plan")
                with (
                    pytest.raises(RefusedError, match="another sheetsync is writing"),
                    b.transaction(wait=False),
                ):
                    pass
            with b.transaction(wait=False) as c2:
                b.lock(c2, "source:plan", wait=False)
    finally:
        a.close()
        b.close()


def test_writers_wait_for_each_other(store_url):
    """A second writer waits for the first (lock or SQLite write lock), then sees its work."""
    a, b = Store(store_url), Store(store_url)
    seen: list[list[str]] = []
    asking = threading.Event()

    def second() -> None:
        asking.set()
        with b.transaction() as conn:
            b.lock(conn, "source:plan")
            seen.append([p["key"] for p in b.records("projects", conn=conn)])

    try:
        with a.transaction() as conn:
            a.lock(conn, "source:plan")
            a.apply(conn, "projects", [{"key": "P1", "name": "p"}], [], source="plan", at=utcnow())
            t = threading.Thread(target=second)
            t.start()
            assert asking.wait(10)
            # The second writer cannot finish while this transaction holds the lock: had
            # it not waited, it would have seen no P1 (or finished here).
            t.join(0.3)
            assert t.is_alive() and seen == []
        t.join(10)
        assert not t.is_alive() and seen == [["P1"]]
    finally:
        a.close()
        b.close()


def test_pg_fixture_needs_the_server_in_ci(monkeypatch):
    monkeypatch.delenv("SHEETSYNC_TEST_PG_URL", raising=False)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="scripts/with-postgres.sh"):
        pg_admin_url()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        pg_admin_url()


def test_cli_pull_into_postgres(sample_dir, pg_database_url, run_cli):
    r = run_cli("--config", sample_dir / "sheetsync.toml", "--db", pg_database_url, "pull")
    assert r.exit_code == 0, r.output
    assert "quotas: 139 new" in r.output
    s = Store(pg_database_url)
    assert len(s.records("quotas")) == 139
    assert s.snapshots("plan")[0].summary["quotas"]["inserted"] == 139
    s.close()
