"""Alembic environment for the sheetsync model.

Store opens a connection, begins a transaction, takes the migration lock and
hands the connection over in ``config.attributes["connection"]``; nothing here
commits. ``python -m sheetsync.migrations --db URL ...`` (developers: new
revisions, history) uses the URL in ``sqlalchemy.url`` instead, opened as a Store opens it
(``sheetsync.schema.open_engine``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from sheetsync.schema import METADATA, open_engine


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine, _ = open_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()
