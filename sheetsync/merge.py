"""Three-way merge of one sheet table with the model, against the base snapshot.

Pure functions, no I/O. For every record key and mapped field, the sheet value
``s``, the model value ``m`` and the base ``b`` (what the sheet held after this
source's last successful sync) decide:

    s == m            nothing to do
    s == b, m != b    the model changed: write m into the cell
    m == b, s != b    the sheet changed: write s into the model
    otherwise         a conflict, unless --prefer sheet|model settles it

Rows: new in the sheet → into the model; new in the model → appended to the
sheet; gone from the sheet (present in the base) → deleted from the model;
gone from the model → reported, and cleared from the sheet only on request.
A row deleted on one side but edited on the other since the last sync is a
conflict too (the edit would be lost), settled like a cell by ``prefer``.
``mode="push"`` treats the model as right everywhere (base ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from .grid import a1, cell_ref, column_letter
from .mapping import MappedTable
from .model import Record
from .store import record_key

Prefer = Literal["sheet", "model"] | None


def same(a: Any, b: Any) -> bool:
    """Equal as far as a spreadsheet cell can tell."""
    numbers = isinstance(a, float | int) and isinstance(b, float | int)
    if numbers and not isinstance(a, bool) and not isinstance(b, bool):  # yes/no is no number
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, datetime):
        a = a.date()
    if isinstance(b, datetime):
        b = b.date()
    return a == b


def show(value: Any) -> str:
    """A value as a person reads it in a plan line."""
    if value is None:
        return "(blank)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        value = float(value)
    if isinstance(value, float):
        return (
            f"{value:,.0f}"
            if value.is_integer()
            else f"{value:,.4g}"
            if abs(value) < 1
            else f"{value:,.2f}"
        )
    if isinstance(value, date):
        return value.isoformat()
    return f'"{value}"'


@dataclass
class CellChange:
    sheet: str
    cell: str
    column: str
    key: str
    field: str
    old: Any
    new: Any
    to: Literal["sheet", "model"]
    reason: str = ""
    node: str = ""  # a mind map's node path, which names the place instead of the cell

    def line(self) -> str:
        arrow = "→ sheet" if self.to == "sheet" else "→ model"
        where = self.node or cell_ref(self.sheet, self.cell)
        return f"{arrow}  {where} ({self.column}): {show(self.old)} → {show(self.new)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "cell": self.cell,
            "column": self.column,
            "key": self.key,
            "field": self.field,
            "old": _j(self.old),
            "new": _j(self.new),
            "to": self.to,
            "reason": self.reason,
        }


@dataclass
class Conflict:
    sheet: str
    cell: str
    column: str
    key: str
    field: str
    sheet_value: Any
    model_value: Any
    base_value: Any
    # "cell": both changed one cell; "deleted_in_sheet" / "deleted_in_model": a row deleted
    # on one side and edited on the other (``column`` then names the edited columns)
    kind: Literal["cell", "deleted_in_sheet", "deleted_in_model"] = "cell"
    node: str = ""  # see CellChange.node

    def line(self) -> str:
        if self.kind == "cell":
            where = self.node or cell_ref(self.sheet, self.cell)
            return (
                f"conflict {where} ({self.column}): sheet {show(self.sheet_value)}, "
                f"model {show(self.model_value)}, last sync {show(self.base_value)}"
            )
        shown = self.key.replace("\x1f", " / ")
        deleted, edited = (
            ("sheet", "model") if self.kind == "deleted_in_sheet" else ("model", "sheet")
        )
        where = self.node or cell_ref(self.sheet, self.cell)
        return (
            f"conflict {where}: {shown} was deleted from the {deleted} but its {self.column} "
            f"changed in the {edited} since the last sync"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "cell": self.cell,
            "column": self.column,
            "key": self.key,
            "field": self.field,
            "sheet_value": _j(self.sheet_value),
            "model_value": _j(self.model_value),
            "base_value": _j(self.base_value),
            "kind": self.kind,
        }


@dataclass
class RowChange:
    sheet: str
    key: str
    record: Record
    kind: Literal["append", "insert", "delete_model", "delete_sheet", "gone_from_model"]
    row: int | None = None  # sheet row, where known
    node: str = ""  # see CellChange.node

    def line(self) -> str:
        shown = self.key.replace("\x1f", " / ")
        where = cell_ref(self.sheet, f"{self.row}:{self.row}" if self.row else None)
        where = self.node or where
        return {
            "append": f"+ row    {where}: {shown} (new in the model)",
            "insert": f"+ model  {where}: {shown} (new in the {'map' if self.node else 'sheet'})",
            "delete_model": f"- model  {shown} (row deleted from {where})",
            "delete_sheet": f"- row    {where}: {shown} (deleted from the model; clearing the row)",
            "gone_from_model": f"? row    {where}: {shown} is not in the model any more; kept "
            "(use --delete-rows to clear it)",
        }[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "key": self.key.split("\x1f"),
            "kind": self.kind,
            "row": self.row,
            "record": {k: _j(v) for k, v in self.record.items()},
        }


def _j(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


@dataclass
class TablePlan:
    """What syncing one sheet table would do."""

    table: str
    sheet: str
    to_sheet: list[CellChange] = field(default_factory=list)
    to_model: list[CellChange] = field(default_factory=list)
    rows: list[RowChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    resolved: list[Conflict] = field(default_factory=list)
    model_upserts: list[Record] = field(default_factory=list)  # merged records to store
    model_replaced: list[str] = field(default_factory=list)  # keys of upserts the model holds
    model_deletes: list[str] = field(default_factory=list)
    sheet_after: list[Record] = field(default_factory=list)  # the sheet's records once written

    @property
    def empty(self) -> bool:
        return not (self.to_sheet or self.to_model or self.rows)


def plan_table(
    mt: MappedTable,
    model: dict[str, Record],
    base: dict[str, Record] | None,
    *,
    mode: Literal["sync", "push"] = "sync",
    prefer: Prefer = None,
    readonly: tuple[str, ...] = (),
    delete_rows: bool = False,
) -> TablePlan:
    """Plan the merge of a sheet table (``mt``) with the model's records (by key)."""
    spec = mt.table
    plan = TablePlan(spec.name, mt.sheet)
    fields = [f for f in mt.columns if f not in spec.key]
    writable = [f for f in fields if f not in readonly]
    merge = _Merge(mt, plan, fields, writable, mode, prefer, delete_rows)
    base = base or {}
    sheet_keys: set[str] = set()
    for rec, row in zip(mt.records, mt.rows, strict=True):
        key = record_key(spec, rec)
        sheet_keys.add(key)
        m = model.get(key)
        if m is None:
            merge.not_in_model(rec, row, key, base.get(key))
        else:
            merge.in_both(rec, row, key, m, base.get(key))
    for key, m in model.items():
        if key not in sheet_keys:
            merge.model_only(key, m, base)
    return plan


