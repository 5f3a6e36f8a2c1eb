"""Google Sheets through gspread: constant API calls, bounded retries, clear errors.

A pull reads every mapped worksheet with one ``values:batchGet``
(``UNFORMATTED_VALUE``, dates as ``SERIAL_NUMBER``), whatever the number of
rows. A push (or the Google side of a sync) reads values, formulas and grid
sizes with one ``spreadsheets.get`` (a fields mask, the configured ranges) and
writes with one ``spreadsheets.batchUpdate``: ``appendDimension`` where the
grid must grow, then ``updateCells`` with typed values (so a text starting
with ``=`` stays text), applied by Google all or nothing. Metadata alone is
fetched only to say which worksheets exist when one is missing.

Retries live in our own :class:`gspread.http_client.HTTPClient` subclass:
429, 5xx and connection errors are retried with exponential backoff and
jitter, honouring ``Retry-After``, up to ``RetryPolicy.attempts`` tries, then
a :class:`~sheetsync.errors.RemoteError`. (gspread's ``BackOffHTTPClient``
never gives up, so it is not used.)

gspread and google-auth are imported inside functions, so importing this
module costs nothing until a Google Sheet is opened.

Example::

    sheet = open_spreadsheet("https://docs.google.com/spreadsheets/d/1abc…/edit",
                             credentials="robot.json")
    grids = sheet.read_sheets(["Quotas", "Projects"])
    sheet.write_cells([("Quotas", "E14", 12000)], appends=[("Projects", ["P-9", "New"])])
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import grid
from ..errors import ConfigError, RemoteError, WorkbookError
from ..grid import column_letter, quote_sheet

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from gspread.http_client import HTTPClient

__all__ = [
    "SCOPES",
    "GoogleSheet",
    "Identity",
    "RetryPolicy",
    "WriteResult",
    "load_credentials",
    "open_from_config",
    "open_spreadsheet",
    "spreadsheet_key",
    "to_serial",
]

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
GOOGLE_HOSTS = (
    "https://sheets.googleapis.com",
    "https://www.googleapis.com",
    "https://oauth2.googleapis.com",
)

Cells = list[list[object]]


# --------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` tries in all, waits ``backoff_base * 2**n`` (capped,
    minus up to ``jitter`` of it at random) or what ``Retry-After`` says (capped)."""

    attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 32.0
    jitter: float = 0.5
    max_retry_after: float = 120.0
    timeout: float = 120.0  # seconds to wait for one answer

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"retries must be at least 1, not {self.attempts}")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        wait = min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max)
        return wait * (1 - self.jitter * random.random())


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _is_retryable(status: int, error: Mapping[str, Any]) -> bool:
    if status in (408, 429) or status >= 500:
        return True
    # Drive answers 403 with reason rateLimitExceeded / userRateLimitExceeded for quotas.
    reasons = {e.get("reason") for e in error.get("errors", []) if isinstance(e, dict)}
    return status == 403 and bool(reasons & {"rateLimitExceeded", "userRateLimitExceeded"})


def _rewrite(url: str, base_url: str | None) -> str:
    if base_url:
        for host in GOOGLE_HOSTS:
            if url.startswith(host + "/"):
                return base_url.rstrip("/") + url[len(host) :]
    return url


@functools.cache
def _retrying_class(base: type[HTTPClient] | None = None) -> type[HTTPClient]:
    """Our retrying subclass of ``base`` (gspread's ``HTTPClient`` by default)."""
    import requests
    from google.auth.exceptions import TransportError
    from gspread.exceptions import APIError
    from gspread.http_client import HTTPClient

    parent: Any = base or HTTPClient
    transient = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
        TransportError,
    )

    class RetryingHTTPClient(parent):  # type: ignore[misc, valid-type]
        """gspread's real request path, retried within a :class:`RetryPolicy`."""

        retry: RetryPolicy = RetryPolicy()
        base_url: str | None = None
        sleep: Callable[[float], None] = staticmethod(time.sleep)
        attempts_made: int = 0  # total tries sent, for diagnostics and tests

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            policy = self.retry
            url = _rewrite(endpoint, self.base_url)
            last = ""
            for attempt in range(1, policy.attempts + 1):
                retry_after: float | None = None
                self.attempts_made += 1
                try:
                    return super().request(method, url, *args, **kwargs)
                except APIError as e:
                    status = e.response.status_code
                    if not _is_retryable(status, e.error):
                        raise
                    retry_after = _parse_retry_after(e.response.headers.get("Retry-After"))
                    last = (
                        f"HTTP {status} {e.error.get('status', '')}: {e.error.get('message', '')}"
                    )
                except transient as e:
                    last = f"{type(e).__name__}: {e}"
                if attempt < policy.attempts:
                    self.sleep(policy.delay(attempt, retry_after))
            what = _describe(method, endpoint)
            raise RemoteError(
                f"Google Sheets API: {what} failed {policy.attempts} times; last error: "
                f"{last.strip()}",
                hint="Google is rate-limiting this account or is having trouble; wait a "
                "minute and run again (or raise `retries` for this source in sheetsync.toml)",
            )

    return RetryingHTTPClient


