"""``sheetsync init``: look at a workbook never seen before and guess its config.

For each model table, every worksheet's first rows are scored by how many of
the table's fields their headers name (the sheet's name counts too); the best
sheet wins. The guess is written as a commented sheetsync.toml.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .config import SourceConfig
from .grid import Grid, a1
from .mapping import find_header_row, match_headers, normalize_header
from .model import KEY_JOIN, TABLES, Table, key_title, with_key

SHEET_NAME_HINTS = {
    "projects": ("project", "initiative", "goal"),
    "milestones": ("milestone", "roadmap", "plan", "timeline"),
    "quotas": ("quota", "sales", "target", "rep", "attainment"),
    "budget": ("budget", "spend", "cost", "campaign"),
    "tasks": ("task", "todo", "action"),
}

#: The key proposed for a sheet with no ID-like column (the fields that
#: usually tell its rows apart).
KEY_WITHOUT_ID = {
    "projects": ("name",),
    "milestones": ("project", "name"),
    "tasks": ("project", "name"),
}


@dataclass
class TableGuess:
    table: str
    sheet: str
    header_row: int
    columns: dict[str, str]  # field → header as written
    missing_required: list[str]
    unmapped_headers: list[str]
    readonly: list[str] = field(default_factory=list)
    score: int = 0
    key: tuple[str, ...] = ()  # the key columns (field names)


@dataclass
class Guess:
    source: SourceConfig
    tables: dict[str, TableGuess]
    unused_sheets: list[str]
    notes: list[str]


def _score_sheet(grid: Grid, table: Table) -> TableGuess | None:
    header_row = find_header_row(grid, table, None)
    if header_row is None:
        return None
    cells = grid.rows[header_row - 1]
    matched = match_headers(cells, table, None)
    used = set(matched.values())
    columns = {
        f: str(cells[c - 1]).strip() for f, c in sorted(matched.items(), key=lambda kv: kv[1])
    }
    required = [f.name for f in table.fields if f.required]
    missing = [f for f in required if f not in matched]
    unmapped = [
        str(c).strip() for i, c in enumerate(cells, 1) if normalize_header(c) and i not in used
    ]
    name = grid.sheet.casefold()
    score = 3 * (len(required) - len(missing)) + len(matched)
    score += 4 if any(h in name for h in SHEET_NAME_HINTS[table.name]) else 0
    return TableGuess(
        table.name, grid.sheet, header_row, columns, missing, unmapped, score=score, key=table.key
    )


def guess_config(
    source: SourceConfig,
    grids: dict[str, Grid],
    formula_cells: Callable[[str], set[str]] | None = None,
) -> Guess:
    """Best sheet for each table; ``formula_cells(sheet)`` finds read-only (formula) columns."""
    candidates: list[TableGuess] = []
    for table in TABLES.values():
        for grid in grids.values():
            g = _score_sheet(grid, table)
            if g and len(g.columns) >= 2 and (len(g.missing_required) < len(g.columns)):
                candidates.append(g)
    chosen: dict[str, TableGuess] = {}
    taken: set[str] = set()
    for g in sorted(candidates, key=lambda g: -g.score):
        if g.table in chosen or g.sheet in taken:
            continue
        chosen[g.table] = g
        taken.add(g.sheet)
    notes = []
    for g in chosen.values():
        grid = grids[g.sheet]
        cols = match_headers(grid.rows[g.header_row - 1], TABLES[g.table], None)
        notes += _propose_key(g, grid, cols)
        formulas = formula_cells(g.sheet) if formula_cells else set()
        first_data = [a1(g.header_row + 1, c) for c in cols.values()]
        g.readonly = [
            f for f, ref in zip(cols, first_data, strict=True) if ref in formulas and f not in g.key
        ]
        for f in g.missing_required:
            notes.append(
                f"{g.sheet}: no column found for required field {f!r} of {g.table}; add it under columns"
            )
    for t in TABLES.values():
        if t.name not in chosen and not t.optional:
            notes.append(
                f"no sheet looks like {t.title.lower()}; add a [sources.*.tables.{t.name}] section if you have one"
            )
    unused = [s for s in grids if s not in taken]
    ordered = {t: chosen[t] for t in TABLES if t in chosen}
    return Guess(source, ordered, unused, notes)


def _propose_key(g: TableGuess, grid: Grid, cols: dict[str, int]) -> list[str]:
    """No ID-like column: key the table by the columns that usually tell its rows
    apart instead (``KEY_WITHOUT_ID``); the notes say so, and whether they do."""
    proposal = KEY_WITHOUT_ID.get(g.table)
    if "key" not in g.missing_required or not proposal or any(f not in cols for f in proposal):
        return []
    g.key = proposal
    g.missing_required.remove("key")
    spec = with_key(TABLES[g.table], proposal)
    title = key_title(spec, g.columns)
    notes = [
        f"{g.sheet}: no ID column for {g.table}; rows will be matched by {title} "
        f"(key = [{', '.join(_toml_str(g.columns[f]) for f in proposal)}]); "
        "check that it tells them apart"
    ]
    seen: dict[tuple, int] = {}
    for r in range(g.header_row + 1, grid.height + 1):
        values = tuple(normalize_header(grid.value(r, cols[f])) for f in proposal)
        if not all(values):
            continue
        if values in seen:
            notes.append(
                f"{g.sheet}: rows {seen[values]} and {r} have the same {title}; "
                "choose other key columns, or add an ID column"
            )
            break
        seen[values] = r
    return notes


def _key_comment(g: TableGuess) -> str:
    spec = with_key(TABLES[g.table], g.key)
    title = key_title(spec, g.columns)
    if g.key == TABLES[g.table].key:
        return f"# Rows are matched by {title}: no two rows may share it."
    return (
        f"# No ID column: rows are matched by {title}. A record's ID is then its key values "
        f'joined by "{KEY_JOIN}" (what status and reports show).'
    )


def source_name(workbook: str | Path | None) -> str:
    """The name ``init`` gives a source: its file's stem as a TOML bare key
    ("Sales plan 2026.xlsx" → ``sales_plan_2026``); ``gsheet`` for a Google Sheet."""
    if workbook is None:
        return "gsheet"
    slug = re.sub(r"[^a-z0-9]+", "_", Path(workbook).stem.lower()).strip("_")
    return slug or "plan"


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(guess: Guess, config_dir: Path) -> str:
    """The guess as a commented sheetsync.toml (the source named as ``guess.source``)."""
    src = guess.source
    source_name = src.name
    where: list[str] = [f"[sources.{source_name}]", f"kind = {_toml_str(src.kind)}"]
    if src.path is not None:
        try:
            rel = src.path.resolve().relative_to(config_dir.resolve())
        except ValueError:
            rel = src.path.resolve()
        where.append(f"path = {_toml_str(rel.as_posix())}")
    else:
        where.append(f"spreadsheet = {_toml_str(src.spreadsheet or '')}")
        if src.credentials:
            where.append(f"credentials = {_toml_str(str(src.credentials))}")
        else:
            where.append(
                '# credentials = "service-account.json"   # or GOOGLE_APPLICATION_CREDENTIALS'
            )
        if src.api_url:
            where.append(f"api_url = {_toml_str(src.api_url)}")
    out = [
        "# sheetsync configuration, written by `sheetsync init` — check the guesses below.",
        "# Paths are relative to this file. Header names match case- and space-insensitively;",
        '# a field may list several headers: due = ["Due date", "Deadline"].',
        "#",
        "# key: the column(s) that tell one row from another (field names, or their",
        "# headers). Pull, push and sync match rows by it, never by position, so a",
        "# re-sorted sheet is still matched. Milestones, budget lines and tasks name",
        "# their project by the project's ID: if projects are keyed by name (no ID",
        "# column), their Project column holds the project's name. Changing a key",
        "# later moves the model's records to it at the next pull (or stops and says",
        "# which records the new key cannot tell apart).",
        "",
        "[report]",
        '# company = "Your company"',
        'locale = "en_US"',
        'currency = "USD"',
        "",
        *where,
    ]
    for g in guess.tables.values():
        spec = TABLES[g.table]
        out += [
            "",
            f"# {spec.title}",
            f"[sources.{source_name}.tables.{g.table}]",
            f"sheet = {_toml_str(g.sheet)}",
            f"header_row = {g.header_row}",
            _key_comment(g),
            f"key = [{', '.join(_toml_str(g.columns.get(f, f)) for f in g.key)}]",
        ]
        if g.readonly:
            out.append(
                f"readonly = [{', '.join(_toml_str(f) for f in g.readonly)}]  # formula columns: never written"
            )
        out.append(f"[sources.{source_name}.tables.{g.table}.columns]")
        for f, header in g.columns.items():
            out.append(f"{f} = {_toml_str(header)}")
        for f in g.missing_required:
            out.append(f'# {f} = "?"   # REQUIRED: no matching header found')
        unmapped_fields = [
            f.name for f in spec.fields if f.name not in g.columns and not f.required
        ]
        if unmapped_fields:
            out.append(f"# not found (optional): {', '.join(unmapped_fields)}")
        if g.unmapped_headers:
            out.append(f"# headers left unmapped: {', '.join(g.unmapped_headers)}")
    if guess.unused_sheets:
        out += ["", f"# sheets not used: {', '.join(guess.unused_sheets)}"]
    return "\n".join(out) + "\n"


def describe(guess: Guess) -> list[str]:
    """What was guessed and what was not, for the terminal."""
    lines = []
    for g in guess.tables.values():
        pairs = ", ".join(f'"{h}" → {f}' for f, h in g.columns.items())
        lines.append(
            f"{TABLES[g.table].title}: sheet {g.sheet!r}, headers in row {g.header_row}: {pairs}"
        )
        if g.readonly:
            cols = ", ".join(g.readonly)
            lines.append(f"  formula columns (read-only): {cols}")
    lines += [f"! {n}" for n in guess.notes]
    if guess.unused_sheets:
        lines.append(f"sheets not used: {', '.join(guess.unused_sheets)}")
    return lines


def inspect_source(source: SourceConfig) -> Guess:
    """Open a workbook or Google Sheet never seen before and guess its mapping."""
    from .sources import open_source

    backend = open_source(source)
    grids = backend.read(backend.sheet_names())
    return guess_config(source, grids, backend.formula_cells)
