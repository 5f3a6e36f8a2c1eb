"""sheetsync.toml → typed settings. Secrets come from environment variables only.

A config names one or more sources (workbooks, Google Sheets) and, for each,
the tables it holds: worksheet, header row, which header is which field, key
columns and read-only (formula) columns. Paths are relative to the config file.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, UsageError
from .metrics import RagSettings
from .model import TABLES, Table, key_title, with_key
from .periods import weekday_number
from .table_mapping import TableMapping, normalize_header

DEFAULT_CONFIG_NAME = "sheetsync.toml"
SOURCE_KINDS = ("xlsx", "gsheets", "mindmap")
#: Mind maps: the tables the tree's levels may fill, and the columns a level
#: grid takes from the tree itself (field → header; see sources/mindmap/records).
MINDMAP_LEVEL_TABLES = ("projects", "milestones", "tasks")
MINDMAP_TREE_COLUMNS = {
    "key": "ID",
    "name": "Title",
    "project": "Project",
    "milestone": "Milestone",
}
MODEL_FOLDER = ".sheetsync"  # the default model's folder, beside the config: created on first use


@dataclass(frozen=True)
class SourceConfig:
    """One workbook or Google Sheet."""

    name: str
    kind: str
    tables: dict[str, TableMapping]
    path: Path | None = None  # xlsx
    spreadsheet: str | None = None  # gsheets key or URL
    credentials: Path | None = None  # gsheets service account / OAuth token
    api_url: str | None = None  # gsheets: send API calls here (an emulator), not to Google
    backups: int = 3
    retries: int = 5
    levels: tuple[str, ...] = ()  # mindmap: the table each depth of the tree fills
    skip_root: bool = False  # mindmap: the root only holds a title
    copy_of: Path | None = None  # xlsx: ``path`` is a dated copy of this workbook (pull --as-of)

    @property
    def location(self) -> str:
        return str(self.path) if self.path else str(self.spreadsheet)


@dataclass(frozen=True)
class ReportSettings:
    company: str = "Sales team"
    locale: str = "en_US"
    currency: str = "USD"
    timezone: str = "UTC"
    fiscal_year_start_month: int = 1
    week_ends: int = 6  # reporting weeks end on this weekday (0 Monday … 6 Sunday)
    logo: Path | None = None
    colors: dict[str, str] = field(default_factory=dict)
    template_dir: Path | None = None
    baseline: str | None = None  # report variance against this saved baseline


@dataclass(frozen=True)
class RecipientGroup:
    name: str
    recipients: tuple[str, ...]
    reports: tuple[str, ...] = ("executive",)
    teams: tuple[str, ...] = ()  # filter: only these teams' quotas
    attach_workbook: bool = False


@dataclass(frozen=True)
class MailSettings:
    host: str = ""  # no default: sending needs a server named in the config
    port: int = 587
    security: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password_env: str = "SHEETSYNC_SMTP_PASSWORD"
    sender: str = "sheetsync@localhost"
    timeout: float = 30.0
    groups: dict[str, RecipientGroup] = field(default_factory=dict)

    def require_server(self) -> None:
        """Refuse (ConfigError) when no SMTP server is configured: call before
        rendering anything that is to be sent."""
        if not self.host:
            raise ConfigError(
                "mail.host is not set: sheetsync does not know which SMTP server to send through",
                hint='add host = "smtp.example.com" (and port, security, username, from) under '
                "[mail] in sheetsync.toml, or write the messages to files with --dry-run",
            )


@dataclass(frozen=True)
class Config:
    path: Path | None
    sources: dict[str, SourceConfig]
    report: ReportSettings = field(default_factory=ReportSettings)
    rag: RagSettings = field(default_factory=RagSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    db: str | None = None
    specs: dict[str, Table] = field(default_factory=dict)  # tables whose key is configured

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def default_db_url(self) -> str:
        """The model's URL: ``db`` from the config (a plain path is a SQLite file
        relative to the config), else ``.sheetsync/model.db`` beside the config."""
        if self.db:
            return db_url(self.db, self.root)
        return f"sqlite:///{self.root / MODEL_FOLDER / 'model.db'}"

    def table_spec(self, name: str) -> Table:
        """The ``Table`` spec of ``name`` under this config: its configured key, or the built-in one."""
        return self.specs.get(name) or TABLES[name]

    def with_copy(self, file: Path, names: tuple[str, ...] = ()) -> tuple[Config, str]:
        """This config reading ``file`` (a dated copy of a workbook) in place of the
        workbook of the one named xlsx source (or the only one), and that source's name."""
        xlsx = [s for s in self.select_sources(names) if s.kind == "xlsx"]
        if len(xlsx) != 1:
            raise UsageError(
                f"{file.name}: a copy of which workbook? "
                + ("no xlsx source is configured" if not xlsx else "several xlsx sources"),
                hint="name the source before the file: sheetsync pull --as-of DAY SOURCE FILE",
            )
        if not file.is_file():
            raise UsageError(f"{file}: no such file")
        src = dataclasses.replace(xlsx[0], path=file.resolve(), copy_of=xlsx[0].path)
        return dataclasses.replace(self, sources={**self.sources, src.name: src}), src.name

    def select_sources(self, names: tuple[str, ...] | list[str] = ()) -> list[SourceConfig]:
        if not names:
            return list(self.sources.values())
        missing = [n for n in names if n not in self.sources]
        if missing:
            raise ConfigError(
                f"unknown source {', '.join(repr(m) for m in missing)}",
                hint=f"sources in {self.path}: {', '.join(self.sources) or '(none)'}",
            )
        return [self.sources[n] for n in names]


