"""The three-way merge (sheetsync/merge.py), case by case.

Each case gives the sheet, the model and the base (what the sheet held after the
last sync) and states the whole plan it must produce: its lines (cells to the
sheet, cells to the model, rows, conflicts, conflicts settled by --prefer), the
records it stores, the keys it deletes and what the sheet holds afterwards.

One milestone table, sheet "Milestones", header row 1, columns
A Milestone ID (key) · B Milestone (name) · C Actual (actual_value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest

from sheetsync.mapping import MappedTable
from sheetsync.merge import (
    CellChange,
    Conflict,
    RowChange,
    TablePlan,
    append_values,
    cell_value,
    plan_table,
    same,
    show,
)
from sheetsync.model import MILESTONES, Record, Table, with_key
from sheetsync.store import record_key

COLUMNS = {"key": 1, "name": 2, "actual_value": 3}
HEADERS = {"key": "Milestone ID", "name": "Milestone", "actual_value": "Actual"}


def sheet_table(records: list[Record], table: Table = MILESTONES, columns=None) -> MappedTable:
    """``records`` as read from rows 2, 3, ... of the sheet."""
    columns = columns or COLUMNS
    names = list(columns)
    mt = MappedTable(table, "Milestones", 1, dict(columns), {f: HEADERS[f] for f in columns})
    mt.fields = names
    mt.values = [tuple(r.get(f) for f in names) for r in records]
    mt.keys = [record_key(table, r) for r in records]
    mt.rows = list(range(2, 2 + len(records)))
    return mt


def keyed(records: list[Record], table: Table = MILESTONES) -> dict[str, Record]:
    return {record_key(table, r): dict(r) for r in records}


def lines(plan: TablePlan) -> list[str]:
    """The plan's lines in the order ``sheetsync diff`` prints them."""
    return (
        [c.line() for c in plan.to_sheet]
        + [c.line() for c in plan.to_model]
        + [r.line() for r in plan.rows]
        + [f"! {c.line()}" for c in plan.conflicts]
        + [f"  {c.line()} — settled by --prefer" for c in plan.resolved]
    )


def ms(actual: Any, key: str = "M-1", name: str = "Kickoff") -> Record:
    return {"key": key, "name": name, "actual_value": actual}


ABSENT = object()  # no base record for the key (never synced, or new since)


@dataclass
class Cell:
    """One record M-1 on every side; only the Actual cell (C2) differs."""

    id: str
    sheet: Any
    model: Any
    base: Any  # a value, or ABSENT (no base record); the base of the name is "Kickoff"
    lines: list[str]
    stored: Any = ABSENT  # the Actual value stored in the model, ABSENT: nothing stored
    sheet_after: Any = None  # what C2 holds once written (default: the model's value)
    mode: str = "sync"
    prefer: str | None = None
    readonly: tuple[str, ...] = ()


TO_SHEET = "→ sheet  'Milestones'!C2 (Actual): {} → {}"
TO_MODEL = "→ model  'Milestones'!C2 (Actual): {} → {}"
CONFLICT = "conflict 'Milestones'!C2 (Actual): sheet {}, model {}, last sync {}"
SETTLED = "  " + CONFLICT + " — settled by --prefer"