def _describe(method: str, endpoint: str) -> str:
    """``POST …/values:batchUpdate`` for a message: the API path without host or query."""
    path = endpoint.split("?")[0]
    for host in GOOGLE_HOSTS:
        path = path.removeprefix(host)
    return f"{method.upper()} {path if len(path) <= 90 else path[:87] + '...'}"


# ------------------------------------------------------------------ credentials


@dataclass(frozen=True)
class Identity:
    """Who the API calls run as, for error messages."""

    kind: str  # "service_account" | "oauth" | "credentials"
    email: str | None = None

    def who(self) -> str:
        if self.kind == "service_account":
            return f"the service account {self.email}" if self.email else "the service account"
        return self.email or "the account you signed in with"

    def share_hint(self, access: str = "Editor") -> str:
        if self.kind == "service_account" and self.email:
            return f"share the sheet with {self.email} (Share → add it as {access})"
        if self.email:
            return f"share the sheet with {self.email} as {access}, or sign in with an account that has access"
        return (
            f"share the sheet with the account you signed in with (as {access}), "
            "or sign in again with an account that has access"
        )


def load_credentials(path: str | os.PathLike[str] | None = None) -> tuple[Credentials, Identity]:
    """Credentials from a service-account JSON or an OAuth authorized-user token file.

    ``path`` defaults to ``$GOOGLE_APPLICATION_CREDENTIALS``.
    """
    raw = path if path is not None else os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not raw:
        raise ConfigError(
            "no Google credentials configured",
            hint='set `credentials = "path/to/service-account.json"` for this source in '
            "sheetsync.toml, or export GOOGLE_APPLICATION_CREDENTIALS",
        )
    p = Path(raw).expanduser()
    try:
        info = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Google credentials file not found: {p}") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read Google credentials file {p}: {e}") from None
    if not isinstance(info, dict):
        raise ConfigError(f"{p} is not a Google credentials file (expected a JSON object)")
    kind = info.get("type")
    try:
        if kind == "service_account":
            from google.oauth2 import service_account

            creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
            return creds, Identity("service_account", info.get("client_email"))
        if kind == "authorized_user" or (kind is None and "refresh_token" in info):
            from google.oauth2.credentials import Credentials as UserCredentials

            ucreds = UserCredentials.from_authorized_user_info(info, scopes=info.get("scopes"))
            if info.get("token_uri"):  # google-auth ignores the file's own token endpoint
                ucreds = ucreds.with_token_uri(info["token_uri"])
            email = info.get("account") or info.get("email") or None
            return ucreds, Identity("oauth", email)
    except (ValueError, KeyError) as e:
        raise ConfigError(f"{p}: invalid {kind} credentials: {e}") from None
    raise ConfigError(
        f"{p} is neither a service-account key nor an OAuth token file (type: {kind!r})",
        hint="download a JSON key for a service account in the Google Cloud console, "
        "or run an OAuth sign-in that writes an authorized_user token",
    )


_KEY_IN_URL = re.compile(r"/spreadsheets/d/([a-zA-Z0-9-_]+)")
_KEY = re.compile(r"^[a-zA-Z0-9-_]{20,}$")


