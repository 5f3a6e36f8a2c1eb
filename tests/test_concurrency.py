"""Real concurrent processes on one model, on SQLite and on PostgreSQL.

Each worker is a separate Python process running the real pull / store code.
They start together (each blocks on its stdin until the parent releases them
all), and a worker holding a write transaction keeps it open until every
other worker has announced that it is starting its own (a marker file made
just before ``Store.transaction``), so their write transactions overlap: what
is tested is what the database and the locks do with two writers at once,
not luck of timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg import *  # noqa: F403  (fixtures: store_url)

from sheetsync.config import load_config
from sheetsync.migrations import HEAD, current_revision
from sheetsync.model import TABLES
from sheetsync.pull import pull
from sheetsync.store import SCHEMA, Store

SAMPLE_COUNTS = {"projects": 2, "milestones": 20, "quotas": 139, "budget": 10, "tasks": 16}

# Worker code shared by the workers below: mark "I am starting a transaction", and wait
# (a bounded wait on files) until the other workers have done so.
OVERLAP = """
import os, time
from pathlib import Path
from sheetsync.store import Store
MARKS = Path(os.environ["OVERLAP_DIR"])
OTHERS = int(os.environ["OVERLAP_WORKERS"]) - 1
_transaction = Store.transaction
def _marked(self, *args, **kwargs):
    (MARKS / str(os.getpid())).touch()
    return _transaction(self, *args, **kwargs)
Store.transaction = _marked
def wait_for_the_others():
    deadline = time.monotonic() + 30  # a worker refused before its transaction never marks
    while time.monotonic() < deadline:
        if len([p for p in MARKS.iterdir() if p.name != str(os.getpid())]) >= OTHERS:
            return
        time.sleep(0.005)
"""

PULL_WORKER = OVERLAP + textwrap.dedent(
    """
    import json, sys
    config_path, url, *names = sys.argv[1:]
    from sheetsync.config import load_config
    from sheetsync.errors import SheetsyncError
    from sheetsync.store import Store
    from sheetsync.pull import pull

    apply = Store.apply
    def held_apply(self, *args, **kwargs):
        apply(self, *args, **kwargs)
        wait_for_the_others()  # the transaction stays open meanwhile
    Store.apply = held_apply

    config = load_config(config_path)
    store = Store(url)
    print("ready", flush=True)
    sys.stdin.readline()  # released by the parent, all at once
    try:
        results = pull(config, store, tuple(names))
    except SheetsyncError as e:
        print(json.dumps({"ok": False, "error": str(e), "type": type(e).__name__}))
    else:
        print(json.dumps({"ok": True, "results": [r.as_dict() for r in results]}))
    """
)

CLAIM_WORKER = OVERLAP + textwrap.dedent(
    """
    import json, sys
    url, = sys.argv[1:]
    import sqlalchemy as sa
    from sheetsync.store import SCHEMA, Store, utcnow

    store = Store(url)
    print("ready", flush=True)
    sys.stdin.readline()  # released by the parent, all at once
    try:
        with store.transaction() as conn:
            conn.execute(sa.insert(SCHEMA["sends"]).values(
                period="2026-W49", group_name="exec", recipient="ceo@example.com",
                pack_hash="abc", status="sending", attempts=1, first_attempt_at=utcnow()))
            wait_for_the_others()  # the other claims arrive while this one is open
    except sa.exc.IntegrityError:
        print(json.dumps({"won": False}))
    else:
        print(json.dumps({"won": True}))
    """
)

LEDGER_WORKER = textwrap.dedent(
    """
    import json, sys
    url, = sys.argv[1:]
    from sheetsync.mail import ledger
    from sheetsync.store import Store

    store = Store(url)
    print("ready", flush=True)
    sys.stdin.readline()  # released by the parent, all at once
    c = ledger.claim(store, period="2026-W49", group="exec", recipient="ceo@example.com",
                     pack_hash="abc", subject="Status", message_id="<x@sheetsync>")
    print(json.dumps({"won": c.claimed, "reason": c.reason}))
    """
)


def _run_together(code: str, arg_lists: list[list[str]], marks: Path | None = None) -> list[dict]:
    """Start one process per argument list, release them at once, return their JSON output.

    Each worker says "ready" once it has imported and opened its store, then blocks
    reading its stdin; the parent releases them all with one line each."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OVERLAP_WORKERS": str(len(arg_lists))}
    if marks is not None:
        marks.mkdir()
        env["OVERLAP_DIR"] = str(marks)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in arg_lists
    ]
    for p in procs:  # every worker has imported and opened its store
        line = p.stdout.readline()
        assert line.strip() == "ready", f"worker failed:\n{line}{p.stderr.read()}"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"worker failed:\n{err}"
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return outs