CELLS = [
    # base 10: each side equal to it or changed
    Cell("all-equal", 10, 10, 10, []),
    Cell("model-changed", 10, 20, 10, [TO_SHEET.format(10, 20)]),
    Cell("sheet-changed", 20, 10, 10, [TO_MODEL.format(10, 20)], stored=20, sheet_after=20),
    Cell("both-changed-alike", 20, 20, 10, []),
    Cell("both-changed-apart", 20, 30, 10, ["! " + CONFLICT.format(20, 30, 10)], sheet_after=20),
    Cell(
        "both-changed-prefer-sheet",
        20,
        30,
        10,
        [TO_MODEL.format(30, 20), SETTLED.format(20, 30, 10)],
        stored=20,
        sheet_after=20,
        prefer="sheet",
    ),
    Cell(
        "both-changed-prefer-model",
        20,
        30,
        10,
        [TO_SHEET.format(20, 30), SETTLED.format(20, 30, 10)],
        prefer="model",
    ),
    Cell("prefer-without-conflict", 10, 20, 10, [TO_SHEET.format(10, 20)], prefer="sheet"),
    # blank (absent) values on one side
    Cell("sheet-cleared", None, 10, 10, [TO_MODEL.format(10, "(blank)")], stored=None),
    Cell("model-cleared", 10, None, 10, [TO_SHEET.format(10, "(blank)")]),
    Cell("both-cleared", None, None, 10, []),
    Cell(
        "sheet-cleared-model-changed",
        None,
        30,
        10,
        ["! " + CONFLICT.format("(blank)", 30, 10)],
        sheet_after=None,
    ),
    # the base cell was blank
    Cell("blank-base-model-filled", None, 20, None, [TO_SHEET.format("(blank)", 20)]),
    Cell(
        "blank-base-sheet-filled",
        20,
        None,
        None,
        [TO_MODEL.format("(blank)", 20)],
        stored=20,
        sheet_after=20,
    ),
    Cell(
        "blank-base-both-filled",
        20,
        30,
        None,
        ["! " + CONFLICT.format(20, 30, "(blank)")],
        sheet_after=20,
    ),
    # no base record: every difference is a conflict
    Cell("no-base-equal", 10, 10, ABSENT, []),
    Cell(
        "no-base-differ",
        10,
        20,
        ABSENT,
        ["! " + CONFLICT.format(10, 20, "(blank)")],
        sheet_after=10,
    ),
    Cell(
        "no-base-prefer-sheet",
        10,
        20,
        ABSENT,
        [TO_MODEL.format(20, 10), SETTLED.format(10, 20, "(blank)")],
        stored=10,
        sheet_after=10,
        prefer="sheet",
    ),
    Cell(
        "no-base-prefer-model",
        10,
        20,
        ABSENT,
        [TO_SHEET.format(10, 20), SETTLED.format(10, 20, "(blank)")],
        prefer="model",
    ),
    # push: the model is right everywhere, the base is ignored
    Cell("push-equal", 10, 10, 10, [], mode="push"),
    Cell("push-sheet-changed", 20, 10, 10, [TO_SHEET.format(20, 10)], mode="push"),
    Cell("push-both-changed", 20, 30, 10, [TO_SHEET.format(20, 30)], mode="push"),
    Cell("push-no-base", 20, 30, ABSENT, [TO_SHEET.format(20, 30)], mode="push"),
    Cell("push-prefer-ignored", 20, 30, 10, [TO_SHEET.format(20, 30)], mode="push", prefer="sheet"),
    # a read-only (formula) column: never written, still read into the model
    Cell("readonly-model-changed", 10, 20, 10, [], sheet_after=10, readonly=("actual_value",)),
    Cell(
        "readonly-sheet-changed",
        20,
        10,
        10,
        [TO_MODEL.format(10, 20)],
        stored=20,
        sheet_after=20,
        readonly=("actual_value",),
    ),
    Cell(
        "readonly-prefer-model",
        20,
        30,
        10,
        [SETTLED.format(20, 30, 10)],
        sheet_after=20,
        prefer="model",
        readonly=("actual_value",),
    ),
    Cell("readonly-push", 20, 10, 10, [], sheet_after=20, mode="push", readonly=("actual_value",)),
    # what a cell can tell apart
    Cell("float-noise", 0.1 + 0.2, 0.3, 0.3, []),
    Cell("int-and-float", 5, 5.0, 5, []),
    Cell("real-difference", 5.0, 5.001, 5.0, [TO_SHEET.format(5, "5.00")]),
    Cell("text", "40%", "45%", "40%", [TO_SHEET.format('"40%"', '"45%"')]),
]


