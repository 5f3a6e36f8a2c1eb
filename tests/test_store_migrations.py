"""Schema migrations: a model made by the first schema, with data, opens at head intact.

Runs on SQLite and PostgreSQL (``store_url``). The 0001 model is filled with
real data: the sample pulled twice (so history has closed versions), its
snapshots, and a ledger row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import time_machine
from pg import *  # noqa: F403  (fixtures: store_url)

from sheetsync.config import load_config
from sheetsync.migrations import FIRST_SCHEMA_TABLES, HEAD, current_revision, upgrade
from sheetsync.model import TABLES
from sheetsync.pull import pull
from sheetsync.schema import engine_url
from sheetsync.store import SCHEMA, Store, record_key


def _filled_reference(sample_dir: Path, tmp_path: Path) -> Store:
    """A current-schema SQLite model holding the sample pulled twice, with one change."""
    ref = Store(f"sqlite:///{tmp_path / 'reference.db'}")
    config = load_config(sample_dir / "sheetsync.toml")
    with time_machine.travel(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)):
        pull(config, ref)
    wb = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")
    wb["Projects"]["G2"] = 1_480_000
    wb.save(sample_dir / "sales_plan.xlsx")
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=UTC)):  # a later pull
        pull(config, ref)
    with ref.transaction() as conn:
        conn.execute(
            sa.insert(SCHEMA["sends"]).values(
                period="2026-W49",
                group_name="exec",
                recipient="ceo@example.com",
                pack_hash="abc123",
                status="sent",
                attempts=1,
                sent_at=datetime(2026, 11, 30, 10, 5),
                message_id="<1@sheetsync>",
            )
        )
    return ref


def _make_first_schema_model(url: str, ref: Store, *, drop_version: bool = False) -> sa.Engine:
    """Create the 0001 schema at ``url`` by migrating to 0001 only; copy ``ref``'s rows in."""
    engine = sa.create_engine(engine_url(url), poolclass=sa.NullPool)
    with engine.begin() as conn:
        upgrade(conn, "0001")
        assert current_revision(conn) == "0001"
    old = sa.MetaData()
    old.reflect(engine)
    assert set(FIRST_SCHEMA_TABLES) <= set(old.tables)
    assert not [i for i in old.tables["projects"].indexes if i.name == "uq_projects_current_key"]
    with ref.engine.connect() as src, engine.begin() as dst:
        for name in FIRST_SCHEMA_TABLES:
            pk = "id" if name in ("snapshots", "sends") else "_id"
            rows = [dict(r._mapping) for r in src.execute(sa.select(SCHEMA[name]).order_by(pk))]
            for r in rows:  # let the target number them, as it would have
                del r[pk]
            if rows:
                dst.execute(sa.insert(old.tables[name]), rows)
        if drop_version:
            dst.exec_driver_sql("DROP TABLE alembic_version")
    return engine


def _dump(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of the first schema's tables, in its columns (later revisions
    may add columns: those start blank and are checked separately)."""
    md = sa.MetaData()
    md.reflect(engine, only=list(FIRST_SCHEMA_TABLES))
    with engine.connect() as c:
        return {
            name: [
                tuple(r)
                for r in c.execute(
                    sa.select(
                        *(t.c[col] for col in FIRST_COLUMNS.get(name, [c.name for c in t.c]))
                    ).order_by(*t.primary_key.columns)
                )
            ]
            for name, t in md.tables.items()
        }


#: Columns later revisions added to the first schema's tables (blank in old rows).
ADDED_COLUMNS = {
    "sends": ["claimed_by"],
    "snapshots": ["layout"],
    **{name: ["_row"] for name in TABLES},
}
FIRST_COLUMNS = {
    name: [c.name for c in SCHEMA[name].c if c.name not in added]
    for name, added in ADDED_COLUMNS.items()
}


@pytest.mark.parametrize("legacy", [False, True], ids=["at-0001", "before-migrations"])
def test_first_schema_model_with_data_upgrades_without_loss(
    store_url, sample_dir, tmp_path, legacy
):
    ref = _filled_reference(sample_dir, tmp_path)
    engine = _make_first_schema_model(store_url, ref, drop_version=legacy)
    before = _dump(engine)
    assert len(before["quotas"]) == 139 and len(before["projects"]) == 3  # GROW20 twice
    assert len(before["snapshots"]) == 2 and len(before["sends"]) == 1

    store = Store(store_url)  # upgrades
    with store.engine.connect() as c:
        assert current_revision(c) == HEAD
        index_names = {i["name"] for i in sa.inspect(c).get_indexes("projects")}
    assert "uq_projects_current_key" in index_names
    assert _dump(engine) == before  # every row of every table, byte for byte
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT claimed_by FROM sends")).scalars().all() == [None]
        assert c.execute(sa.text("SELECT layout FROM snapshots")).scalars().all() == [None] * 2
        for name in TABLES:
            assert set(c.execute(sa.text(f"SELECT _row FROM {name}")).scalars()) <= {None}

    # ... and the upgraded model works: reads, history, as-of, a new pull.
    assert {n: len(store.records(n)) for n in TABLES} == {n: len(ref.records(n)) for n in TABLES}
    key = record_key(TABLES["projects"], {"key": "GROW20"})
    assert [v[3]["current_value"] for v in store.history("projects", key)] == pytest.approx(
        [1_471_998, 1_480_000]
    )
    first = store.snapshots("plan")[-1]
    then = store.records("projects", as_of=first.taken_at + timedelta(microseconds=1))
    assert {p["key"]: p["current_value"] for p in then}["GROW20"] == pytest.approx(1_471_998)
    assert store.snapshot_values(first.id)["quotas"] == ref.snapshot_values(1)["quotas"]
    (result,) = pull(load_config(sample_dir / "sheetsync.toml"), store)
    assert not result.changed
    assert len(store.snapshots("plan")) == 3
    store.close()
    Store(store_url).close()  # and opening again is a no-op
    assert _dump(engine)["quotas"] == before["quotas"]
    engine.dispose()
    ref.close()


def test_upgrade_closes_duplicate_current_versions(store_url, sample_dir, tmp_path):
    """0002 adds a one-current-version index; duplicates an unlocked race left are closed."""
    ref = _filled_reference(sample_dir, tmp_path)
    engine = _make_first_schema_model(store_url, ref)
    key = record_key(TABLES["milestones"], {"key": "G-01"})
    t = sa.Table("milestones", sa.MetaData(), autoload_with=engine)
    with engine.begin() as c:
        (orig,) = c.execute(sa.select(t).where(t.c._key == key)).mappings().all()
        later = orig["_valid_from"] + timedelta(seconds=1)
        dup = {k: v for k, v in orig.items() if k != "_id"} | {"_valid_from": later}
        c.execute(sa.insert(t), [dup])
    store = Store(store_url)
    with engine.connect() as c:
        versions = c.execute(sa.select(t).where(t.c._key == key).order_by(t.c._id)).mappings().all()
    assert len(versions) == 2
    assert versions[0]["_valid_to"] == later and versions[1]["_valid_to"] is None
    assert len([m for m in store.records("milestones") if m["key"] == "G-01"]) == 1
    store.close()
    engine.dispose()
    ref.close()


def test_partial_model_is_refused(store_url):
    engine = sa.create_engine(engine_url(store_url), poolclass=sa.NullPool)
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE snapshots (id INTEGER PRIMARY KEY)")
    engine.dispose()
    from sheetsync.errors import ConfigError

    with pytest.raises(ConfigError, match="not made by sheetsync or is damaged"):
        Store(store_url)