@dataclass
class _Rows:
    """One table's merge under way (:func:`plan_table`): how it decides, and the
    plan it fills, a record at a time. Here: the records on one side only."""

    mt: MappedTable
    plan: TablePlan
    fields: list[str]  # the mapped fields outside the key
    writable: list[str]  # of them, those not read-only
    mode: str
    prefer: Prefer
    delete_rows: bool

    def not_in_model(self, rec: Record, row: int, key: str, b: Record | None) -> None:
        """A sheet record the model lacks: new in the sheet, or deleted from the model."""
        mt, plan = self.mt, self.plan
        edited = (
            _edited(mt, self.fields, rec, b) if self.mode == "sync" and self.delete_rows else ""
        )
        if edited:  # deleted from the model, edited in the sheet
            c = Conflict(
                mt.sheet, f"{row}:{row}", edited, key, "", rec, None, b, "deleted_in_model"
            )
            if self.prefer is None:
                plan.conflicts.append(c)
                plan.sheet_after.append(dict(rec))
                return
            plan.resolved.append(c)
        if self.mode == "sync" and (b is None or (edited and self.prefer == "sheet")):
            plan.rows.append(RowChange(mt.sheet, key, rec, "insert", row))
            plan.model_upserts.append(dict(rec))
        elif self.delete_rows:
            plan.rows.append(RowChange(mt.sheet, key, rec, "delete_sheet", row))
            return
        else:
            plan.rows.append(RowChange(mt.sheet, key, rec, "gone_from_model", row))
        plan.sheet_after.append(dict(rec))

    def model_only(self, key: str, m: Record, base: dict[str, Record]) -> None:
        """A model record the sheet lacks: deleted from the sheet, or new in the model."""
        mt, plan = self.mt, self.plan
        deleted = self.mode == "sync" and key in base  # from the sheet, since the last sync
        edited = _edited(mt, self.fields, m, base[key]) if deleted else ""
        if edited:  # ... and edited in the model
            c = Conflict(mt.sheet, "", edited, key, "", None, m, base[key], "deleted_in_sheet")
            if self.prefer is None:
                plan.conflicts.append(c)
                return
            plan.resolved.append(c)
        if deleted and not (edited and self.prefer == "model"):
            plan.rows.append(RowChange(mt.sheet, key, m, "delete_model"))
            plan.model_deletes.append(key)
        else:
            plan.rows.append(RowChange(mt.sheet, key, m, "append"))
            plan.sheet_after.append({f: m.get(f) for f in mt.columns})