@pytest.mark.parametrize("case", CELLS, ids=[c.id for c in CELLS])
def test_cell(case: Cell) -> None:
    base = None if case.base is ABSENT else keyed([ms(case.base)])
    plan = plan_table(
        sheet_table([ms(case.sheet)]),
        keyed([ms(case.model)]),
        base,
        mode=case.mode,
        prefer=case.prefer,
        readonly=case.readonly,
    )
    assert lines(plan) == case.lines
    if case.stored is ABSENT:
        assert plan.model_upserts == [] and plan.model_replaced == []
    else:
        assert plan.model_upserts == [ms(case.stored)] and plan.model_replaced == ["M-1"]
    assert plan.model_deletes == []
    written = any(line.startswith("→ sheet") for line in case.lines)
    after = case.sheet_after if case.sheet_after is not None else case.sheet
    assert plan.sheet_after == [ms(case.model if written else after)]
    assert plan.empty == (not (plan.to_sheet or plan.to_model))


def test_empty_base_dict_is_like_no_base() -> None:
    """A snapshot without the record (a base dict without its key) is "never synced"."""
    plan = plan_table(sheet_table([ms(10)]), keyed([ms(20)]), {})
    assert lines(plan) == ["! " + CONFLICT.format(10, 20, "(blank)")]


def test_each_cell_of_a_row_is_merged_on_its_own() -> None:
    """Name changed in the sheet, Actual in the model: both arrive, in one upsert."""
    base = keyed([ms(10)])
    plan = plan_table(sheet_table([ms(10, name="Kick-off")]), keyed([ms(20)]), base)
    assert lines(plan) == [
        TO_SHEET.format(10, 20),
        '→ model  \'Milestones\'!B2 (Milestone): "Kickoff" → "Kick-off"',
    ]
    assert plan.model_upserts == [ms(20, name="Kick-off")]
    assert plan.sheet_after == [ms(20, name="Kick-off")]


def test_model_fields_the_sheet_does_not_map_are_kept() -> None:
    model = {"M-1": {**ms(10), "notes": "from the model", "status": "On track"}}
    plan = plan_table(sheet_table([ms(20)]), model, keyed([ms(10)]))
    assert plan.model_upserts == [{**ms(20), "notes": "from the model", "status": "On track"}]


# ------------------------------------------------------------------ whole rows


@dataclass
class Rows:
    """Record M-2 present or not on each side (M-1 is equal everywhere, row 2)."""

    id: str
    sheet: Record | None
    model: Record | None
    base: Record | None
    lines: list[str]
    upserts: list[Record] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    sheet_after: list[Record] | None = None  # M-2's records in the sheet afterwards
    mode: str = "sync"
    prefer: str | None = None
    delete_rows: bool = False


M2 = ms(5, key="M-2", name="Launch")
M2_SHEET_EDIT = ms(6, key="M-2", name="Launch")
M2_MODEL_EDIT = ms(7, key="M-2", name="Launch")
INSERT = "+ model  'Milestones'!3:3: M-2 (new in the sheet)"
APPEND = "+ row    'Milestones': M-2 (new in the model)"
GONE = (
    "? row    'Milestones'!3:3: M-2 is not in the model any more; kept "
    "(use --delete-rows to clear it)"
)
CLEAR = "- row    'Milestones'!3:3: M-2 (deleted from the model; clearing the row)"
DELETE = "- model  M-2 (row deleted from 'Milestones')"
DEL_SHEET_EDIT_MODEL = (
    "conflict 'Milestones': M-2 was deleted from the sheet but its Actual changed in the "
    "model since the last sync"
)
DEL_MODEL_EDIT_SHEET = (
    "conflict 'Milestones'!3:3: M-2 was deleted from the model but its Actual changed in "
    "the sheet since the last sync"
)

