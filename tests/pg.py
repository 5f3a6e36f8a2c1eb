"""Model-database fixtures: every store test runs on SQLite and on PostgreSQL.

    from pg import *  # noqa: F403  -- in a test module (tests/ is on sys.path)

``store_url`` is parametrized: ``sqlite`` (a real file in tmp_path) and
``postgres`` (a fresh database per test, created through the server named by
``SHEETSYNC_TEST_PG_URL`` and dropped afterwards). Without that variable the
postgres cases skip, or fail when ``CI`` is set, so CI cannot pass silently
without PostgreSQL. ``scripts/with-postgres.sh CMD`` starts a throwaway
server and sets the variable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

__all__ = ["pg_database_url", "sqlite_url", "store", "store_url"]

PG_ENV = "SHEETSYNC_TEST_PG_URL"
MISSING = (
    f"{PG_ENV} is not set: run the tests through scripts/with-postgres.sh "
    "(it starts a throwaway PostgreSQL) or point it at a server you may create databases on"
)


def pg_admin_url() -> str:
    """The PostgreSQL server for tests, or skip/fail (CI) when there is none."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    return url


def _engine(url: str) -> sa.Engine:
    from sheetsync.schema import engine_url

    return sa.create_engine(engine_url(url), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


def _force_drop(engine: sa.Engine, name: str) -> None:
    with engine.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    admin = _engine(pg_admin_url())
    name = f"sheetsync_t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(os.environ[PG_ENV]).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        _force_drop(admin, name)
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'model' / 'model.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty model: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        (tmp_path / "model").mkdir(exist_ok=True)
        return f"sqlite:///{tmp_path / 'model' / 'model.db'}"
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def store(store_url: str):
    """An open Store on ``store_url``, closed after the test."""
    from sheetsync.store import Store

    s = Store(store_url)
    yield s
    s.close()
