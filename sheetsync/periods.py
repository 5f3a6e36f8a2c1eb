"""Reporting periods: parse what people write ("Jan 2024", "2026-Q3", "FY27 H1",
"2026-W48") into canonical labels, and give each label its first and last day.

Canonical labels: ``2026-01`` (month), ``2026-Q3``, ``2026-H1``, ``2026`` (year),
``2026-W48`` (ISO week), ``FY2027``, ``FY2027-Q1``, ``FY2027-H1`` (fiscal; a fiscal
year is named after the calendar year in which it ends).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

MONTHS = {
    name.lower(): i
    for i in range(1, 13)
    for name in (calendar.month_name[i], calendar.month_abbr[i], calendar.month_abbr[i] + ".")
}
MONTHS["sept"] = 9

_YEAR = r"(?P<y>\d{4}|'?\d{2})"
_PATTERNS = [
    (re.compile(r"^(?P<y>\d{4})[-/. ](?P<m>\d{1,2})$"), "month"),
    (re.compile(r"^(?P<m>\d{1,2})[-/. ](?P<y>\d{4})$"), "month"),
    (re.compile(r"^(?P<mn>[a-z]+\.?)[-/ ,]*" + _YEAR + r"$"), "month_name"),
    (re.compile(r"^" + _YEAR + r"[-/ ,]*(?P<mn>[a-z]+\.?)$"), "month_name"),
    (re.compile(r"^(?P<y>\d{4})[- ]?q(?P<q>[1-4])$"), "quarter"),
    (re.compile(r"^q(?P<q>[1-4])[-/ ,]*" + _YEAR + r"$"), "quarter"),
    (re.compile(r"^(?P<y>\d{4})[- ]?h(?P<h>[12])$"), "half"),
    (re.compile(r"^h(?P<h>[12])[-/ ,]*" + _YEAR + r"$"), "half"),
    (re.compile(r"^(?P<y>\d{4})[- ]?w(?P<w>\d{1,2})$"), "week"),
    (re.compile(r"^w(?:eek)?[- ]?(?P<w>\d{1,2})[-/ ,]*(?P<y>\d{4})$"), "week"),
    (re.compile(r"^(?:cy)?[- ]?(?P<y>\d{4})$"), "year"),  # "FY2027" is fiscal, below
    (re.compile(r"^fy[- ]?" + _YEAR + r"$"), "fy"),
    (re.compile(r"^fy[- ]?" + _YEAR + r"[-/ ,]*(?P<part>[qh][1-4])$"), "fy_part"),
    (re.compile(r"^(?P<part>[qh][1-4])[-/ ,]*fy[- ]?" + _YEAR + r"$"), "fy_part"),
]


def _year(text: str) -> int:
    text = text.lstrip("'")
    y = int(text)
    return 2000 + y if y < 100 else y


def parse_period(value: object) -> str | None:
    """Canonical label for a period cell value, or None when it is not a period."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return period_of(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{int(value)}" if float(value).is_integer() and 1900 <= value <= 2999 else None
    if not isinstance(value, str):
        return None
    text = " ".join(value.strip().lower().split())
    for pattern, kind in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        g = m.groupdict()
        if kind == "month":
            y, mo = int(g["y"]), int(g["m"])
            return f"{y:04d}-{mo:02d}" if 1 <= mo <= 12 else None
        if kind == "month_name":
            mo = MONTHS.get(g["mn"].rstrip("."))
            if mo is None:
                continue  # "fy27" is not a month
            return f"{_year(g['y']):04d}-{mo:02d}"
        if kind == "quarter":
            return f"{_year(g['y']):04d}-Q{g['q']}"
        if kind == "half":
            return f"{_year(g['y']):04d}-H{g['h']}"
        if kind == "week":
            w, y = int(g["w"]), int(g["y"])
            return f"{y:04d}-W{w:02d}" if 1 <= w <= date(y, 12, 28).isocalendar()[1] else None
        if kind == "year":
            return f"{int(g['y']):04d}"
        if kind == "fy":
            return f"FY{_year(g['y']):04d}"
        if kind == "fy_part":
            part = g["part"].upper()
            if part[0] == "H" and part[1] not in "12":
                return None
            return f"FY{_year(g['y']):04d}-{part}"
    return None


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _add_months(y: int, m: int, n: int) -> tuple[int, int]:
    i = y * 12 + (m - 1) + n
    return i // 12, i % 12 + 1


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return date(day.year, day.month, 1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return _month_end(day.year, day.month)


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    y, m = _add_months(day.year, day.month, 1)
    return date(y, m, 1)


def _span(y: int, m: int, months: int) -> tuple[date, date]:
    ey, em = _add_months(y, m, months - 1)
    return date(y, m, 1), _month_end(ey, em)


def period_bounds(label: str, fy_start_month: int = 1) -> tuple[date, date]:
    """First and last day (inclusive) of a canonical period label."""
    if label.startswith("FY"):
        fy, _, part = label[2:].partition("-")
        # FY2027 ends in 2027: it starts fy_start_month of 2026 (or Jan 2027 when it is 1).
        y, m = (int(fy), 1) if fy_start_month == 1 else (int(fy) - 1, fy_start_month)
        if not part:
            return _span(y, m, 12)
        size = 3 if part[0] == "Q" else 6
        y, m = _add_months(y, m, size * (int(part[1]) - 1))
        return _span(y, m, size)
    y = int(label[:4])
    rest = label[5:]
    if not rest:
        return _span(y, 1, 12)
    if rest[0] == "Q":
        return _span(y, 3 * int(rest[1]) - 2, 3)
    if rest[0] == "H":
        return _span(y, 6 * int(rest[1]) - 5, 6)
    if rest[0] == "W":
        start = date.fromisocalendar(y, int(rest[1:]), 1)
        return start, start + timedelta(days=6)
    return _span(y, int(rest), 1)


def period_of(day: date, kind: str = "month") -> str:
    """Canonical label of the ISO week or calendar month/quarter/year that contains ``day``."""
    if kind == "week":
        y, w, _ = day.isocalendar()
        return f"{y:04d}-W{w:02d}"
    if kind == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if kind == "year":
        return f"{day.year:04d}"
    return f"{day.year:04d}-{day.month:02d}"


def fiscal_year(day: date, fy_start_month: int = 1) -> tuple[str, date, date]:
    """Label and bounds of the fiscal year containing ``day`` (``2026``, or ``FY2027``
    for the year from April 2026 to March 2027)."""
    if fy_start_month == 1:
        label = f"{day.year:04d}"
    else:
        end_year = day.year + 1 if day.month >= fy_start_month else day.year
        label = f"FY{end_year:04d}"
    start, end = period_bounds(label, fy_start_month)
    return label, start, end


WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
WEEKDAYS.update({name.lower(): i for i, name in enumerate(calendar.day_abbr)})


def weekday_number(name: str) -> int:
    """0 for Monday … 6 for Sunday, from a day's English name or abbreviation."""
    try:
        return WEEKDAYS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"{name!r} is not a day of the week (expected e.g. Sunday)") from None


def last_week_end(today: date, week_ends: int = 6) -> date:
    """The last day of the last *complete* reporting week before ``today``.

    Weeks end on ``week_ends`` (0 Monday … 6 Sunday). On a Monday with weeks
    ending on Sunday that is yesterday; on the Sunday itself the week is not
    over yet, so it is the Sunday before.
    """
    back = (today.weekday() - week_ends - 1) % 7 + 1
    return today - timedelta(days=back)
