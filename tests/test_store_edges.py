"""The store's less-travelled paths, on a real SQLite file and real PostgreSQL:
bulk writes reported in chunks, a busy SQLite model, rekey's early returns.

Tests taking ``store``/``store_url`` run on both databases (see tests/pg.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg import *  # noqa: F403  (fixtures: store_url, store, pg_database_url)

import sheetsync.schema as schema_module
import sheetsync.store.bulk as bulk_module
import sheetsync.store.codec as codec_module
from sheetsync.errors import ConfigError, RefusedError
from sheetsync.model import TABLES, with_key
from sheetsync.store import (
    SCHEMA,
    Store,
    iter_values,
    load_values,
    record_key,
    record_keys,
    utcnow,
)


def test_a_bulk_write_reports_its_progress_chunk_by_chunk(store, monkeypatch):
    """Many rows: several full statements (SQLite) or batches (PostgreSQL),
    then the rest; each reported as written, the last at the total."""
    monkeypatch.setattr(bulk_module, "BULK_CHUNK", 500)
    n = 1234
    projects = [
        {"key": f"P{i:04d}", "name": f"Project {i}", "start": date(2026, 1, 1 + i % 28)}
        for i in range(n)
    ]
    seen: list[tuple[int, int]] = []
    with store.transaction() as conn:
        store.apply(
            conn,
            "projects",
            projects,
            [],
            source="plan",
            at=utcnow(),
            progress=lambda done, total: seen.append((done, total)),
        )
    assert seen == [(500, n), (1000, n), (n, n)]
    got = {p["key"]: p for p in store.records("projects")}
    assert len(got) == n
    assert got["P0999"]["name"] == "Project 999"
    assert got["P1233"]["start"] == date(2026, 1, 1 + 1233 % 28)
    # whole statements only (1000 = 2 x 500 rows), nothing to report to
    milestones = [{"key": f"M{i}", "project": "P0001", "name": f"M {i}"} for i in range(1000)]
    with store.transaction() as conn:
        store.apply(conn, "milestones", milestones, [], source="plan", at=utcnow())
    assert sorted(m["key"] for m in store.records("milestones")) == sorted(
        m["key"] for m in milestones
    )


def test_opening_a_model_another_writer_holds_is_refused_clearly(tmp_path: Path, monkeypatch):
    """A model that needs its schema made while another connection holds the
    SQLite write lock: refused (busy), not a half-made schema."""
    monkeypatch.setattr(schema_module, "BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "model.db"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(RefusedError) as e:
            Store(f"sqlite:///{path}")
        assert "is busy: another sheetsync is upgrading or writing it" in str(e.value)
        assert e.value.hint == "try again when it has finished"
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    store = Store(f"sqlite:///{path}")  # free again: made at once
    try:
        assert store.records("projects") == []
    finally:
        store.close()


def test_a_writer_that_waited_out_the_busy_timeout_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(schema_module, "BUSY_TIMEOUT_MS", 50)
    url = f"sqlite:///{tmp_path / 'model.db'}"
    a, b = Store(url), Store(url)
    try:
        with a.transaction():
            with pytest.raises(RefusedError) as e, b.transaction():
                pass
            assert str(e.value).startswith("another sheetsync is writing to this model and has")
        with b.transaction() as conn:  # a committed: b writes
            b.apply(conn, "projects", [{"key": "P1", "name": "p"}], [], source="t", at=utcnow())
        assert [p["key"] for p in a.records("projects")] == ["P1"]
    finally:
        a.close()
        b.close()


def test_other_database_errors_in_a_transaction_pass_through(tmp_path: Path):
    """Only a busy database becomes RefusedError; any other failure is raised as it was."""
    store = Store(f"sqlite:///{tmp_path / 'model.db'}")
    try:
        with (
            pytest.raises(sa.exc.OperationalError, match="no such table"),
            store.transaction() as c,
        ):
            c.exec_driver_sql("UPDATE no_such_table SET x = 1")
    finally:
        store.close()


def test_rekey_to_the_key_in_use_changes_nothing(store):
    with store.transaction() as conn:
        store.apply(conn, "projects", [{"key": "P1", "name": "p"}], [], source="t", at=utcnow())
    by_name = with_key(TABLES["projects"], ("name",))
    with store.transaction() as conn:
        assert store.rekey(conn, TABLES["projects"]) is None  # the built-in key already
        assert store.rekey(conn, by_name, apply=False).records == 1  # only checked
        assert store.model_key(conn, "projects") == ("key",)
        assert store.rekey(conn, by_name).records == 1
        assert store.rekey(conn, by_name) is None  # moved already
        assert store.model_key(conn, "projects") == ("name",)
    with store.engine.connect() as c:
        keys = c.execute(sa.select(SCHEMA["projects"].c._key)).scalars().all()
    assert keys == ["p"]


def test_a_folder_that_cannot_be_made_is_a_config_error(tmp_path: Path):
    """``create_folder`` makes the model's own folder, never missing parents."""
    folder = tmp_path / "missing" / ".sheetsync"
    with pytest.raises(ConfigError) as e:
        Store(f"sqlite:///{folder / 'model.db'}", create_folder=True)
    assert str(e.value).startswith(f"cannot create the model's folder {folder}: ")
    assert not (tmp_path / "missing").exists()