def _two_source_config(sample_dir: Path) -> Path:
    """The sample split in two sources over the same workbook: 'plan' and 'quotas'."""
    text = (sample_dir / "sheetsync.toml").read_text()
    text = text.replace(
        "[sources.plan.tables.quotas]\n",
        '[sources.quotas]\nkind = "xlsx"\npath = "sales_plan.xlsx"\n'
        "[sources.quotas.tables.quotas]\n",
    ).replace("[sources.plan.tables.quotas.columns]", "[sources.quotas.tables.quotas.columns]")
    path = sample_dir / "two-sources.toml"
    path.write_text(text)
    assert sorted(load_config(path).sources) == ["plan", "quotas"]
    return path


def _versions(store: Store) -> dict[str, int]:
    with store.engine.connect() as c:
        return {
            n: c.execute(sa.select(sa.func.count()).select_from(SCHEMA[n])).scalar() for n in TABLES
        }


def test_first_opens_at_once_migrate_once(store_url, tmp_path):
    code = textwrap.dedent(
        """
        import sys
        url, = sys.argv[1:]
        print("ready", flush=True)
        sys.stdin.readline()  # released by the parent, all at once
        from sheetsync.store import Store
        Store(url).close()
        print('{"ok": true}')
        """
    )
    outs = _run_together(code, [[store_url] for _ in range(4)])
    assert outs == [{"ok": True}] * 4
    store = Store(store_url)
    with store.engine.connect() as c:
        assert current_revision(c) == HEAD
        assert c.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    store.close()


def test_two_sources_at_once_lose_nothing(store_url, sample_dir, tmp_path):
    config = _two_source_config(sample_dir)
    outs = _run_together(
        PULL_WORKER,
        [[str(config), store_url, name] for name in ("plan", "quotas")],
        tmp_path / "marks",
    )
    assert all(o["ok"] for o in outs), outs
    store = Store(store_url)
    assert {n: len(store.records(n)) for n in TABLES} == SAMPLE_COUNTS
    assert _versions(store) == SAMPLE_COUNTS
    assert sorted(s.source for s in store.snapshots()) == ["plan", "quotas"]
    # The same as pulling them one after the other into a fresh model.
    ref = Store(f"sqlite:///{tmp_path / 'reference.db'}")
    pull(load_config(config), ref)
    for name in TABLES:
        assert sorted(store.records(name), key=repr) == sorted(ref.records(name), key=repr)
    store.close()
    ref.close()


def test_same_source_at_once_applies_once(store_url, sample_dir, tmp_path):
    config = sample_dir / "sheetsync.toml"
    outs = _run_together(
        PULL_WORKER, [[str(config), store_url, "plan"] for _ in range(2)], tmp_path / "marks"
    )
    store = Store(store_url)
    assert _versions(store) == SAMPLE_COUNTS  # one version per record: applied once
    assert {n: len(store.records(n)) for n in TABLES} == SAMPLE_COUNTS
    ok = [o for o in outs if o["ok"]]
    refused = [o for o in outs if not o["ok"]]
    assert ok, outs
    for o in refused:  # the loser either waited (ok, nothing new) or was told clearly
        assert o["type"] == "RefusedError", o
        assert "try again when it has finished" in o["error"]
    inserted = sorted(sum(t["inserted"] for t in o["results"][0]["tables"].values()) for o in ok)
    assert inserted[-1] == sum(SAMPLE_COUNTS.values())
    assert inserted[:-1] == [0] * (len(ok) - 1)  # a waiter found nothing to do
    assert len(store.snapshots("plan")) == len(ok)
    store.close()


def test_two_sends_at_once_never_both_win(store_url, tmp_path):
    outs = _run_together(CLAIM_WORKER, [[store_url] for _ in range(3)], tmp_path / "marks")
    assert sorted(o["won"] for o in outs) == [False, False, True]
    store = Store(store_url)
    with store.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(SCHEMA["sends"])).scalar() == 1
    store.close()


def test_two_ledger_claims_at_once_never_both_win(store_url, tmp_path):
    pytest.importorskip("sheetsync.mail.ledger", reason="sheetsync.mail.ledger is not there yet")
    outs = _run_together(LEDGER_WORKER, [[store_url] for _ in range(3)])
    assert sorted(o["won"] for o in outs) == [False, False, True], outs
    assert {o["reason"] for o in outs if not o["won"]} <= {"in_flight", "sent"}