class _Merge(_Rows):
    """A table's merge: the records on both sides, merged cell by cell."""

    def in_both(self, rec: Record, row: int, key: str, m: Record, b: Record | None) -> None:
        """A record on both sides: merge it field by field."""
        mt, plan = self.mt, self.plan
        after = dict(rec)
        merged = dict(m)
        model_changed = False
        for f in self.fields:
            s_val, m_val = rec.get(f), m.get(f)
            if same(s_val, m_val):
                continue
            cell = a1(row, mt.columns[f])
            header = mt.headers[f]
            to_sheet = self._to_sheet(cell, header, key, f, s_val, m_val, b)
            if to_sheet is None:
                continue  # an open conflict
            if to_sheet and f in self.writable:
                plan.to_sheet.append(
                    CellChange(mt.sheet, cell, header, key, f, s_val, m_val, "sheet")
                )
                after[f] = m_val
            elif to_sheet:
                continue  # read-only (formula) column: the sheet keeps its own value
            else:
                plan.to_model.append(
                    CellChange(mt.sheet, cell, header, key, f, m_val, s_val, "model")
                )
                merged[f] = s_val
                model_changed = True
        if model_changed:
            plan.model_upserts.append(merged)
            plan.model_replaced.append(key)
        plan.sheet_after.append(after)

    def _to_sheet(
        self, cell: str, header: str, key: str, f: str, s_val: Any, m_val: Any, b: Record | None
    ) -> bool | None:
        """Which way a differing cell goes: True, the model's value into the sheet;
        False, the sheet's into the model; None, a conflict left open."""
        if self.mode == "push":
            return True
        b_val = b.get(f) if b is not None else None
        sheet_moved = b is None or not same(s_val, b_val)
        model_moved = b is None or not same(m_val, b_val)
        if sheet_moved != model_moved:  # one side moved: it wins
            return model_moved
        c = Conflict(self.mt.sheet, cell, header, key, f, s_val, m_val, b_val)
        if self.prefer is None:
            self.plan.conflicts.append(c)
            return None
        self.plan.resolved.append(c)
        return self.prefer == "model"


def _edited(mt: MappedTable, fields: list[str], record: Record, base: Record | None) -> str:
    """The headers of ``record``'s fields that differ from ``base`` ("" when none)."""
    if base is None:
        return ""
    return ", ".join(mt.headers[f] for f in fields if not same(record.get(f), base.get(f)))


def cell_value(value: Any, sample: Any) -> Any:
    """A model value as it should go into a cell, shaped like the column's other cells."""
    if (
        isinstance(value, str)
        and isinstance(sample, date | datetime)
        and len(value) == 7
        and value[4] == "-"
    ):
        try:
            return date(int(value[:4]), int(value[5:]), 1)  # a month period in a date column
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def append_values(mt: MappedTable, record: Record, samples: dict[str, Any]) -> dict[str, Any]:
    """Column letter → cell value for a new row holding ``record``."""
    return {
        column_letter(col): cell_value(record.get(f), samples.get(f))
        for f, col in mt.columns.items()
        if record.get(f) is not None
    }