def spreadsheet_key(key_or_url: str) -> str:
    """The spreadsheet id in a key or a ``docs.google.com`` URL."""
    text = key_or_url.strip()
    m = _KEY_IN_URL.search(text)
    if m:
        return m.group(1)
    m = re.search(r"[?&]key=([a-zA-Z0-9-_]+)", text)
    if m:
        return m.group(1)
    if _KEY.match(text):
        return text
    raise ConfigError(
        f"not a Google Sheets key or URL: {key_or_url!r}",
        hint="use the URL from the browser (https://docs.google.com/spreadsheets/d/<key>/edit) "
        "or the key in it",
    )


# ----------------------------------------------------------------------- values


def to_serial(value: dt.date | dt.datetime | dt.time) -> int | float:
    """A date, datetime or time as a Sheets serial number (days since 1899-12-30)."""
    if not isinstance(value, dt.date | dt.time):
        raise TypeError(value)
    return grid.to_serial(value)


def _to_api(value: object) -> object:
    """A Python value as a RAW cell value: dates → serials, None → "" (cleared)."""
    if value is None:
        return ""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written to Google Sheets")
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return to_serial(value)
    return str(value)


def _parse_a1(ref: str) -> tuple[int, int]:
    row, col = grid.parse_a1_strict(ref)
    return row - 1, col - 1


def _col_letters(col0: int) -> str:
    return column_letter(col0 + 1)


# ------------------------------------------------------------------- the sheet


@dataclass
class WriteResult:
    """What one :meth:`GoogleSheet.write_cells` did."""

    cells: int = 0
    rows_appended: int = 0
    grid_rows_added: dict[str, int] = field(default_factory=dict)
    requests: int = 0  # spreadsheets.batchUpdate calls: 1 (grid growth and values at once)


@dataclass
class _SheetMeta:
    sheet_id: int
    title: str
    index: int
    rows: int
    cols: int


