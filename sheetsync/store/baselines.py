"""Baselines: named copies of the plan as of a day, kept whole in the model.

A baseline holds every field of the records it was saved with (encoded as a
snapshot's values are, ``sheetsync.store.codec``), so it survives later pulls,
key changes and migrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ..errors import UsageError
from ..model import Record
from ..schema import SCHEMA, utcnow
from .codec import decode_values, encode_values, load_values


@dataclass(frozen=True)
class Baseline:
    """A named copy of the plan as of a day (``Store.save_baseline``)."""

    name: str
    as_of: date
    known_at: datetime  # the moment whose records it holds (plan.known_at)
    saved_at: datetime
    records: dict[str, int]  # table -> record count


class Baselines:
    """Store part: saving, listing, reading and dropping baselines."""

    def save_baseline(
        self, name: str, as_of: date, known_at: datetime, records: dict[str, list[Record]]
    ) -> Baseline:
        """Keep a copy of ``records`` (the plan as of ``as_of``) under ``name``.

        The copy holds every field, so it survives later pulls, key changes and
        migrations. Raises UsageError when the name is taken.
        """
        t = SCHEMA["baselines"]
        saved = utcnow()
        with self.transaction() as conn:
            self.lock(conn, f"baseline:{name}")
            if conn.execute(sa.select(t.c.name).where(t.c.name == name)).first():
                raise UsageError(
                    f"a baseline named {name!r} exists already",
                    hint=f"choose another name, or `sheetsync baseline drop {name}` first",
                )
            conn.execute(
                sa.insert(t).values(
                    name=name,
                    as_of=as_of,
                    known_at=known_at,
                    saved_at=saved,
                    values_z=encode_values(records),
                )
            )
        return Baseline(name, as_of, known_at, saved, {k: len(v) for k, v in records.items()})

    def baselines(self) -> list[Baseline]:
        """The saved baselines, oldest plan first."""
        t = SCHEMA["baselines"]
        q = sa.select(t.c.name, t.c.as_of, t.c.known_at, t.c.saved_at, t.c.values_z)
        with self.engine.connect() as c:
            rows = c.execute(q.order_by(t.c.as_of, t.c.name)).all()
        return [
            Baseline(
                r.name,
                r.as_of,
                r.known_at,
                r.saved_at,
                {k: len(v["rows"]) for k, v in load_values(r.values_z).items()},
            )
            for r in rows
        ]

    def baseline_records(self, name: str) -> tuple[Baseline, dict[str, list[Record]]]:
        """A saved baseline and its records; UsageError when there is none by that name."""
        t = SCHEMA["baselines"]
        with self.engine.connect() as c:
            row = c.execute(sa.select(t).where(t.c.name == name)).first()
        if row is None:
            known = [b.name for b in self.baselines()]
            raise UsageError(
                f"no baseline named {name!r}"
                + (f"; the model holds {', '.join(known)}" if known else ""),
                hint="save one with `sheetsync baseline save NAME`",
            )
        records = decode_values(row.values_z)
        counts = {k: len(v) for k, v in records.items()}
        return Baseline(row.name, row.as_of, row.known_at, row.saved_at, counts), records

    def drop_baseline(self, name: str) -> None:
        """Forget a saved baseline (UsageError when there is none by that name)."""
        self.baseline_records(name)
        t = SCHEMA["baselines"]
        with self.transaction() as conn:
            conn.execute(sa.delete(t).where(t.c.name == name))
