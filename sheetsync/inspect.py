"""``sheetsync init``: look at a workbook never seen before and guess its config.

For each model table, every worksheet's first rows are scored by how many of
the table's fields their headers name (the sheet's name counts too); the best
sheet wins. The guess is written as a commented sheetsync.toml.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .config import SourceConfig
from .grid import Grid, a1
from .mapping import HEADER_SCAN_ROWS, find_header_row, match_headers
from .model import KEY_JOIN, TABLES, Table, key_title, with_key
from .table_mapping import normalize_header

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
    seen: dict[str, str] = field(
        default_factory=dict
    )  # unused sheet → its first rows, why no table


SHOWN_ROWS = 3  # first non-blank rows shown of a sheet that holds no table
SHOWN_CELLS = 6


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _first_rows(grid: Grid) -> str:
    """The sheet's first non-blank rows, as text: row 1: "Q4 tracker" | "2026"."""
    shown = []
    for r, row in enumerate(grid.rows[:HEADER_SCAN_ROWS], 1):
        cells = [_text(c) for c in row if _text(c)]
        if cells:
            more = " | …" if len(cells) > SHOWN_CELLS else ""
            texts = " | ".join(_toml_str(c[:30]) for c in cells[:SHOWN_CELLS])
            shown.append(f"row {r}: {texts}{more}")
        if len(shown) == SHOWN_ROWS:
            break
    return "; ".join(shown)


def _why_no_table(grid: Grid, chosen: dict[str, TableGuess]) -> str:
    """Why ``grid`` was not taken for any table."""
    if not any(_text(c) for row in grid.rows for c in row):
        return "the sheet is empty"
    best: tuple[int, int, str, dict[str, int]] = (0, 0, "", {})
    for table in TABLES.values():
        for r in range(1, min(grid.height, HEADER_SCAN_ROWS) + 1):
            matched = match_headers(grid.rows[r - 1], table, None)
            if len(matched) > best[0]:
                best = (len(matched), r, table.name, matched)
    count, row, table, matched = best
    if count == 0:
        titles = (f.title for t in TABLES.values() for f in t.fields if f.required)
        examples = list(dict.fromkeys(titles))[:6]
        return (
            f"no cell in its first {HEADER_SCAN_ROWS} rows is a header sheetsync knows "
            f"(such as {', '.join(examples)})"
        )
    pairs = ", ".join(f"{_toml_str(_text(grid.value(row, c)))} → {f}" for f, c in matched.items())
    if count == 1:
        return f"only one known header (row {row}: {pairs} of {table}); a table needs two or more"
    if table in chosen:
        return (
            f"row {row} looks like {table} ({pairs}), but sheet {chosen[table].sheet!r} fits better"
        )
    missing = [f.name for f in TABLES[table].fields if f.required and f.name not in matched]
    return f"row {row} looks like {table} ({pairs}), but has no column for {', '.join(missing)}"


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
                f"no sheet looks like {t.title.lower()}; if you have one, fill in the "
                f"commented [sources.*.tables.{t.name}] section of the config"
            )
    unused = [s for s in grids if s not in taken]
    ordered = {t: chosen[t] for t in TABLES if t in chosen}
    seen = {
        s: "; ".join(filter(None, [_first_rows(grids[s]), _why_no_table(grids[s], chosen)]))
        for s in unused
    }
    return Guess(source, ordered, unused, notes, seen)


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
    title = " ".join(key_title(spec, g.columns).split())  # a comment is one line
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
    """A TOML basic string: quotes, backslashes and control characters (a
    header or cell with a line break) escaped, so the config stays valid."""
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


#: The [report] section every written config starts with.
_REPORT_HEAD = [
    "",
    "[report]",
    '# company = "Your company"',
    'locale = "en_US"',
    'currency = "USD"',
    "",
]