# ---------------------------------------------------------------- snapshots in other forms

QUOTA_FIELDS = ["rep", "team", "quota", "period"]
QUOTA_ROWS = [[f"Rep {i}", "North, [West]", 1.5 * i, "2026-01"] for i in range(40)]


@pytest.mark.parametrize(
    "text",
    [
        # json.dumps' default separators (", " and ": "): no table head as orjson writes it
        json.dumps({"quotas": {"fields": QUOTA_FIELDS, "rows": QUOTA_ROWS}}),
        # rows, then a member other than "key": no table tail as encode_rows writes it
        json.dumps(
            {"quotas": {"fields": QUOTA_FIELDS, "rows": QUOTA_ROWS, "note": "old"}},
            separators=(",", ":"),
        ),
    ],
    ids=["spaced", "extra-member"],
)
def test_snapshots_in_another_form_are_decoded_whole(monkeypatch, text):
    monkeypatch.setattr(codec_module._Inflater, "PIECE", 64)
    blob = zlib.compress(text.encode(), 1)
    parts = list(iter_values(blob))
    assert [r for _, _, rows in parts for r in rows] == QUOTA_ROWS
    assert {(name, tuple(fields)) for name, fields, _ in parts} == {("quotas", tuple(QUOTA_FIELDS))}
    assert load_values(blob)["quotas"]["rows"] == QUOTA_ROWS


def test_records_with_different_fields_round_trip_through_a_snapshot(store):
    """Records not read from one sheet (some lack fields) are stored field by field."""
    records = [
        {"key": "P1", "name": "One", "start": date(2026, 7, 1)},
        {"key": "P2", "name": "Two", "owner": "Karen Liu"},
    ]
    with store.transaction() as conn:
        sid = store.add_snapshot(
            conn,
            source="plan",
            kind="push",
            at=utcnow(),
            content_hash=None,
            summary={},
            values={"projects": records, "budget": []},
        )
        chunks = list(store.snapshot_chunks(sid, conn))
    assert store.snapshot_values(sid)["budget"] == []
    got = store.snapshot_values(sid)["projects"]
    assert [(p["key"], p["start"], p["owner"], p["goal"]) for p in got] == [
        ("P1", date(2026, 7, 1), None, None),
        ("P2", None, "Karen Liu", None),
    ]
    ((name, fields, rows), (empty, _, none)) = chunks
    assert (empty, none) == ("budget", [])
    assert name == "projects" and fields == [f.name for f in TABLES["projects"].fields]
    assert rows[0][fields.index("start")] == date(2026, 7, 1)