ROWS = [
    Rows("nowhere", None, None, None, [], sheet_after=[]),
    Rows("base-only", None, None, M2, [], sheet_after=[]),
    Rows("everywhere-equal", M2, M2, M2, [], sheet_after=[M2]),
    Rows("new-in-sheet", M2, None, None, [INSERT], upserts=[M2], sheet_after=[M2]),
    Rows("new-in-model", None, M2, None, [APPEND], sheet_after=[M2]),
    Rows("new-on-both-alike", M2, M2, None, [], sheet_after=[M2]),
    Rows(
        "new-on-both-apart",
        M2,
        M2_MODEL_EDIT,
        None,
        ["! conflict 'Milestones'!C3 (Actual): sheet 5, model 7, last sync (blank)"],
        sheet_after=[M2],
    ),
    Rows("deleted-from-sheet", None, M2, M2, [DELETE], deletes=["M-2"], sheet_after=[]),
    Rows("deleted-from-model", M2, None, M2, [GONE], sheet_after=[M2]),
    Rows("deleted-from-model-clear", M2, None, M2, [CLEAR], sheet_after=[], delete_rows=True),
    Rows("deleted-from-both", None, None, M2, [], sheet_after=[], delete_rows=True),
    # a delete on one side against an edit on the other
    Rows(
        "sheet-delete-vs-model-edit",
        None,
        M2_MODEL_EDIT,
        M2,
        ["! " + DEL_SHEET_EDIT_MODEL],
        sheet_after=[],
    ),
    Rows(
        "sheet-delete-vs-model-edit-prefer-sheet",
        None,
        M2_MODEL_EDIT,
        M2,
        [DELETE, f"  {DEL_SHEET_EDIT_MODEL} — settled by --prefer"],
        deletes=["M-2"],
        sheet_after=[],
        prefer="sheet",
    ),
    Rows(
        "sheet-delete-vs-model-edit-prefer-model",
        None,
        M2_MODEL_EDIT,
        M2,
        [APPEND, f"  {DEL_SHEET_EDIT_MODEL} — settled by --prefer"],
        sheet_after=[M2_MODEL_EDIT],
        prefer="model",
    ),
    Rows(
        "model-delete-vs-sheet-edit-kept",
        M2_SHEET_EDIT,
        None,
        M2,
        [GONE],
        sheet_after=[M2_SHEET_EDIT],
    ),
    Rows(
        "model-delete-vs-sheet-edit-clear",
        M2_SHEET_EDIT,
        None,
        M2,
        ["! " + DEL_MODEL_EDIT_SHEET],
        sheet_after=[M2_SHEET_EDIT],
        delete_rows=True,
    ),
    Rows(
        "model-delete-vs-sheet-edit-clear-prefer-sheet",
        M2_SHEET_EDIT,
        None,
        M2,
        [INSERT, f"  {DEL_MODEL_EDIT_SHEET} — settled by --prefer"],
        upserts=[M2_SHEET_EDIT],
        sheet_after=[M2_SHEET_EDIT],
        delete_rows=True,
        prefer="sheet",
    ),
    Rows(
        "model-delete-vs-sheet-edit-clear-prefer-model",
        M2_SHEET_EDIT,
        None,
        M2,
        [CLEAR, f"  {DEL_MODEL_EDIT_SHEET} — settled by --prefer"],
        sheet_after=[],
        delete_rows=True,
        prefer="model",
    ),
    # push: the model's rows win, deletions from the sheet come back
    Rows("push-new-in-sheet", M2, None, None, [GONE], sheet_after=[M2], mode="push"),
    Rows(
        "push-new-in-sheet-clear",
        M2,
        None,
        None,
        [CLEAR],
        sheet_after=[],
        mode="push",
        delete_rows=True,
    ),
    Rows("push-new-in-model", None, M2, None, [APPEND], sheet_after=[M2], mode="push"),
    Rows("push-deleted-from-sheet", None, M2, M2, [APPEND], sheet_after=[M2], mode="push"),
    Rows(
        "push-delete-vs-edit",
        None,
        M2_MODEL_EDIT,
        M2,
        [APPEND],
        sheet_after=[M2_MODEL_EDIT],
        mode="push",
    ),
    Rows(
        "push-model-delete-vs-sheet-edit-clear",
        M2_SHEET_EDIT,
        None,
        M2,
        [CLEAR],
        sheet_after=[],
        mode="push",
        delete_rows=True,
    ),
]