def db_url(value: str, base: Path) -> str:
    """A model location as a database URL: a URL as it is, a plain path
    (``foo.db``, ``/srv/plan/model.db``) as a SQLite file, relative to ``base``."""
    if "://" in value or value == ":memory:":
        return value if value != ":memory:" else "sqlite://"
    return f"sqlite:///{(base / Path(value).expanduser()).resolve()}"


def _known_keys(section: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    """Refuse keys a section does not take (a typo must not be ignored silently)."""
    unknown = [k for k in section if k not in known]
    if not unknown:
        return
    folded = {k.casefold().replace("-", "_"): k for k in known}
    problems = []
    for k in unknown:
        close = difflib.get_close_matches(k.casefold().replace("-", "_"), folded, n=1, cutoff=0.6)
        problems.append(f"{k!r}" + (f" (did you mean {folded[close[0]]!r}?)" if close else ""))
    head = f"[{where}]" if where != "config" else "the top level"
    raise ConfigError(
        f"{head}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(problems)}",
        hint=f"keys of {head}: {', '.join(known)}",
    )


def _as_tuple(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a text or a list of texts, found {value!r}")


def _take(
    section: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default=None
):
    if key not in section:
        return default
    value = section[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}.{key}: expected {names}, found {value!r}")
    return value


#: Keys of a [sources.NAME.tables.TABLE] section.
TABLE_KEYS = ("sheet", "header_row", "key", "readonly", "columns")


def _table_mapping(
    name: str, section: dict[str, Any], where: str, tree: bool = False
) -> TableMapping:
    if name not in TABLES:
        raise ConfigError(
            f"{where}: unknown table {name!r}", hint=f"tables are: {', '.join(TABLES)}"
        )
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a [{where}] section, found {section!r}")
    _known_keys(section, TABLE_KEYS, where)
    spec = TABLES[name]
    sheet = name if tree else _take(section, "sheet", str, where)
    if not sheet:
        raise ConfigError(f"{where}: 'sheet' (the worksheet name) is required")
    header_row = _take(section, "header_row", int, where)
    if header_row is not None and header_row < 1:
        raise ConfigError(f"{where}.header_row: must be 1 or more, found {header_row}")
    columns: dict[str, tuple[str, ...]] = {}
    for fname, headers in (_take(section, "columns", dict, where) or {}).items():
        if fname not in spec.field_by_name:
            raise ConfigError(
                f"{where}.columns: {name} has no field {fname!r}",
                hint=f"fields are: {', '.join(spec.field_by_name)}",
            )
        columns[fname] = _as_tuple(headers, f"{where}.columns.{fname}")
    if tree:  # a level of a mind map: its grid's header row is the tree's own columns
        columns.update(
            {f: (h,) for f, h in MINDMAP_TREE_COLUMNS.items() if f in spec.field_by_name}
        )
        header_row = 1
    key = _key(section["key"], spec, columns, where) if "key" in section else None
    readonly = _as_tuple(section.get("readonly", []), f"{where}.readonly")
    for f in readonly:
        if f not in spec.field_by_name:
            raise ConfigError(f"{where}.readonly: {name} has no field {f!r}")
        if f in (key or spec.key):
            raise ConfigError(f"{where}.readonly: {f!r} is part of the key and cannot be read-only")
    return TableMapping(name, sheet, header_row, columns, readonly, key)


def _key(
    value: Any, spec: Table, columns: dict[str, tuple[str, ...]], where: str
) -> tuple[str, ...]:
    """``key = [...]``: field names, or headers mapped to fields, as field names."""
    names = _as_tuple(value, f"{where}.key")
    if not names:
        raise ConfigError(f"{where}.key: is empty; name the column(s) that tell rows apart")
    # Config headers first, then each field's usual header, then its name as words.
    lookups: list[dict[str, set[str]]] = [{}, {}, {}]
    for f in spec.fields:
        for h in columns.get(f.name, ()):
            lookups[0].setdefault(normalize_header(h), set()).add(f.name)
        lookups[1].setdefault(normalize_header(f.title), set()).add(f.name)
        lookups[2].setdefault(normalize_header(f.name.replace("_", " ")), set()).add(f.name)
    out: list[str] = []
    for n in names:
        found = {n} if n in spec.field_by_name else set()
        for lookup in lookups:
            found = found or lookup.get(normalize_header(n), set())
        if len(found) > 1:
            raise ConfigError(
                f"{where}.key: {n!r} could be {' or '.join(sorted(found))}",
                hint="name the field itself",
            )
        if not found:
            known = [f.name for f in spec.fields]
            choices = {normalize_header(c): c for c in known}
            for f in spec.fields:
                choices.setdefault(normalize_header(f.title), f.title)
                for h in columns.get(f.name, ()):
                    choices.setdefault(normalize_header(h), h)
            close = difflib.get_close_matches(normalize_header(n), list(choices), n=1, cutoff=0.6)
            mean = f"; did you mean {choices[close[0]]!r}?" if close else ""
            raise ConfigError(
                f"{where}.key: {spec.name} has no field or mapped column {n!r}{mean}",
                hint=f"key names fields of {spec.name}: {', '.join(known)} "
                "(or the headers mapped to them)",
            )
        (f,) = found
        if f in out:
            raise ConfigError(f"{where}.key: {f!r} is named twice")
        out.append(f)
    return tuple(out)


def _specs(sources: dict[str, SourceConfig]) -> dict[str, Table]:
    """Each table's spec with its configured key; every source mapping it must agree."""
    keys: dict[str, tuple[str, tuple[str, ...]]] = {}  # table -> (first source, key)
    for s in sources.values():
        for t, m in s.tables.items():
            key = m.key or TABLES[t].key
            first = keys.setdefault(t, (s.name, key))
            if first[1] != key:
                spec = TABLES[t]
                a, b = with_key(spec, first[1]), with_key(spec, key)
                raise ConfigError(
                    f"sources {first[0]!r} and {s.name!r} both map {t} but match its rows "
                    f"differently: by {key_title(a)} in {first[0]!r}, "
                    f"by {key_title(b)} in {s.name!r}",
                    hint=f"the model keeps one key per table: give [sources.{first[0]}.tables.{t}] "
                    f"and [sources.{s.name}.tables.{t}] the same key = [...]",
                )
    return {t: with_key(TABLES[t], k) for t, (_, k) in keys.items() if k != TABLES[t].key}


#: Keys of a [sources.NAME] section: those of every kind, then each kind's own.
SOURCE_KEYS = ("kind", "tables", "backups", "retries")
SOURCE_KIND_KEYS = {
    "xlsx": ("path",),
    "gsheets": ("spreadsheet", "credentials", "api_url"),
    "mindmap": ("path", "levels", "skip_root"),
}


def _source(name: str, section: dict[str, Any], root: Path) -> SourceConfig:
    where = f"sources.{name}"
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a [{where}] section, found {section!r}")
    kind = _take(section, "kind", str, where, "xlsx")
    if kind not in SOURCE_KINDS:
        raise ConfigError(
            f"{where}.kind: expected one of {', '.join(SOURCE_KINDS)}, found {kind!r}"
        )
    _known_keys(section, SOURCE_KEYS + SOURCE_KIND_KEYS.get(kind, ()), where)
    sections = _take(section, "tables", dict, where) or {}
    levels: tuple[str, ...] = ()
    if kind == "mindmap":
        levels = _levels(section, sections, where)
        sections = {t: sections.get(t, {}) for t in levels}
    tables = {
        t: _table_mapping(t, sec, f"{where}.tables.{t}", tree=kind == "mindmap")
        for t, sec in sections.items()
    }
    if not tables:
        raise ConfigError(
            f"{where}: no [{where}.tables.*] sections: map at least one table",
            hint="uncomment and fill in a table section that `sheetsync init` wrote, "
            "or see sheetsync.toml in the README",
        )
    path = spreadsheet = creds = api_url = None
    if kind in ("xlsx", "mindmap"):
        p = _take(section, "path", str, where)
        if not p:
            what = "the workbook file" if kind == "xlsx" else "the mind map file"
            raise ConfigError(f"{where}: 'path' ({what}) is required")
        path = (root / p).resolve()
    else:
        spreadsheet = _take(section, "spreadsheet", str, where)
        if not spreadsheet:
            raise ConfigError(f"{where}: 'spreadsheet' (key or URL) is required")
        c = _take(section, "credentials", str, where)
        creds = (root / c).resolve() if c else None
        api_url = _take(section, "api_url", str, where)
    return SourceConfig(
        name=name,
        kind=kind,
        tables=tables,
        path=path,
        spreadsheet=spreadsheet,
        credentials=creds,
        api_url=api_url,
        backups=_take(section, "backups", int, where, 3),
        retries=_take(section, "retries", int, where, 5),
        levels=levels,
        skip_root=bool(_take(section, "skip_root", bool, where, False)),
    )


def _levels(section: dict[str, Any], tables: dict[str, Any], where: str) -> tuple[str, ...]:
    """A mind map's ``levels``: tables for the root's depth and each below, no repeats."""
    levels = _as_tuple(section.get("levels", list(MINDMAP_LEVEL_TABLES)), f"{where}.levels")
    if not levels:
        raise ConfigError(f"{where}.levels: is empty; name the table each level of the map fills")
    for t in levels:
        if t not in MINDMAP_LEVEL_TABLES:
            raise ConfigError(
                f"{where}.levels: {t!r} cannot be a level of a mind map",
                hint=f"levels are tables among: {', '.join(MINDMAP_LEVEL_TABLES)}",
            )
    if len(set(levels)) != len(levels):
        raise ConfigError(f"{where}.levels: names a table twice")
    extra = [t for t in tables if t not in levels]
    if extra:
        raise ConfigError(
            f"{where}.tables: {', '.join(extra)} is not among the levels ({', '.join(levels)})",
            hint="a mind map fills only the tables named in levels = [...]",
        )
    return levels


#: Keys of [report].
REPORT_KEYS = (
    "company",
    "locale",
    "currency",
    "timezone",
    "fiscal_year_start_month",
    "week_ends",
    "logo",
    "colors",
    "template_dir",
    "baseline",
)


def _report(section: dict[str, Any], root: Path) -> ReportSettings:
    w = "report"
    _known_keys(section, REPORT_KEYS, w)
    logo = _take(section, "logo", str, w)
    tdir = _take(section, "template_dir", str, w)
    fy = _take(section, "fiscal_year_start_month", int, w, 1)
    if not 1 <= fy <= 12:
        raise ConfigError(f"report.fiscal_year_start_month: expected 1-12, found {fy}")
    week_ends = _take(section, "week_ends", str, w, "Sunday")
    try:
        week_end_day = weekday_number(week_ends)
    except ValueError as e:
        raise ConfigError(f"report.week_ends: {e}") from None
    return ReportSettings(
        company=_take(section, "company", str, w, "Sales team"),
        locale=_take(section, "locale", str, w, "en_US"),
        currency=_take(section, "currency", str, w, "USD"),
        timezone=_take(section, "timezone", str, w, "UTC"),
        fiscal_year_start_month=fy,
        week_ends=week_end_day,
        logo=(root / logo).resolve() if logo else None,
        colors=dict(_take(section, "colors", dict, w, {})),
        template_dir=(root / tdir).resolve() if tdir else None,
        baseline=_take(section, "baseline", str, w) or None,
    )


#: Keys of [rag].
RAG_KEYS = ("green_at", "amber_at", "at_risk_days", "delivery_red_late", "delivery_amber_late")


def _rag(section: dict[str, Any]) -> RagSettings:
    w = "rag"
    _known_keys(section, RAG_KEYS, w)
    rag = RagSettings(
        green_at=float(_take(section, "green_at", (int, float), w, 0.95)),
        amber_at=float(_take(section, "amber_at", (int, float), w, 0.80)),
        at_risk_days=_take(section, "at_risk_days", int, w, 14),
        delivery_red_late=_take(section, "delivery_red_late", int, w, 2),
        delivery_amber_late=_take(section, "delivery_amber_late", int, w, 1),
    )
    if rag.amber_at > rag.green_at:
        raise ConfigError("rag: amber_at must not be above green_at")
    if not 1 <= rag.delivery_amber_late <= rag.delivery_red_late:
        raise ConfigError(
            "rag: expected 1 <= delivery_amber_late <= delivery_red_late, found "
            f"{rag.delivery_amber_late} and {rag.delivery_red_late}"
        )
    return rag


#: Keys of [mail] and of a [mail.groups.NAME] section.
MAIL_KEYS = (
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "from",
    "timeout",
    "groups",
)
GROUP_KEYS = ("recipients", "reports", "teams", "attach_workbook")


def _mail(section: dict[str, Any]) -> MailSettings:
    w = "mail"
    if "password" in section:
        raise ConfigError(
            "mail.password: passwords never go in the config file",
            hint='set password_env = "NAME" and export NAME=... in the environment',
        )
    _known_keys(section, MAIL_KEYS, w)
    groups = {}
    for gname, g in (_take(section, "groups", dict, w, {}) or {}).items():
        gw = f"mail.groups.{gname}"
        if not isinstance(g, dict):
            raise ConfigError(f"{gw}: expected a [{gw}] section, found {g!r}")
        _known_keys(g, GROUP_KEYS, gw)
        recipients = _as_tuple(g.get("recipients", []), f"{gw}.recipients")
        if not recipients:
            raise ConfigError(f"{gw}: 'recipients' is empty")
        groups[gname] = RecipientGroup(
            name=gname,
            recipients=recipients,
            reports=_as_tuple(g.get("reports", ["executive"]), f"{gw}.reports"),
            teams=_as_tuple(g.get("teams", []), f"{gw}.teams"),
            attach_workbook=bool(g.get("attach_workbook", False)),
        )
    security = _take(section, "security", str, w, "starttls")
    if security not in ("starttls", "tls", "none"):
        raise ConfigError(f"mail.security: expected starttls, tls or none, found {security!r}")
    return MailSettings(
        host=_take(section, "host", str, w, "").strip(),
        port=_take(section, "port", int, w, 465 if security == "tls" else 587),
        security=security,
        username=_take(section, "username", str, w),
        password_env=_take(section, "password_env", str, w, "SHEETSYNC_SMTP_PASSWORD"),
        sender=_take(section, "from", str, w, "sheetsync@localhost"),
        timeout=float(_take(section, "timeout", (int, float), w, 30.0)),
        groups=groups,
    )


#: Keys of the top level (``db`` and the sections).
TOP_KEYS = ("db", "report", "rag", "mail", "sources")


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Build a Config from parsed TOML; ``path`` anchors relative paths."""
    root = path.parent if path else Path.cwd()
    _known_keys(data, TOP_KEYS, "config")
    sources = {
        n: _source(n, s, root) for n, s in (_take(data, "sources", dict, "config", {})).items()
    }
    return Config(
        path=path,
        sources=sources,
        report=_report(_take(data, "report", dict, "config", {}), root),
        rag=_rag(_take(data, "rag", dict, "config", {})),
        mail=_mail(_take(data, "mail", dict, "config", {})),
        db=_take(data, "db", str, "config"),
        specs=_specs(sources),
    )


def load_config(path: Path | str | None = None) -> Config:
    """Read sheetsync.toml (``path``, or ./sheetsync.toml)."""
    p = Path(path) if path else Path.cwd() / DEFAULT_CONFIG_NAME
    if not p.is_file():
        raise ConfigError(
            f"no config file at {p}",
            hint="create one with `sheetsync init WORKBOOK`, or pass --config FILE",
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a UTF-8 text file") from None
    return parse_config(data, p.resolve())