def test_rekey_that_a_rival_finished_while_it_waited_changes_nothing(pg_database_url):
    """PostgreSQL: two runs move the same table to a new key at once; the one
    that waited for the other's lock finds the move made and does nothing."""
    a, b = Store(pg_database_url), Store(pg_database_url)
    by_name = with_key(TABLES["projects"], ("name",))
    done: list[object] = []
    try:
        with a.transaction() as conn:
            a.apply(conn, "projects", [{"key": "P1", "name": "p"}], [], source="t", at=utcnow())

        def second() -> None:
            with b.transaction() as conn:
                done.append(b.rekey(conn, by_name))

        with a.transaction() as conn:
            assert a.rekey(conn, by_name).records == 1  # holds keys:projects until commit
            t = threading.Thread(target=second)
            t.start()
            # until b waits for the advisory lock (it read the old key before it)
            with a.engine.connect() as watch:
                waiting = sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
                blocked = False
                for _ in range(100_000):
                    blocked = bool(watch.execute(waiting).scalar())
                    if blocked or not t.is_alive():
                        break
            assert blocked and t.is_alive() and done == []
        t.join(10)
        assert not t.is_alive() and done == [None]
        with a.engine.connect() as c:
            assert a.model_key(c, "projects") == ("name",)
            assert c.execute(sa.select(SCHEMA["projects"].c._key)).scalars().all() == ["p"]
    finally:
        a.close()
        b.close()


def test_a_snapshot_without_values_reads_as_empty(store):
    with store.transaction() as conn:
        sid = store.add_snapshot(
            conn,
            source="plan",
            kind="sync",
            at=utcnow(),
            content_hash=None,
            summary={},
            values=None,
        )
    assert store.snapshot_values(sid) == {}
    assert store.snapshot_keys(sid) == {}


def test_snapshot_keys_under_a_key_the_snapshot_lacks_come_from_the_model(store):
    """A snapshot taken under the built-in key, without the new key's field:
    its records are found through the current records, under the new key."""
    at = utcnow()
    projects = [
        {"key": "P1", "name": "One", "owner": "Karen"},
        {"key": "P2", "name": "Two", "owner": "Dana"},
        {"key": "P3", "name": "Three", "owner": "Lee"},
    ]
    with store.transaction() as conn:
        store.apply(conn, "projects", projects, [], source="plan", at=at)
        sid = store.add_snapshot(
            conn,
            source="plan",
            kind="pull",
            at=at,
            content_hash=None,
            summary={},
            values={
                "projects": [{"key": p["key"], "name": p["name"]} for p in projects[:2]],
                "budget": [],  # its key's fields are there: nothing to look up
            },
        )
    by_owner = {"projects": with_key(TABLES["projects"], ("owner",))}
    assert store.snapshot_keys(sid) == {"projects": {"P1", "P2"}, "budget": set()}
    assert store.snapshot_keys(sid, specs=by_owner) == {
        "projects": {"Karen", "Dana"},
        "budget": set(),
    }
    with store.engine.connect() as c:
        among = {"projects": {"Dana", "Lee"}}
        assert store.snapshot_keys(sid, c, by_owner, among) == {"projects": {"Dana"}}
        assert store.snapshot_keys(sid, c, by_owner, {"tasks": {"T1"}}) == {}


def test_records_by_a_key_the_model_does_not_store_them_under(store):
    with store.transaction() as conn:
        store.apply(conn, "projects", [{"key": "P1", "name": "One"}], [], source="t", at=utcnow())
        by_name = with_key(TABLES["projects"], ("name",))
        assert {k: p["key"] for k, p in store.keyed(conn, "projects", by_name).items()} == {
            "One": "P1"
        }
        assert store.rekey(conn, with_key(TABLES["tasks"], ("name",)), apply=False) is None
        assert store.model_key(conn, "tasks") == ("key",)  # only checked: not remembered