@pytest.mark.parametrize("case", ROWS, ids=[c.id for c in ROWS])
def test_row(case: Rows) -> None:
    m1 = ms(10)
    sheet = [m1] + ([case.sheet] if case.sheet else [])
    model = [m1] + ([case.model] if case.model else [])
    base = [m1] + ([case.base] if case.base else [])
    plan = plan_table(
        sheet_table(sheet),
        keyed(model),
        keyed(base),
        mode=case.mode,
        prefer=case.prefer,
        delete_rows=case.delete_rows,
    )
    assert lines(plan) == case.lines
    assert (plan.table, plan.sheet) == ("milestones", "Milestones")
    for r in plan.rows:  # each row change carries the record it moves
        assert r.record == {"insert": case.sheet, "delete_sheet": case.sheet,
                            "gone_from_model": case.sheet}.get(r.kind, case.model)  # fmt: skip
    assert plan.model_upserts == case.upserts
    assert plan.model_replaced == []  # a row insert replaces nothing
    assert plan.model_deletes == case.deletes
    assert plan.sheet_after == [m1, *case.sheet_after]


def test_rows_in_the_sheet_keep_their_row_numbers() -> None:
    sheet = [ms(1, key="M-1"), ms(2, key="M-2"), ms(3, key="M-3")]
    plan = plan_table(sheet_table(sheet), {}, None)
    assert [(r.kind, r.key, r.row) for r in plan.rows] == [
        ("insert", "M-1", 2),
        ("insert", "M-2", 3),
        ("insert", "M-3", 4),
    ]
    assert [r.line() for r in plan.rows][2] == "+ model  'Milestones'!4:4: M-3 (new in the sheet)"


def test_an_appended_row_holds_the_mapped_columns_only() -> None:
    model = {"M-9": {**ms(4, key="M-9"), "notes": "not mapped"}}
    plan = plan_table(sheet_table([]), model, None)
    assert plan.sheet_after == [ms(4, key="M-9")]
    assert plan.rows[0].as_dict() == {
        "sheet": "Milestones",
        "key": ["M-9"],
        "kind": "append",
        "row": None,
        "record": {**ms(4, key="M-9"), "notes": "not mapped"},
    }


# ------------------------------------------------------------------ key changes

BY_NAME = with_key(MILESTONES, ("project", "name"))
NAMED = {"project": 1, "name": 2, "actual_value": 3}
HEADERS["project"] = "Project"


def named(name: str, actual: Any, project: str = "GROW") -> Record:
    return {"project": project, "name": name, "actual_value": actual}


def test_composite_key_a_cell_change_is_matched_by_both_key_columns() -> None:
    base = keyed([named("Kickoff", 1), named("Launch", 2)], BY_NAME)
    model = keyed([named("Kickoff", 1), named("Launch", 9)], BY_NAME)
    sheet = sheet_table([named("Launch", 2), named("Kickoff", 1)], BY_NAME, NAMED)  # re-sorted
    plan = plan_table(sheet, model, base)
    assert lines(plan) == ["→ sheet  'Milestones'!C2 (Actual): 2 → 9"]
    assert plan.to_sheet[0].key == "GROW\x1fLaunch"


