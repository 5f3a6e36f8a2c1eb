"""Opening a Store (engine, schema upgrade) and its transactions, the one way sheetsync writes.

Opening a Store brings the model to the newest schema revision, cheaply when
it is there already (``sheetsync.migrations``). ``transaction()`` on SQLite
begins with ``BEGIN IMMEDIATE``, so writers queue (up to the busy timeout)
instead of failing halfway; on PostgreSQL writers run side by side (see
``sheetsync.store.locks``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from .. import schema  # schema.BUSY_TIMEOUT_MS, read when used: one setting for every use
from ..errors import ConfigError, RefusedError
from ..migrations import ensure_current
from ..model import TABLES
from ..schema import IMMEDIATE, open_engine


class Connected:
    """Store part: the engine on the model, and transactions on it."""

    def __init__(self, url: str, *, migrate: bool = True, create_folder: bool = False) -> None:
        """Open (and, if behind, upgrade) the model at ``url``. A SQLite file's
        folder must exist unless ``create_folder`` (the default ``.sheetsync/``)."""
        self.url = url
        self.engine, self.display_url = open_engine(url, create_folder=create_folder)
        self.dialect = self.engine.dialect.name
        if migrate:
            try:
                _upgrade(self.engine)
            except sa.exc.OperationalError as e:
                self.engine.dispose()
                if _sqlite_busy(e):
                    raise RefusedError(
                        f"the model at {self.display_url} is busy: another sheetsync is "
                        "upgrading or writing it",
                        hint="try again when it has finished",
                    ) from None
                raise ConfigError(
                    f"cannot open the model at {self.display_url}: {_first_line(e.orig)}"
                ) from None
            except BaseException:
                self.engine.dispose()
                raise

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[sa.Connection]:
        """One all-or-nothing unit of work; the only way sheetsync writes.

        SQLite: begins with BEGIN IMMEDIATE, taking the database's write lock
        up front, so a second writer waits its turn (busy timeout) rather than
        failing at its first write; ``wait=False`` refuses at once instead.
        PostgreSQL: an ordinary READ COMMITTED transaction; call ``lock()``
        for the resources it must have to itself.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**IMMEDIATE)
            nowait = self.dialect == "sqlite" and not wait
            if nowait:  # on the driver connection: no SQLAlchemy autobegin
                conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
            try:
                with conn.begin():
                    if nowait:
                        conn.connection.dbapi_connection.execute(
                            f"PRAGMA busy_timeout={schema.BUSY_TIMEOUT_MS}"
                        )
                        nowait = False
                    yield conn
            except sa.exc.IntegrityError as e:
                table = _current_version_clash(e)
                if table is None:
                    raise
                # Another transaction made a current version of the same record
                # meanwhile: a concurrent sync that did not lock its source.
                raise RefusedError(
                    f"another sheetsync changed {table} in this model at the same time; "
                    "nothing was written",
                    hint="try again when it has finished",
                ) from None
            except sa.exc.OperationalError as e:
                if _sqlite_busy(e):
                    raise RefusedError(
                        "another sheetsync is writing to this model"
                        + (
                            ""
                            if not wait
                            else f" and has been for {schema.BUSY_TIMEOUT_MS // 1000} s"
                        ),
                        hint="try again when it has finished",
                    ) from None
                raise
            finally:
                if nowait:
                    conn.connection.dbapi_connection.execute(
                        f"PRAGMA busy_timeout={schema.BUSY_TIMEOUT_MS}"
                    )


def _current_version_clash(e: sa.exc.IntegrityError) -> str | None:
    """The record table whose one-current-version index ``e`` violates, if any."""
    msg = str(e.orig)
    for name in TABLES:
        if f"uq_{name}_current_key" in msg or f"{name}._key" in msg:
            return name
    return None


def _upgrade(engine: sa.Engine) -> None:
    """Bring the model to the newest schema, waiting out the busy timeout when
    another process holds it. SQLite's busy handler covers most waits, but while a
    new model is made (its WAL mode set, its first tables written) SQLite can answer
    "database is locked" at once; that is retried until the same deadline."""
    deadline = time.monotonic() + schema.BUSY_TIMEOUT_MS / 1000
    pause = 0.02
    while True:
        try:
            ensure_current(engine, IMMEDIATE)
            return
        except sa.exc.OperationalError as e:
            if not _sqlite_busy(e) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _sqlite_busy(e: sa.exc.OperationalError) -> bool:
    return "database is locked" in str(e.orig) or "database is busy" in str(e.orig)


def _first_line(e: BaseException | None) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