def test_record_keys_of_records_lacking_a_key_field_are_made_one_by_one():
    spec = TABLES["milestones"]
    records = [{"key": "M1", "name": "x"}, {"name": "no key"}]
    assert record_keys(spec, records) == [record_key(spec, r) for r in records]
    assert record_keys(spec, records)[0] == "M1"


def test_versions_digest_and_last_write_follow_the_writes(store):
    t0, t1, t2 = (datetime(2026, 11, d, 9, 0) for d in (2, 9, 16))
    assert store.last_write_at() is None
    empty = store.versions_digest(t0)
    with store.transaction() as conn:
        store.apply(conn, "projects", [{"key": "P1", "name": "a"}], [], source="t", at=t1)
        assert store.last_write_at(conn) == t1
    first = store.versions_digest(t1)
    assert first != empty and store.versions_digest(t0) == empty
    with store.transaction() as conn:
        store.apply(conn, "projects", [], ["P1"], source="t", at=t2)  # deleted: a write too
    assert store.last_write_at() == t2
    assert store.versions_digest(t1) == first and store.versions_digest(t2) == empty
    assert store.has_records(t1) and not store.has_records(t2)


def test_model_urls_without_a_folder_check(tmp_path: Path):
    """In memory: no folder; ``migrate=False``: the file opened as it is."""
    memory = Store("sqlite:///:memory:")
    try:
        assert memory.dialect == "sqlite"
    finally:
        memory.close()
    path = tmp_path / "plain.db"
    plain = Store(f"sqlite:///{path}", migrate=False)
    try:
        with plain.engine.connect() as c:
            assert c.exec_driver_sql("SELECT name FROM sqlite_master").all() == []
    finally:
        plain.close()
    with pytest.raises(ConfigError, match="does not exist") as e:
        Store(f"sqlite:///{tmp_path / 'nowhere' / 'model.db'}")
    assert "create it first" in e.value.hint


def test_lock_names_other_than_sources_are_refused_by_name(pg_database_url):
    a, b = Store(pg_database_url), Store(pg_database_url)
    try:
        with a.transaction() as c1:
            a.lock(c1, "send:2026-W49")
            a.lock(c1, "baseline:q3")
            for name, says in [
                ("send:2026-W49", "another sheetsync is sending '2026-W49' from this model"),
                ("baseline:q3", "another sheetsync holds 'baseline:q3' in this model"),
            ]:
                with pytest.raises(RefusedError) as e, b.transaction() as c2:
                    b.lock(c2, name, wait=False)
                assert str(e.value).startswith(says + "; try again when it has finished")
    finally:
        a.close()
        b.close()


def test_a_model_locked_at_once_while_it_is_made_is_retried_until_the_busy_timeout(
    tmp_path: Path, monkeypatch
):
    """While another process makes a new model (its WAL mode set, its first tables
    written), SQLite can answer "database is locked" at once, without waiting: opening
    retries that until the busy timeout, then refuses as a wait would."""
    from sheetsync.store import engine as engine_module

    real, answers = engine_module.ensure_current, []

    def locked_twice(engine, immediate):
        answers.append(len(answers))
        if len(answers) <= 2:
            raise sa.exc.OperationalError(
                "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
            )
        return real(engine, immediate)

    monkeypatch.setattr(engine_module, "ensure_current", locked_twice)
    store = Store(f"sqlite:///{tmp_path / 'model.db'}")
    try:
        assert answers == [0, 1, 2] and store.records("projects") == []
    finally:
        store.close()

    monkeypatch.setattr(schema_module, "BUSY_TIMEOUT_MS", 100)
    answers.clear()
    monkeypatch.setattr(
        engine_module,
        "ensure_current",
        lambda engine, immediate: (_ for _ in ()).throw(
            sa.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
        ),
    )
    with pytest.raises(RefusedError, match="is busy: another sheetsync is upgrading or writing it"):
        Store(f"sqlite:///{tmp_path / 'other.db'}")
