"""The plan's records: Project, Milestone, Quota, BudgetLine, Task. No I/O here.

Each table is described once by a ``Table`` spec (its fields, their kinds,
which are required and which form the key). Mapping, store and sync work on
plain ``dict`` records driven by these specs; metrics and reports use the
typed dataclasses built with ``Table.to_object``.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from .errors import ConfigError, UsageError

Kind = Literal["text", "number", "date", "period", "bool", "percent"]
Record = dict[str, Any]


@dataclass(frozen=True)
class Field:
    """One field of a table: its name, kind and the headers it is known by."""

    name: str
    kind: Kind = "text"
    required: bool = False
    label: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Project:
    key: str
    name: str
    goal: str | None = None
    metric: str | None = None
    baseline_value: float | None = None
    target_value: float | None = None
    current_value: float | None = None
    start: date | None = None
    end: date | None = None
    owner: str | None = None
    budget: float | None = None


@dataclass(frozen=True)
class Milestone:
    key: str
    project: str
    name: str
    owner: str | None = None
    start: date | None = None
    due: date | None = None
    target_value: float | None = None
    actual_value: float | None = None
    status: str | None = None
    completed_on: date | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Quota:
    rep: str
    period: str
    quota: float
    team: str | None = None
    region: str | None = None
    closed: float | None = None
    pipeline: float | None = None
    commit: float | None = None


@dataclass(frozen=True)
class BudgetLine:
    project: str
    category: str
    planned: float | None = None
    spent: float | None = None
    attributed_revenue: float | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Task:
    key: str
    project: str
    name: str
    milestone: str | None = None
    owner: str | None = None
    due: date | None = None
    done: bool | None = None


KEY_SEPARATOR = "\x1f"  # ASCII unit separator: never typed into a cell


def join_key(parts: tuple) -> str:
    """One record's stored identity from its key values (what ``key_texts`` makes)."""
    return KEY_SEPARATOR.join(map(str, parts))


def key_texts(rows: list, positions: list) -> list[str]:
    """The stored identity of each row: its key values' text, joined.

    ``rows`` are tuples (``positions`` are indexes) or records (field names).
    """
    if not rows:
        return []
    if len(positions) == 1:
        return list(map(str, map(operator.itemgetter(positions[0]), rows)))
    pick = operator.itemgetter(*positions)
    if len(positions) == 2:
        return [f"{a}{KEY_SEPARATOR}{b}" for a, b in map(pick, rows)]
    return list(map(join_key, map(pick, rows)))


def key_texts_of_columns(columns: list[list]) -> list[str]:
    """``key_texts`` of rows whose key values are given column by column."""
    if len(columns) == 1:
        return list(map(str, columns[0]))
    if len(columns) == 2:
        return [f"{a}{KEY_SEPARATOR}{b}" for a, b in zip(*columns, strict=True)]
    return list(map(join_key, zip(*columns, strict=True)))


@dataclass(frozen=True)
class Table:
    """A table of the model: name, record class, fields and key."""

    name: str
    title: str
    record_class: type
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    optional: bool = False
    field_by_name: dict[str, Field] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_by_name", {f.name: f for f in self.fields})

    def key_of(self, record: Record) -> tuple[str, ...]:
        return tuple(str(record.get(k)) for k in self.key)

    def to_object(self, record: Record) -> Any:
        names = {f.name for f in dataclasses.fields(self.record_class)}
        return self.record_class(**{k: v for k, v in record.items() if k in names})


def _f(name: str, kind: Kind = "text", required: bool = False, label: str = "", *aliases: str):
    return Field(name, kind, required, label, tuple(aliases))


PROJECTS = Table(
    "projects",
    "Projects",
    Project,
    (
        _f("key", "text", True, "Project ID", "project id", "id", "code", "project key", "ref"),
        _f("name", "text", True, "Project", "project", "project name", "title", "initiative"),
        _f("goal", "text", False, "Goal", "objective", "description"),
        _f("metric", "text", False, "Metric", "kpi", "measure", "unit"),
        _f("baseline_value", "number", False, "Baseline", "baseline", "start value", "from"),
        _f("target_value", "number", False, "Target", "target", "goal value", "to"),
        _f("current_value", "number", False, "Current", "current", "actual", "current value"),
        _f("start", "date", False, "Start", "start date", "begins", "kick-off"),
        _f("end", "date", False, "End", "end date", "deadline", "finish"),
        _f("owner", "text", False, "Owner", "lead", "responsible", "sponsor"),
        _f("budget", "number", False, "Budget", "budget ($)", "total budget"),
    ),
    ("key",),
)

MILESTONES = Table(
    "milestones",
    "Milestones",
    Milestone,
    (
        _f("key", "text", True, "Milestone ID", "id", "milestone id", "ref", "#"),
        _f("project", "text", True, "Project", "project id", "project key"),
        _f("name", "text", True, "Milestone", "milestone name", "name", "deliverable"),
        _f("owner", "text", False, "Owner", "responsible", "assignee", "lead"),
        _f("start", "date", False, "Start", "start date"),
        _f("due", "date", False, "Due date", "due", "deadline", "target date", "due by"),
        _f("target_value", "number", False, "Target", "target", "target value", "goal"),
        _f("actual_value", "number", False, "Actual", "actual", "actual value", "progress"),
        _f("status", "text", False, "Status", "state", "rag"),
        _f("completed_on", "date", False, "Completed", "completed", "completed on", "done on"),
        _f("notes", "text", False, "Notes", "comment", "comments", "remarks"),
    ),
    ("key",),
)