class GoogleSheet:
    """One spreadsheet. Metadata is fetched on first need and kept for this object's life."""

    METADATA_FIELDS = (
        "spreadsheetId,properties.title,"
        "sheets.properties(sheetId,title,index,gridProperties(rowCount,columnCount))"
    )

    def __init__(self, key: str, http: HTTPClient, identity: Identity) -> None:
        self.key = key
        self.http = http
        self.identity = identity
        self._title: str | None = None
        self._sheets: dict[str, _SheetMeta] = {}  # known so far
        self._all = False  # every worksheet known (fetched by metadata)
        self._data_rows: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self.key}/edit"

    # ---- metadata

    def refresh(self) -> None:
        """Forget cached metadata; the next call fetches it again."""
        self._sheets = {}
        self._all = False
        self._data_rows.clear()

    def _metadata(self) -> dict[str, _SheetMeta]:
        """Every worksheet (one request, the first time)."""
        if not self._all:
            meta = self._call(
                self.http.fetch_sheet_metadata, self.key, {"fields": self.METADATA_FIELDS}
            )
            self._title = meta.get("properties", {}).get("title", self.key)
            self._sheets = {
                m.title: m for m in (_sheet_meta(s["properties"]) for s in meta.get("sheets", []))
            }
            self._all = True
        return self._sheets

    @property
    def title(self) -> str:
        if self._title is None:
            self._metadata()
        return self._title or self.key

    def sheet_names(self) -> list[str]:
        """Worksheet titles in tab order."""
        return [m.title for m in sorted(self._metadata().values(), key=lambda m: m.index)]

    def grid_size(self, sheet: str) -> tuple[int, int]:
        """(rows, columns) of a worksheet's grid, as last known."""
        m = self._require([sheet])[0]
        return m.rows, m.cols

    def _require(self, names: Iterable[str]) -> list[_SheetMeta]:
        wanted = list(dict.fromkeys(names))
        sheets = self._sheets if all(n in self._sheets for n in wanted) else self._metadata()
        missing = [n for n in wanted if n not in sheets]
        if missing:
            have = ", ".join(repr(n) for n in self.sheet_names()) or "none"
            what = "worksheet" if len(missing) == 1 else "worksheets"
            raise WorkbookError(
                f"{what} {', '.join(repr(n) for n in missing)} not found in Google Sheet "
                f"'{self.title}'; it has: {have}",
                hint="fix the sheet name in sheetsync.toml or rename the tab",
            )
        return [sheets[n] for n in wanted]

    # ---- reading

    def read_sheets(self, names: Sequence[str]) -> dict[str, Cells]:
        """Values of the named worksheets in one ``values:batchGet`` (a pull's one request).

        Rows are lists (row 1 is index 0) with Google's trailing blanks trimmed;
        numbers stay numbers and dates are serial numbers (days since 1899-12-30).
        A missing worksheet costs one metadata request more, to say which exist.
        """
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        try:
            resp = self._call(
                self.http.values_batch_get,
                self.key,
                [quote_sheet(n) for n in names],
                {
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER",
                    "majorDimension": "ROWS",
                },
            )
        except RemoteError:
            self._require(names)  # a missing worksheet: say which ones exist
            raise
        out: dict[str, Cells] = {}
        for name, vr in zip(names, resp.get("valueRanges", []), strict=True):
            rows = vr.get("values", [])
            out[name] = rows
            self._data_rows[name] = len(rows)
        return out

    GRID_FIELDS = (
        "properties.title,sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)),"
        "data(startRow,startColumn,rowData.values(userEnteredValue,effectiveValue)))"
    )

    def read_grid(self, names: Sequence[str]) -> tuple[dict[str, Cells], dict[str, set[str]]]:
        """Values and formula cells of the named worksheets, with their grid
        sizes, in one ``spreadsheets.get`` (a push's or sync's one read).

        The values are what :meth:`read_sheets` gives; the formulas are the A1
        refs of the cells holding one (never written).
        """
        names = list(dict.fromkeys(names))
        if not names:
            return {}, {}
        try:
            meta = self._call(
                self.http.fetch_sheet_metadata,
                self.key,
                {"fields": self.GRID_FIELDS, "ranges": [quote_sheet(n) for n in names]},
            )
        except RemoteError:
            self._require(names)
            raise
        self._title = meta.get("properties", {}).get("title", self._title or self.key)
        values: dict[str, Cells] = {}
        formulas: dict[str, set[str]] = {}
        for sheet in meta.get("sheets", []):
            m = _sheet_meta(sheet["properties"])
            self._sheets[m.title] = m  # their grid sizes, for the write
            rows, cells = _grid_rows(sheet.get("data") or [])
            values[m.title], formulas[m.title] = rows, cells
            self._data_rows[m.title] = len(rows)
        return values, formulas

    # ---- writing

    def write_cells(
        self,
        changes: Iterable[tuple[str, str, object]],
        appends: Iterable[tuple[str, Sequence[object]]] = (),
    ) -> WriteResult:
        """Write ``(sheet, "B7", value)`` changes and append ``(sheet, row)`` rows,
        all or nothing, in one ``spreadsheets.batchUpdate``.

        The grid grows first in the same request (``appendDimension``) when it
        is too small; then ``updateCells`` writes typed values: a number stays
        a number, a date becomes its serial (the cell keeps its date format),
        a text starting with ``=`` stays text, ``None`` clears the cell.
        Appended rows go below the last row that holds data (as read by
        :meth:`read_sheets` or :meth:`read_grid`; sheets not read yet cost
        one ``values:batchGet`` first).
        """
        changes = list(changes)
        appends = list(appends)
        metas = {
            m.title: m for m in self._require([c[0] for c in changes] + [a[0] for a in appends])
        }
        result = WriteResult()
        if not changes and not appends:
            return result

        # where appended rows go
        by_sheet: dict[str, list[list[object]]] = {}
        for sheet, row in appends:
            by_sheet.setdefault(sheet, []).append(list(row))
        unknown = [s for s in by_sheet if s not in self._data_rows]
        if unknown:
            self.read_sheets(unknown)

        # cells by sheet and row, for the size check and for merging into runs
        cells: dict[str, dict[int, dict[int, object]]] = {}
        need: dict[str, tuple[int, int]] = {}
        for sheet, ref, value in changes:
            r, c = _parse_a1(ref)
            _to_api(value)  # refuses what cannot be written, before anything is sent
            cells.setdefault(sheet, {}).setdefault(r, {})[c] = value
            nr, nc = need.get(sheet, (0, 0))
            need[sheet] = (max(nr, r + 1), max(nc, c + 1))
        for sheet, rows in by_sheet.items():
            start = self._data_rows[sheet]
            nr, nc = need.get(sheet, (0, 0))
            width = max((len(r) for r in rows), default=0)
            need[sheet] = (max(nr, start + len(rows)), max(nc, width))

        requests: list[dict[str, Any]] = []
        for sheet, (nr, nc) in need.items():  # the grid grows first, in the same request
            m = metas[sheet]
            if nr > m.rows:
                requests.append(_append_dim(m.sheet_id, "ROWS", nr - m.rows))
                result.grid_rows_added[sheet] = nr - m.rows
            if nc > m.cols:
                requests.append(_append_dim(m.sheet_id, "COLUMNS", nc - m.cols))
        for sheet, rows in cells.items():  # runs of adjacent cells in a row
            sheet_id = metas[sheet].sheet_id
            for r in sorted(rows):
                cols = rows[r]
                run: list[object] = []
                start = prev = -2
                for c in sorted(cols):
                    if c != prev + 1 and run:
                        requests.append(_update_cells(sheet_id, r, start, [run]))
                        run = []
                    if not run:
                        start = c
                    run.append(cols[c])
                    prev = c
                if run:
                    requests.append(_update_cells(sheet_id, r, start, [run]))
                result.cells += len(cols)
        for sheet, rows in by_sheet.items():
            requests.append(_update_cells(metas[sheet].sheet_id, self._data_rows[sheet], 0, rows))
            result.cells += sum(len(r) for r in rows)
            result.rows_appended += len(rows)

        self._call(self.http.batch_update, self.key, {"requests": requests})
        result.requests = 1
        for sheet, (nr, nc) in need.items():
            m = metas[sheet]
            m.rows, m.cols = max(m.rows, nr), max(m.cols, nc)
        for sheet, rows in by_sheet.items():
            self._data_rows[sheet] += len(rows)
        return result

    # ---- errors

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        from google.auth.exceptions import RefreshError
        from gspread.exceptions import APIError

        try:
            return fn(*args)
        except APIError as e:
            raise self._remote_error(e) from None
        except RefreshError as e:
            raise RemoteError(
                f"Google refused the credentials of {self.identity.who()}: {e}",
                hint="check the key file is current (service-account keys can be revoked), "
                "or sign in again for an OAuth token",
            ) from None

    def _remote_error(self, e: Any) -> RemoteError:
        status = e.response.status_code
        message = e.error.get("message", "") if isinstance(e.error, dict) else str(e)
        who = self.identity.who()
        if status == 404:
            return RemoteError(
                f"Google Sheet {self.key} was not found, or is not shared with {who}",
                hint=self.identity.share_hint(),
            )
        if status == 403:
            return RemoteError(
                f"{who[0].upper() + who[1:]} has no access to Google Sheet {self.key} ({message})",
                hint=self.identity.share_hint(),
            )
        if status == 401:
            return RemoteError(
                f"Google did not accept the credentials of {who} ({message})",
                hint="check the credentials file, or sign in again",
            )
        return RemoteError(f"Google Sheets API refused the request: HTTP {status}: {message}")