def render_config(guess: Guess | MapGuess, config_dir: Path) -> str:
    """The guess as a commented sheetsync.toml (the source named as ``guess.source``)."""
    if isinstance(guess, MapGuess):
        return render_mindmap_config(guess, config_dir, guess.source.name)
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
        *_REPORT_HEAD,
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
            unmapped = ", ".join(_toml_str(h) for h in g.unmapped_headers)
            out.append(f"# headers left unmapped: {unmapped}")
    for t in TABLES.values():
        if t.name not in guess.tables:
            out += ["", *_template(t, source_name)]
    if guess.unused_sheets:
        out += ["", "# sheets not used:"]
        out += [f"#   {s!r}: {guess.seen.get(s, '')}" for s in guess.unused_sheets]
    return "\n".join(out) + "\n"


def _template(spec: Table, source_name: str) -> list[str]:
    """A commented-out section for a table no sheet was found for: uncomment
    it, name the sheet and put the workbook's headers right of the = signs."""
    where = f"sources.{source_name}.tables.{spec.name}"
    lines = [
        f"# {spec.title}: no sheet found{' (optional)' if spec.optional else ''}. If the "
        "workbook has them, remove the # of the lines below,",
        "# set sheet to the tab's name and each header (right of =) to the column's title.",
        f"# [{where}]",
        f"# sheet = {_toml_str(spec.title)}",
        "# header_row = 1",
        f"# key = [{', '.join(_toml_str(k) for k in spec.key)}]",
        f"# [{where}.columns]",
    ]
    for f in spec.fields:
        lines.append(f"# {f.name} = {_toml_str(f.title)}" + ("   # required" if f.required else ""))
    return lines


def describe(guess: Guess | MapGuess) -> list[str]:
    """What was guessed and what was not, for the terminal."""
    if isinstance(guess, MapGuess):
        return describe_mindmap(guess)
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
    for s in guess.unused_sheets:
        lines.append(f"sheet {s!r} not used: {guess.seen.get(s, '')}")
    return lines


def inspect_source(source: SourceConfig) -> Guess | MapGuess:
    """Open a workbook, Google Sheet or mind map never seen before and guess its mapping."""
    if source.kind == "mindmap":
        return guess_mindmap(source)
    from .sources import open_source

    backend = open_source(source)
    grids = backend.read(backend.sheet_names())
    return guess_config(source, grids, backend.formula_cells)


# ---------------------------------------------------------------- mind maps


@dataclass
class MapGuess:
    """What ``init`` guessed for a mind map: which table each depth fills and
    which note line / attribute / label names which field."""

    source: SourceConfig
    levels: list[str]
    skip_root: bool
    columns: dict[str, dict[str, str]]  # table → field → name as written in the map
    unmapped: dict[str, list[str]]  # table → names no field took
    counts: dict[str, int]
    notes: list[str]

    @property
    def tables(self) -> dict[str, dict[str, str]]:
        """The level tables guessed (never empty: a map has at least a root)."""
        return {t: self.columns[t] for t in self.levels}


MAP_LEVELS = ("projects", "milestones", "tasks")
#: Names a node's fields go by that say "this node is a project".
_PROJECT_WORDS = {"project id", "goal", "metric", "baseline", "objective", "kpi"}