def test_a_key_edited_in_the_sheet_is_a_delete_and_an_insert() -> None:
    """Renaming the milestone (part of the key) moves the record to the new key."""
    base = keyed([named("Kickoff", 1)], BY_NAME)
    plan = plan_table(sheet_table([named("Kick-off", 1)], BY_NAME, NAMED), base, base)
    assert lines(plan) == [
        "+ model  'Milestones'!2:2: GROW / Kick-off (new in the sheet)",
        "- model  GROW / Kickoff (row deleted from 'Milestones')",
    ]
    assert plan.model_upserts == [named("Kick-off", 1)]
    assert plan.model_deletes == ["GROW\x1fKickoff"]


def test_a_key_edited_in_the_model_is_appended_and_the_old_row_reported() -> None:
    base = keyed([named("Kickoff", 1)], BY_NAME)
    model = keyed([named("Kick-off", 1)], BY_NAME)
    plan = plan_table(sheet_table([named("Kickoff", 1)], BY_NAME, NAMED), model, base)
    assert lines(plan) == [
        "? row    'Milestones'!2:2: GROW / Kickoff is not in the model any more; kept "
        "(use --delete-rows to clear it)",
        "+ row    'Milestones': GROW / Kick-off (new in the model)",
    ]
    assert plan.model_upserts == [] and plan.model_deletes == []


def test_a_key_edited_on_one_side_and_a_cell_on_the_other_is_a_conflict() -> None:
    """The sheet renamed the row, the model changed its Actual: neither is lost."""
    base = keyed([named("Kickoff", 1)], BY_NAME)
    model = keyed([named("Kickoff", 5)], BY_NAME)
    plan = plan_table(sheet_table([named("Kick-off", 1)], BY_NAME, NAMED), model, base)
    assert lines(plan) == [
        "+ model  'Milestones'!2:2: GROW / Kick-off (new in the sheet)",
        "! conflict 'Milestones': GROW / Kickoff was deleted from the sheet but its Actual "
        "changed in the model since the last sync",
    ]
    assert plan.model_deletes == []


# ------------------------------------------------------------------ the pieces


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1.0, True),
        (0.1 + 0.2, 0.3, True),
        (1e12, 1e12 + 1e-3, True),  # relative tolerance for large numbers
        (1.0, 1.0 + 1e-6, False),
        (0.0, 1e-10, True),  # absolute tolerance near zero
        (0.0, 1e-9, True),  # at the tolerance
        (0.0, 1.5e-9, False),
        (0.0, 1e-8, False),
        (True, 1 + 1e-12, False),  # a yes/no cell is not a number
        (1 + 1e-12, True, False),
        (True, True, True),
        (False, 0, True),
        (datetime(2026, 3, 31, 0, 0), date(2026, 3, 31), True),
        (date(2026, 3, 31), datetime(2026, 3, 31, 12, 0), True),
        (date(2026, 3, 31), date(2026, 4, 1), False),
        ("a", "a", True),
        ("a", "A", False),
        (None, None, True),
        (None, 0, False),
        ("5", 5, False),
    ],
)
def test_same(a: Any, b: Any, equal: bool) -> None:
    assert same(a, b) is equal
    assert same(b, a) is equal


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "(blank)"),
        (True, "yes"),
        (False, "no"),
        (4860.0, "4,860"),
        (0.125, "0.125"),
        (1234.5678, "1,234.57"),
        (1.5, "1.50"),
        (-0.5, "-0.5"),
        (5, "5"),
        (date(2026, 3, 31), "2026-03-31"),
        (datetime(2026, 3, 31, 9, 30), "2026-03-31T09:30:00"),
        ("On track", '"On track"'),
    ],
)
def test_show(value: Any, shown: str) -> None:
    assert show(value) == shown