def _sheet_meta(p: Mapping[str, Any]) -> _SheetMeta:
    grid = p.get("gridProperties", {})
    return _SheetMeta(
        int(p.get("sheetId", 0)),
        p["title"],
        int(p.get("index", 0)),
        int(grid.get("rowCount", 0)),
        int(grid.get("columnCount", 0)),
    )


# What values:batchGet (UNFORMATTED_VALUE) shows for a cell whose formula fails.
_ERRORS = {
    "NULL_VALUE": "#NULL!",
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "VALUE": "#VALUE!",
    "REF": "#REF!",
    "NAME": "#NAME?",
    "NUM": "#NUM!",
    "N_A": "#N/A",
    "LOADING": "Loading...",
}


def _plain(value: Mapping[str, Any] | None) -> object:
    """An ExtendedValue as values:batchGet would give it ("" for none)."""
    if not value:
        return ""
    for kind in ("numberValue", "stringValue", "boolValue"):
        if kind in value:
            return value[kind]
    if "errorValue" in value:
        err = value["errorValue"]
        return _ERRORS.get(err.get("type", ""), err.get("message") or "#ERROR!")
    return ""


def _grid_rows(data: list[Mapping[str, Any]]) -> tuple[Cells, set[str]]:
    """The rows of a sheet's GridData (effective values, trailing blanks
    trimmed, as values:batchGet gives them) and its formula cells."""
    rows: Cells = []
    formulas: set[str] = set()
    for block in data:
        r0, c0 = int(block.get("startRow", 0)), int(block.get("startColumn", 0))
        for i, row in enumerate(block.get("rowData") or []):
            cells = row.get("values") or []
            out = [""] * c0 + [_plain(cell.get("effectiveValue")) for cell in cells]
            for j, cell in enumerate(cells):
                if "formulaValue" in (cell.get("userEnteredValue") or {}):
                    formulas.add(f"{_col_letters(c0 + j)}{r0 + i + 1}")
            while out and out[-1] == "":
                out.pop()
            while len(rows) < r0 + i:
                rows.append([])
            rows.append(out)
    while rows and not rows[-1]:
        rows.pop()
    return rows, formulas