def guess_mindmap(source: SourceConfig) -> MapGuess:
    """Read a map never seen before and guess its levels and fields."""
    from .sources.mindmap import read_tree

    assert source.path is not None
    tree = read_tree(source.path)
    root = tree.root
    kids_say_project = any(
        normalize_header(k) in _PROJECT_WORDS for c in root.children for k in c.fields
    )
    skip_root = not root.fields and kids_say_project
    tops = root.children if skip_root else [root]
    depth = max((d for t in tops for d, _ in t.walk()), default=0) + 1
    levels = list(MAP_LEVELS[: max(1, min(depth, len(MAP_LEVELS)))])
    names: dict[str, list[str]] = {t: [] for t in levels}
    counts = dict.fromkeys(levels, 0)
    for top in tops:
        for d, n in top.walk():
            table = levels[min(d, len(levels) - 1)]
            counts[table] += 1
            names[table] += [k for k in n.fields if k not in names[table]]
    columns: dict[str, dict[str, str]] = {}
    unmapped: dict[str, list[str]] = {}
    for t in levels:
        found = match_headers(names[t], TABLES[t], None)
        tree_own = {"key", "name", "project", "milestone"}
        columns[t] = {f: names[t][c - 1] for f, c in found.items() if f not in tree_own}
        taken = {names[t][c - 1] for c in found.values()}
        unmapped[t] = [n for n in names[t] if n not in taken]
    notes = []
    if depth > len(MAP_LEVELS):
        notes.append(
            f"the map is {depth} levels deep; nodes below the {levels[-1]} level are read as {levels[-1]} too"
        )
    return MapGuess(source, levels, skip_root, columns, unmapped, counts, notes)


def render_mindmap_config(guess: MapGuess, config_dir: Path, source_name: str = "goals") -> str:
    """The guess as a commented sheetsync.toml."""
    src = guess.source
    assert src.path is not None
    try:
        rel = src.path.resolve().relative_to(config_dir.resolve()).as_posix()
    except ValueError:
        rel = src.path.resolve().as_posix()
    out = [
        "# sheetsync configuration for a mind map, written by `sheetsync init` — check the guesses.",
        "# Each depth of the map fills one table: the root (or, with skip_root, its",
        "# children) the first level, their children the next, and so on; nodes below",
        "# the last level belong to it. A node's title is the record's name and its",
        "# tool's ID the stable key (renaming a node updates its record); OPML has no IDs,",
        "# so there the path of titles is the key. Fields come from `Key: value` lines in",
        "# a node's note, Freeplane attributes, XMind labels and OPML attributes; XMind's",
        "# task-progress markers give Done (tasks) or Progress, its flags a Status.",
        "# A note line `ID: UPSELL` (or `Project ID:`, `Milestone ID:`) sets the key itself.",
        "# Mind maps are read-only: `sheetsync export --format xmind` writes the plan back as a map.",
        *_REPORT_HEAD,
        f"[sources.{source_name}]",
        'kind = "mindmap"',
        f"path = {_toml_str(rel)}",
        f"levels = [{', '.join(_toml_str(t) for t in guess.levels)}]"
        f"  # {', '.join(f'{guess.counts[t]} {t}' for t in guess.levels)}",
        f"skip_root = {'true' if guess.skip_root else 'false'}"
        "  # true: the root only holds a title (the plan's name), its children are the first level",
    ]
    for t in guess.levels:
        spec = TABLES[t]
        out += ["", f"# {spec.title}: field = the name used in the map's notes or attributes"]
        out.append(f"[sources.{source_name}.tables.{t}.columns]")
        for f, name in guess.columns[t].items():
            out.append(f"{f} = {_toml_str(name)}")
        left = [
            f.name
            for f in spec.fields
            if f.name not in guess.columns[t]
            and f.name not in ("key", "name", "project", "milestone")
        ]
        if left:
            out.append(f"# not found (optional): {', '.join(left)}")
        if guess.unmapped[t]:
            out.append(f"# names in the map left unmapped: {', '.join(guess.unmapped[t])}")
    return "\n".join(out) + "\n"


def describe_mindmap(guess: MapGuess) -> list[str]:
    """What was guessed, for the terminal."""
    lines = [
        f"levels: {' → '.join(guess.levels)}"
        + (" (below a title-only root)" if guess.skip_root else " (the root is a project)")
    ]
    for t in guess.levels:
        pairs = ", ".join(f'"{h}" → {f}' for f, h in guess.columns[t].items()) or "title only"
        lines.append(f"{TABLES[t].title} ({guess.counts[t]} nodes): {pairs}")
    return lines + [f"! {n}" for n in guess.notes]