@pytest.mark.parametrize(
    ("value", "sample", "cell"),
    [
        ("2026-03", date(2026, 1, 1), date(2026, 3, 1)),  # a month period in a date column
        ("2026-03", datetime(2026, 1, 1), date(2026, 3, 1)),
        ("2026-13", date(2026, 1, 1), "2026-13"),  # not a month: left as text
        ("2026-Q3", date(2026, 1, 1), "2026-Q3"),
        ("2026/03", date(2026, 1, 1), "2026/03"),
        ("2026-03", "Jan 2026", "2026-03"),  # a text column keeps text
        (12.0, None, 12),
        (200.0, None, 200),
        (12.5, None, 12.5),
        (2.0**53, None, 2.0**53),  # too large to be an exact int
        (True, None, True),
        (None, None, None),
    ],
)
def test_cell_value(value: Any, sample: Any, cell: Any) -> None:
    got = cell_value(value, sample)
    assert got == cell and type(got) is type(cell)


def test_append_values_skips_blank_fields() -> None:
    mt = sheet_table([])
    assert append_values(mt, ms(None, key="M-7"), {}) == {"A": "M-7", "B": "Kickoff"}
    assert append_values(mt, ms(3.0, key="M-7"), {}) == {"A": "M-7", "B": "Kickoff", "C": 3}


def test_conflicts_and_changes_as_json() -> None:
    plan = plan_table(sheet_table([ms(20)]), keyed([ms(30)]), keyed([ms(10)]))
    assert plan.conflicts[0].as_dict() == {
        "sheet": "Milestones",
        "cell": "C2",
        "column": "Actual",
        "key": "M-1",
        "field": "actual_value",
        "sheet_value": 20,
        "model_value": 30,
        "base_value": 10,
        "kind": "cell",
    }
    plan = plan_table(
        sheet_table([{**ms(10), "due": date(2026, 3, 31)}], columns={**COLUMNS, "due": 4}),
        keyed([{**ms(10), "due": date(2026, 4, 30)}]),
        keyed([{**ms(10), "due": date(2026, 3, 31)}]),
    )
    assert plan.to_sheet[0].as_dict() == {
        "sheet": "Milestones",
        "cell": "D2",
        "column": "Due date",
        "key": "M-1",
        "field": "due",
        "old": "2026-03-31",
        "new": "2026-04-30",
        "to": "sheet",
        "reason": "",
    }


HEADERS["due"] = "Due date"


def test_row_conflicts_as_json() -> None:
    both = ms(7, key="M-2", name="Renamed")
    plan = plan_table(sheet_table([ms(10)]), keyed([ms(10), both]), keyed([ms(10), M2]))
    assert [c.as_dict() for c in plan.conflicts] == [
        {
            "sheet": "Milestones",
            "cell": "",
            "column": "Milestone, Actual",  # the columns edited in the model
            "key": "M-2",
            "field": "",
            "sheet_value": None,
            "model_value": both,
            "base_value": M2,
            "kind": "deleted_in_sheet",
        }
    ]
    plan = plan_table(
        sheet_table([ms(10), M2_SHEET_EDIT]), keyed([ms(10)]), keyed([ms(10), M2]), delete_rows=True
    )
    assert [c.as_dict() for c in plan.conflicts] == [
        {
            "sheet": "Milestones",
            "cell": "3:3",
            "column": "Actual",
            "key": "M-2",
            "field": "",
            "sheet_value": M2_SHEET_EDIT,
            "model_value": None,
            "base_value": M2,
            "kind": "deleted_in_model",
        }
    ]


def test_a_conflict_does_not_stop_the_rows_after_it() -> None:
    """Rows and cells after a conflict (of either kind) are still planned."""
    m3 = ms(3, key="M-3", name="Review")
    sheet = [M2_SHEET_EDIT, ms(20), m3]  # M-2 deleted from the model, edited in the sheet
    plan = plan_table(sheet_table(sheet), keyed([ms(10)]), keyed([M2, ms(10)]), delete_rows=True)
    assert [c.kind for c in plan.conflicts] == ["deleted_in_model"]
    assert lines(plan)[:2] == [
        "→ model  'Milestones'!C3 (Actual): 10 → 20",
        "+ model  'Milestones'!4:4: M-3 (new in the sheet)",
    ]
    model = keyed([ms(10), M2_MODEL_EDIT, ms(5, key="M-4"), m3])
    plan = plan_table(sheet_table([ms(10), m3]), model, keyed([ms(10), M2, m3]))
    assert [c.kind for c in plan.conflicts] == ["deleted_in_sheet"]
    assert lines(plan)[0] == "+ row    'Milestones': M-4 (new in the model)"