def _extended(value: object) -> dict[str, Any]:
    """A Python value as updateCells' CellData: typed, so text stays text."""
    v = _to_api(value)
    if v == "" and value is None:
        return {}  # no userEnteredValue, and the mask names it: the cell is cleared
    if isinstance(v, bool):
        return {"userEnteredValue": {"boolValue": v}}
    if isinstance(v, int | float):
        return {"userEnteredValue": {"numberValue": v}}
    return {"userEnteredValue": {"stringValue": str(v)}}


def _update_cells(sheet_id: int, row0: int, col0: int, rows: list[list[object]]) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row0, "columnIndex": col0},
            "rows": [{"values": [_extended(v) for v in row]} for row in rows],
            "fields": "userEnteredValue",
        }
    }


def _append_dim(sheet_id: int, dimension: str, length: int) -> dict[str, Any]:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}


# ----------------------------------------------------------------------- opening


def open_spreadsheet(
    spreadsheet: str,
    credentials: str | os.PathLike[str] | Credentials | None = None,
    *,
    retries: int | None = None,
    retry: RetryPolicy | None = None,
    base_url: str | None = None,
    http_client: type[HTTPClient] | None = None,
    identity: Identity | None = None,
) -> GoogleSheet:
    """A :class:`GoogleSheet` for a key or URL. Sends no request until it is used.

    ``credentials``: a service-account JSON or OAuth token file path (default
    ``$GOOGLE_APPLICATION_CREDENTIALS``), or a google-auth credentials object.
    ``retries`` sets ``RetryPolicy.attempts``; ``retry`` gives the whole policy.
    ``base_url`` sends every Google API request there instead (an emulator);
    ``http_client`` is a gspread ``HTTPClient`` subclass to build the retrying
    client on (default: gspread's own).
    """
    import gspread

    key = spreadsheet_key(spreadsheet)
    if credentials is None or isinstance(credentials, str | os.PathLike):
        creds, who = load_credentials(credentials)
    else:
        creds = credentials
        email = getattr(creds, "service_account_email", None)
        if email:
            who = Identity("service_account", email)
        else:
            who = Identity("credentials", getattr(creds, "account", None) or None)
    if base_url:
        token_uri = getattr(creds, "token_uri", None) or getattr(creds, "_token_uri", None)
        if token_uri and hasattr(creds, "with_token_uri"):
            # every Google endpoint, the OAuth token exchange included, goes to base_url
            creds = creds.with_token_uri(_rewrite(token_uri, base_url))
    policy = retry or RetryPolicy()
    if retries is not None:
        policy = RetryPolicy(
            attempts=retries,
            backoff_base=policy.backoff_base,
            backoff_max=policy.backoff_max,
            jitter=policy.jitter,
            max_retry_after=policy.max_retry_after,
            timeout=policy.timeout,
        )
    client = gspread.Client(creds, http_client=_retrying_class(http_client))
    http: Any = client.http_client
    http.retry = policy
    http.base_url = base_url
    http.set_timeout(policy.timeout)
    return GoogleSheet(key, http, identity or who)


def open_from_config(config: Any, **kwargs: Any) -> GoogleSheet:
    """:func:`open_spreadsheet` for a ``SourceConfig`` (``spreadsheet``, ``credentials``,
    ``retries``); keyword arguments (``base_url``, ``retry``, ...) pass through."""
    if not getattr(config, "spreadsheet", None):
        raise ConfigError(
            f"source {getattr(config, 'name', '?')!r}: no `spreadsheet` (key or URL) configured"
        )
    kwargs.setdefault("retries", getattr(config, "retries", None))
    return open_spreadsheet(config.spreadsheet, getattr(config, "credentials", None), **kwargs)
