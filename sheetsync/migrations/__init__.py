"""Schema migrations (Alembic), applied automatically when a Store opens.

The revisions live in ``versions/`` and ship inside the package; no
alembic.ini is needed: :func:`alembic_config` builds the configuration in code.

Opening a model (:func:`ensure_current`):

1. Cheap check, no lock: read ``alembic_version``. At :data:`HEAD` → done.
   This is the path every command takes once the model is set up, and it
   does not import Alembic at all.
2. Otherwise take the migration lock — PostgreSQL: a transaction-scoped
   advisory lock; SQLite: the database write lock (``BEGIN IMMEDIATE``) —
   so concurrent first opens queue instead of racing, and look again.
3. No ``alembic_version`` but the model's tables exist: a model made before
   migrations existed, which is exactly revision 0001: stamp it 0001.
4. Upgrade to head in the same transaction (both backends have
   transactional DDL), so a failed upgrade leaves the model as it was.

Developers: ``python -m sheetsync.migrations --db URL revision -m "..."
--autogenerate`` writes a new revision; bump :data:`HEAD` with it (a test
checks they agree).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..errors import ConfigError
from ..schema import LOCK_NAMESPACE, METADATA

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest revision; kept here so the fast path needs no Alembic import.
HEAD = "0011_cells"
#: Tables of revision 0001: their presence without alembic_version means "stamp 0001".
FIRST_SCHEMA_TABLES = ("projects", "milestones", "quotas", "budget", "tasks", "snapshots", "sends")
_MIGRATION_LOCK = "sheetsync:migrate"

SCRIPT_LOCATION = Path(__file__).parent


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config for the packaged revisions, on ``connection`` (or ``url``)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(conn: sa.Connection) -> str | None:
    """The model's revision, or None when it has no alembic_version table."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def lock_migrations(conn: sa.Connection) -> None:
    """Serialise migrations for the rest of ``conn``'s transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(LOCK_NAMESPACE, sa.func.hashtext(_MIGRATION_LOCK))
            )
        )
    # SQLite: the caller's transaction began with BEGIN IMMEDIATE and holds the
    # database's write lock already.


def upgrade(conn: sa.Connection, revision: str = "head") -> None:
    """Bring the model on ``conn`` (inside a transaction) to ``revision``.

    Stamps a pre-migration model at 0001 first. An empty database gets the
    newest schema at once (``schema.METADATA``, which a test holds equal to the
    revisions), stamped HEAD: no revision replayed, Alembic not even imported.
    The caller commits.
    """
    current = current_revision(conn)
    if current is None and revision in ("head", HEAD) and not sa.inspect(conn).get_table_names():
        _create_newest(conn)
        return
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = alembic_config(conn)
    if current is None:
        existing = set(sa.inspect(conn).get_table_names())
        if existing & set(FIRST_SCHEMA_TABLES):
            missing = [t for t in FIRST_SCHEMA_TABLES if t not in existing]
            if missing:
                raise ConfigError(
                    f"the model has some of sheetsync's tables but not {', '.join(missing)}; "
                    "it was not made by sheetsync or is damaged",
                    hint="point --db at an empty database or a sheetsync model",
                )
            command.stamp(cfg, "0001")
    elif current not in {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}:
        raise ConfigError(
            f"the model is at schema revision {current!r}, which this sheetsync does not know: "
            "a newer sheetsync has upgraded it",
            hint="upgrade sheetsync (pip install -U sheetsync) on this machine",
        )
    command.upgrade(cfg, revision)


def _create_newest(conn: sa.Connection) -> None:
    METADATA.create_all(conn)
    version = sa.Table(
        "alembic_version",
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    version.create(conn)
    conn.execute(version.insert().values(version_num=HEAD))


def ensure_current(engine: sa.Engine, begin_immediate: dict[str, str]) -> bool:
    """Upgrade the model to HEAD if it is not there yet; True if anything ran.

    ``begin_immediate`` is the execution option that makes the SQLite
    transaction start with BEGIN IMMEDIATE (see ``Store``).
    """
    with engine.connect() as conn:
        if current_revision(conn) == HEAD:
            return False
    with engine.connect() as conn:
        conn.execution_options(**begin_immediate)
        with conn.begin():
            lock_migrations(conn)
            if current_revision(conn) == HEAD:  # another process just did it
                return False
            upgrade(conn, "head")
    return True