QUOTAS = Table(
    "quotas",
    "Quotas",
    Quota,
    (
        _f(
            "rep",
            "text",
            True,
            "Rep",
            "salesperson",
            "sales rep",
            "account executive",
            "ae",
            "name",
        ),
        _f("team", "text", False, "Team", "squad", "group"),
        _f("region", "text", False, "Region", "territory", "area"),
        _f("period", "period", True, "Period", "month", "quarter", "period"),
        _f("quota", "number", True, "Quota", "target ($)", "target", "quota ($)", "goal"),
        _f(
            "closed",
            "number",
            False,
            "Closed",
            "sales ($)",
            "sales",
            "closed won",
            "bookings",
            "actual",
        ),
        _f("pipeline", "number", False, "Pipeline", "pipeline ($)", "open pipeline"),
        _f("commit", "number", False, "Commit", "forecast", "commit ($)"),
    ),
    ("rep", "period"),
)

BUDGET = Table(
    "budget",
    "Budget",
    BudgetLine,
    (
        _f("project", "text", True, "Project", "project id", "project key"),
        _f("category", "text", True, "Category", "line", "item", "campaign", "channel"),
        _f("planned", "number", False, "Planned", "planned ($)", "budget", "budgeted", "plan"),
        _f("spent", "number", False, "Spent", "spent ($)", "actual spend", "spend", "cost"),
        _f(
            "attributed_revenue",
            "number",
            False,
            "Attributed revenue",
            "revenue",
            "attributed revenue ($)",
            "revenue ($)",
        ),
        _f("notes", "text", False, "Notes", "comment", "comments"),
    ),
    ("project", "category"),
)

TASKS = Table(
    "tasks",
    "Tasks",
    Task,
    (
        _f("key", "text", True, "Task ID", "id", "task id", "ref"),
        _f("project", "text", True, "Project", "project id"),
        _f("name", "text", True, "Task", "task name", "name", "description"),
        _f("milestone", "text", False, "Milestone", "milestone id"),
        _f("owner", "text", False, "Owner", "assignee"),
        _f("due", "date", False, "Due", "due date", "deadline"),
        _f("done", "bool", False, "Done", "complete", "completed", "finished"),
    ),
    ("key",),
    optional=True,
)

TABLES: dict[str, Table] = {t.name: t for t in (PROJECTS, MILESTONES, QUOTAS, BUDGET, TASKS)}

KEY_JOIN = " / "  # how several key values are shown (and fill ``key`` when it is not mapped)


def with_key(table: Table, key: tuple[str, ...]) -> Table:
    """``table`` matched by ``key`` rather than its built-in key.

    The key fields become required; a built-in ``key`` (ID) field left out of
    the key does not, and is filled from the key fields when not mapped (see
    ``fills_key``).
    """
    if key == table.key:
        return table
    fields = tuple(
        dataclasses.replace(f, required=True)
        if f.name in key
        else dataclasses.replace(f, required=False)
        if f.name in table.key
        else f
        for f in table.fields
    )
    return dataclasses.replace(table, fields=fields, key=key)


def fills_key(table: Table) -> bool:
    """Whether records of ``table`` get their ``key`` field made from other key fields."""
    return "key" in table.field_by_name and "key" not in table.key


NOUNS = {  # a table's records, as a person counts them: one, many
    "projects": ("project", "projects"),
    "milestones": ("milestone", "milestones"),
    "quotas": ("quota", "quotas"),
    "budget": ("budget line", "budget lines"),
    "tasks": ("task", "tasks"),
}


def counted(n: int, table: str) -> str:
    """``n`` records of ``table`` in words: "1 project", "10 budget lines"."""
    one, many = NOUNS.get(table, (f"{table} record", f"{table} records"))
    return f"{n:,} {one if n == 1 else many}"


def key_title(table: Table, headers: dict[str, str] | None = None) -> str:
    """The key as a person reads it: "Project + Name" (headers as written, where known)."""
    return " + ".join((headers or {}).get(k) or table.field_by_name[k].title for k in table.key)


MILESTONE_STATUSES = ("Not started", "On track", "At risk", "Late", "Done")


def teams_of(quotas: list[Record]) -> list[str]:
    """The team names the quota records use, sorted."""
    return sorted({str(q["team"]) for q in quotas if q.get("team")})


def resolve_teams(
    records: dict[str, list[Record]], teams: Sequence[str], where: str = ""
) -> tuple[str, ...]:
    """``teams`` as the model's quotas spell them (case and spaces do not
    matter). A team with no quotas is an error listing the teams: a
    ConfigError naming ``where`` (the setting) if given, else a UsageError."""
    known = teams_of(records.get("quotas", []))
    by_fold = {" ".join(t.split()).casefold(): t for t in known}
    found: list[str] = []
    unknown: list[str] = []
    for name in teams:
        team = by_fold.get(" ".join(name.split()).casefold())
        if team is None:
            unknown.append(name)
        elif team not in found:
            found.append(team)
    if unknown:
        error = ConfigError if where else UsageError
        raise error(
            f"{where + ': ' if where else ''}no quotas for team "
            f"{', '.join(repr(t) for t in unknown)} in the model",
            hint=f"teams in the model: {', '.join(known) or '(none)'}",
        )
    return tuple(found)