def test_a_read_only_column_does_not_stop_the_columns_after_it() -> None:
    plan = plan_table(
        sheet_table([ms(10)]),
        keyed([ms(20, name="Kick-off")]),
        keyed([ms(10)]),
        readonly=("name",),
    )
    assert lines(plan) == [TO_SHEET.format(10, 20)]
    assert plan.sheet_after == [ms(20)]


def test_a_change_to_the_model_as_json() -> None:
    plan = plan_table(sheet_table([ms(20)]), keyed([ms(10)]), keyed([ms(10)]))
    assert plan.to_model[0].as_dict() == {
        "sheet": "Milestones",
        "cell": "C2",
        "column": "Actual",
        "key": "M-1",
        "field": "actual_value",
        "old": 10,
        "new": 20,
        "to": "model",
        "reason": "",
    }


def test_a_composite_key_as_json() -> None:
    plan = plan_table(sheet_table([named("Kick off", 1)], BY_NAME, NAMED), {}, None)
    assert plan.rows[0].as_dict()["key"] == ["GROW", "Kick off"]


def test_sheet_rows_and_records_must_match() -> None:
    mt = sheet_table([ms(1), ms(2, key="M-2")])
    mt.rows = [2]
    with pytest.raises(ValueError):
        plan_table(mt, {}, None)


def test_append_values_shapes_like_the_column() -> None:
    mt = sheet_table([], columns={**COLUMNS, "due": 4})
    record = {**ms(3.0, key="M-7"), "due": "2026-03"}
    assert append_values(mt, record, {"due": date(2026, 1, 1)}) == {
        "A": "M-7",
        "B": "Kickoff",
        "C": 3,
        "D": date(2026, 3, 1),
    }


def test_a_mind_maps_changes_are_named_by_their_node() -> None:
    node = "goals.xmind › Growth › Kick-off"
    sheet = ms(1, key="M-1")
    rows = {kind: RowChange("Milestones", "M-1", sheet, kind, row=3, node=node)
            for kind in ("append", "insert", "delete_model", "delete_sheet", "gone_from_model")}  # fmt: skip
    assert {kind: r.line() for kind, r in rows.items()} == {
        "append": f"+ row    {node}: M-1 (new in the model)",
        "insert": f"+ model  {node}: M-1 (new in the map)",
        "delete_model": f"- model  M-1 (row deleted from {node})",
        "delete_sheet": f"- row    {node}: M-1 (deleted from the model; clearing the row)",
        "gone_from_model": f"? row    {node}: M-1 is not in the model any more; kept "
        "(use --delete-rows to clear it)",
    }
    cell = CellChange("Milestones", "C3", "Actual", "M-1", "actual_value", 2, 1, "sheet", node=node)
    assert cell.line() == f"→ sheet  {node} (Actual): 2 → 1"
    clash = Conflict("Milestones", "C3", "Actual", "M-1", "actual_value", 1, 2, 0, node=node)
    assert clash.line() == f"conflict {node} (Actual): sheet 1, model 2, last sync 0"
    gone = Conflict("Milestones", "", "Actual", "M-1", "actual_value", None, 2, 0,
                    kind="deleted_in_sheet", node=node)  # fmt: skip
    assert gone.line() == (
        f"conflict {node}: M-1 was deleted from the sheet but its Actual changed in the model "
        "since the last sync"
    )
