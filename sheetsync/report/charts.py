"""The report's charts: hand-built inline SVG (attainment bars, periods, cumulative, timelines).

Vector in the PDF, ~25 ms per chart. Everything a colour says is also said by a
pattern or a label, so a black-and-white print loses nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup, escape

from .. import metrics as m
from ..formatting import Formatter
from ..metrics import RagSettings
from ..periods import month_end, month_start, next_month
from .context import MilestoneRow, RepRow, TeamRow

_FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


def _t(x: float, y: float, text: str, size: float = 9, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{escape(text)}</text>"
    )


def _patterns(prefix: str) -> str:
    """Fills that survive grey-scale printing: solid (green), hatched (amber), dense cross (red)."""
    return (
        "<defs>"
        f'<pattern id="{prefix}-amber" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="5" height="5" fill="#fff3d6"/>'
        '<line x1="0" y1="0" x2="0" y2="5" stroke="#b26a00" stroke-width="2.2"/></pattern>'
        f'<pattern id="{prefix}-red" width="4" height="4" patternUnits="userSpaceOnUse">'
        '<rect width="4" height="4" fill="#b71c1c"/>'
        '<path d="M0 0L4 4M4 0L0 4" stroke="#ffffff" stroke-width="0.9"/></pattern>'
        f'<pattern id="{prefix}-grey" width="4" height="4" patternUnits="userSpaceOnUse">'
        '<rect width="4" height="4" fill="#ffffff"/><circle cx="2" cy="2" r="0.8" fill="#777"/>'
        "</pattern></defs>"
    )


def _fill(prefix: str, rag: str, green: str = "#2e7d32") -> str:
    if rag == m.GREEN:
        return green
    return f"url(#{prefix}-{rag if rag in (m.AMBER, m.RED) else 'grey'})"


def _legend(items: list[tuple[str, str]], x: float, y: float) -> str:
    out, cx = [], x
    for fill, label in items:
        out.append(
            f'<rect x="{cx:.1f}" y="{y - 8:.1f}" width="14" height="9" fill="{fill}" '
            'stroke="#333" stroke-width="0.5"/>'
        )
        out.append(_t(cx + 18, y, label, 8))
        cx += 26 + len(label) * 4.6
    return "".join(out)


def _svg(width: float, height: float, body: str, label: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(label)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" {_FONT} fill="#1a1a1a">{body}</svg>'
    )


def _fit(text: str, chars: int, size: float) -> float:
    """The font size at which ``text`` fits where ``chars`` characters of ``size`` do:
    a long label is set smaller, never cut."""
    return size if len(text) <= chars else max(4.5, size * chars / len(text))


def _wrapped_label(x: float, y: float, text: str, chars: int, size: float) -> str:
    """A row label right-aligned at ``x``, its baseline at ``y``: one line when it
    fits ``chars`` characters of ``size``, else two lines a little smaller (set
    smaller still only if the longer line does not fit either); never cut."""
    if len(text) <= chars:
        return _t(x, y, text, size, "end")
    words, first = text.split(), ""
    while words and len(f"{first} {words[0]}".strip()) <= chars * 1.1:
        first = f"{first} {words.pop(0)}".strip()
    second = " ".join(words)
    if not first:  # one long word
        first, second = text[: len(text) // 2], text[len(text) // 2 :]
    small = size * 0.88
    fit = min(_fit(first, int(chars * 1.1), small), _fit(second, int(chars * 1.1), small))
    return _t(x, y - fit * 0.55, first, fit, "end") + _t(x, y + fit * 0.6, second, fit, "end")


def svg_rep_attainment(
    reps: Sequence[RepRow], fmt: Formatter, rag: RagSettings, prefix: str
) -> Markup:
    """Horizontal bars: each rep's year-to-date attainment, a solid line at quota
    (100 %), a dashed tick where a straight line says they should be by now (left
    out where it falls on the quota line, as at a period's end). The figures stand
    in a column of their own right of the plot, so no line ever crosses one."""
    if not reps:
        return Markup("")
    width, label_w, row_h, top = 680, 150, 17, 34
    right = 64
    vals = [r.ytd.attainment or 0.0 for r in reps]
    exp = [m.ratio(r.ytd.expected, r.ytd.target_to_date) or 0.0 for r in reps]
    scale_max = min(max(1.25, *(v * 1.05 for v in vals)), 2.5)
    plot_w = width - label_w - right

    def x(v: float) -> float:
        return label_w + plot_w * min(max(v, 0.0), scale_max) / scale_max

    h = top + row_h * len(reps) + 22
    out = [_patterns(prefix)]
    out.append(
        _legend(
            [
                ("#2e7d32", f"pace ≥ {rag.green_at:.0%}"),
                (f"url(#{prefix}-amber)", f"pace {rag.amber_at:.0%}–{rag.green_at:.0%}"),
                (f"url(#{prefix}-red)", f"pace < {rag.amber_at:.0%}"),
            ],
            label_w,
            12,
        )
    )
    ticks = [abs(e - 1.0) >= 0.01 and e > 0 for e in exp]
    if any(ticks):
        out.append(
            f'<line x1="{width - 200}" y1="8" x2="{width - 186}" y2="8" stroke="#1a1a1a" '
            'stroke-width="1.4" stroke-dasharray="3 2"/>'
        )
        out.append(_t(width - 182, 11, "expected by now", 8))
    out.append(
        f'<line x1="{width - 96}" y1="8" x2="{width - 82}" y2="8" stroke="#1a1a1a" stroke-width="1.6"/>'
    )
    out.append(_t(width - 78, 11, "quota", 8))
    # grid
    step = 0.25 if scale_max <= 1.5 else 0.5
    g = 0.0
    while g <= scale_max + 1e-9:
        gx = x(g)
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{h - 20}" stroke="#d0d0d0" '
            'stroke-width="0.5"/>'
        )
        out.append(_t(gx, h - 8, fmt.pct(g), 7.5, "middle", fill="#5f6368"))
        g += step
    for i, (r, v, e, tick) in enumerate(zip(reps, vals, exp, ticks, strict=True)):
        y = top + i * row_h
        out.append(_t(label_w - 6, y + 11, r.rep, _fit(r.rep, 26, 8.5), "end"))
        out.append(
            f'<rect x="{label_w}" y="{y + 2:.1f}" width="{x(v) - label_w:.1f}" height="{row_h - 5}" '
            f'fill="{_fill(prefix, r.ytd.rag.status)}" stroke="#333" stroke-width="0.4"/>'
        )
        if tick:
            ex = x(e)
            out.append(
                f'<line x1="{ex:.1f}" y1="{y:.1f}" x2="{ex:.1f}" y2="{y + row_h - 1:.1f}" '
                'stroke="#1a1a1a" stroke-width="1.4" stroke-dasharray="3 2"/>'
            )
        over = " ▸" if v > scale_max else ""
        out.append(_t(width - 4, y + 11, fmt.pct(v) + over, 8.5, "end", font_weight="bold"))
    qx = x(1.0)
    out.append(
        f'<line x1="{qx:.1f}" y1="{top - 6}" x2="{qx:.1f}" y2="{h - 20}" stroke="#1a1a1a" stroke-width="1.6"/>'
    )
    return _svg(width, h, "".join(out), "Year-to-date attainment by rep against quota")


def svg_team_attainment(
    teams: Sequence[TeamRow], fmt: Formatter, rag: RagSettings, prefix: str
) -> Markup:
    rows = [RepRow(t.team, t.team, None, t.period, t.ytd) for t in teams if t.ytd is not None]
    svg = svg_rep_attainment(rows, fmt, rag, prefix)
    return Markup(str(svg).replace("by rep", "by team"))


def svg_periods(q: m.QuotaStanding, fmt: Formatter, prefix: str, height: int = 200) -> Markup:
    """Per quota period: the quota as a hollow bar, closed as a solid bar inside it
    with its variance written above (+ over, − under), the run-rate forecast of the
    periods to come as a dotted band, and a labelled as-of marker. Legible in grey."""
    totals = q.by_period()
    if not totals:
        return Markup("")
    y = q.ytd
    top_v = max(max(t.quota, t.closed or 0.0, t.forecast or 0.0) for t in totals) * 1.18 or 1.0
    width, left, right, top, bottom = 680, 56, 10, 34, 30
    pw, ph = width - left - right, height - top - bottom
    slot = pw / len(totals)
    bw = min(slot * 0.7, 48)

    def Y(v: float) -> float:
        return top + ph * (1 - v / top_v)

    out = [_patterns(prefix)]
    out.append(
        _legend(
            [
                ("#ffffff", "quota"),
                ("#1f4e78", "closed"),
                (f"url(#{prefix}-grey)", "run-rate forecast"),
            ],
            left,
            10,
        )
    )
    mag = 10 ** math.floor(math.log10(top_v / 4)) if top_v > 0 else 1
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if top_v / (s * mag) <= 4.5)
    v = 0.0
    while v <= top_v:
        out.append(
            f'<line x1="{left}" y1="{Y(v):.1f}" x2="{left + pw}" y2="{Y(v):.1f}" '
            'stroke="#e0e0e0" stroke-width="0.6"/>'
        )
        out.append(_t(left - 5, Y(v) + 3, fmt.money_short(v), 7, "end", fill="#5f6368"))
        v += step
    covered = y.covered if y else None
    for i, t in enumerate(totals):
        cx = left + slot * (i + 0.5)
        x0 = cx - bw / 2
        out.append(
            f'<rect x="{x0:.1f}" y="{Y(t.quota):.1f}" width="{bw:.1f}" '
            f'height="{Y(0) - Y(t.quota):.1f}" fill="#ffffff" stroke="#333" stroke-width="0.9"/>'
        )
        if t.closed is not None:
            inner = bw * 0.55
            out.append(
                f'<rect x="{cx - inner / 2:.1f}" y="{Y(t.closed):.1f}" width="{inner:.1f}" '
                f'height="{Y(0) - Y(t.closed):.1f}" fill="#1f4e78"/>'
            )
            var = t.variance or 0.0
            label = ("+" if var >= 0 else "−") + fmt.money_short(abs(var))
            ytxt = min(Y(t.quota), Y(t.closed)) - 3
            out.append(
                _t(cx, ytxt, label, 8.2, "middle", font_weight="bold",
                   fill="#b71c1c" if var < 0 else "#1b5e20")
            )  # fmt: skip
        elif t.forecast is not None:
            inner = bw * 0.55
            out.append(
                f'<rect x="{cx - inner / 2:.1f}" y="{Y(t.forecast):.1f}" width="{inner:.1f}" '
                f'height="{Y(0) - Y(t.forecast):.1f}" fill="url(#{prefix}-grey)" stroke="#555" '
                'stroke-width="0.6" stroke-dasharray="2 1.5"/>'
            )
            fvar = t.forecast - t.quota  # the forecast's variance, in the same notation
            ftop = min(Y(t.quota), Y(t.forecast)) - 3
            out.append(
                _t(cx, ftop, ("+" if fvar >= 0 else "−") + fmt.money_short(abs(fvar)), 8.2,
                   "middle", font_weight="bold", fill="#5f6368")
            )  # fmt: skip
            out.append(
                _t(
                    cx,
                    ftop - 10,
                    "forecast",
                    7.5,
                    "middle",
                    fill="#5f6368",
                )
            )
        out.append(_t(cx, Y(0) + 11, fmt.month_short(t.start), 7.5, "middle", fill="#5f6368"))
    if covered is not None:
        idx = next((i for i, t in enumerate(totals) if t.end >= covered), len(totals) - 1)
        t = totals[idx]
        frac = m.elapsed_fraction(t.start, t.end, covered)
        mx = left + slot * (idx + frac)
        out.append(
            f'<line x1="{mx:.1f}" y1="{top - 6}" x2="{mx:.1f}" y2="{Y(0):.1f}" stroke="#1a1a1a" '
            'stroke-width="0.9" stroke-dasharray="4 2"/>'
        )
        out.append(_t(mx, Y(0) + 22, f"actuals through {fmt.day(covered)}", 7, "middle"))
    return _svg(width, height, "".join(out), "Closed against quota per period, with variance")


def svg_cumulative(q: m.QuotaStanding, fmt: Formatter, prefix: str, height: int = 230) -> Markup:
    """Cumulative closed (solid, dots) against the cumulative quota line (dashed)
    over the fiscal year, with the run-rate projection (dotted) to the last
    quota period. Closed is drawn through the day actuals are entered to."""
    y = q.ytd
    assert y is not None
    ystart, yend = q.year_start, q.year_end
    # one part per period (every rep's quota summed): 12 parts, not 6,000
    parts = [(t.start, t.end, t.quota, t.closed) for t in q.by_period()]
    if not parts:
        return Markup("")
    as_of = y.covered or q.as_of
    # x positions: every month end of the year
    ticks: list[date] = []
    d = ystart
    while d <= yend:
        ticks.append(month_end(d))
        d = next_month(d)

    def target_at(day: date) -> float:
        return sum(m.straight_line(t, s, e, day) for s, e, t, _ in parts)

    ends = sorted({e for s, e, _, _ in parts if e <= as_of} | {min(as_of, yend)})

    def closed_at(day: date) -> float:
        # periods are credited when they end; the running one is credited as of as_of
        return sum((c or 0.0) for s, e, _, c in parts if e <= day or (s <= day and day == as_of))

    actual_pts = [(ystart - timedelta(days=1), 0.0)] + [(e, closed_at(e)) for e in ends]
    target_total = target_at(yend)
    closed_now = y.actual
    proj = y.projection
    ymax = max(target_total, proj or 0.0, closed_now) * 1.08 or 1.0

    width, left, right, top, bottom = 680, 64, 96, 22, 28
    f = _Frame(left, top, width - left - right, height - top - bottom, ystart,
               m.days_inclusive(ystart, yend), ymax)  # fmt: skip
    tpts = [(ystart - timedelta(days=1), 0.0)] + [(tday, target_at(tday)) for tday in ticks]
    # the gap between the quota line and what closed, hatched
    gap_pts = [(dd, vv) for dd, vv in actual_pts] + [
        (dd, target_at(dd)) for dd, _ in reversed(actual_pts)
    ]
    projected = proj if proj is not None and as_of < y.end else None
    out = _cumulative_axes(f, ticks, fmt, height - bottom)
    if projected is not None:
        out += _forecast_band(f, as_of, y.end)
    out += _quota_line(f, tpts, gap_pts, prefix)
    if projected is not None:
        out.append(
            f'<line x1="{f.X(as_of):.1f}" y1="{f.Y(closed_now):.1f}" x2="{f.X(y.end):.1f}" '
            f'y2="{f.Y(projected):.1f}" '
            'stroke="#1f4e78" stroke-width="1.4" stroke-dasharray="1.5 2.5"/>'
        )
    out += _closed_line(f, actual_pts)
    out += _as_of_marker(f, min(q.as_of, yend), as_of, closed_now, target_at(as_of), fmt)
    out += _cumulative_labels(f, target_total, closed_now, projected, fmt)
    out += _cumulative_legend(left, prefix)
    return _svg(width, height, "".join(out), "Cumulative closed against quota")


@dataclass(frozen=True)
class _Frame:
    """The cumulative chart's plot area: the year's days across, money up to ``ymax``."""

    left: int
    top: int
    pw: int
    ph: int
    ystart: date
    total_days: int
    ymax: float

    def X(self, day: date) -> float:
        return self.left + self.pw * ((day - self.ystart).days + 1) / self.total_days

    def Y(self, v: float) -> float:
        return self.top + self.ph * (1 - v / self.ymax)

    def points(self, pts: Sequence[tuple[date, float]]) -> str:
        return " ".join(f"{self.X(dd):.1f},{self.Y(vv):.1f}" for dd, vv in pts)


def _cumulative_axes(f: _Frame, ticks: Sequence[date], fmt: Formatter, base: float) -> list[str]:
    """The money grid up the left, the month names under ``base``, the x axis."""
    left, top, pw, ph, ymax = f.left, f.top, f.pw, f.ph, f.ymax
    out = []
    mag = 10 ** math.floor(math.log10(ymax / 4)) if ymax > 0 else 1
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if ymax / (s * mag) <= 5.5)
    v = 0.0
    while v <= ymax:
        out.append(
            f'<line x1="{left}" y1="{f.Y(v):.1f}" x2="{left + pw}" y2="{f.Y(v):.1f}" stroke="#e0e0e0" stroke-width="0.6"/>'
        )
        out.append(_t(left - 6, f.Y(v) + 3, fmt.money_short(v), 7.5, "end", fill="#5f6368"))
        v += step
    for tday in ticks:
        out.append(
            _t(
                f.X(tday) - pw / len(ticks) / 2,
                base + 14,
                fmt.month_short(tday),
                7.5,
                "middle",
                fill="#5f6368",
            )
        )
    out.append(
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#555" stroke-width="0.8"/>'
    )
    return out


def _quota_line(
    f: _Frame,
    tpts: Sequence[tuple[date, float]],
    gap_pts: Sequence[tuple[date, float]],
    prefix: str,
) -> list[str]:
    """The cumulative quota line (dashed), and the gap under it to what closed, hatched."""
    out = []
    out.append(
        '<polyline fill="none" stroke="#1a1a1a" stroke-width="1.6" stroke-dasharray="6 3" points="'
        + f.points(tpts)
        + '"/>'
    )
    out.append(
        f'<defs><pattern id="{prefix}-gap" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="#b26a00" '
        'stroke-width="1.2"/></pattern></defs>'
    )
    out.append(
        f'<polygon fill="url(#{prefix}-gap)" stroke="none" points="' + f.points(gap_pts) + '"/>'
    )
    return out


def _closed_line(f: _Frame, actual_pts: Sequence[tuple[date, float]]) -> list[str]:
    """What closed, cumulative: a solid line with a dot per point."""
    out = []
    out.append(
        '<polyline fill="none" stroke="#1f4e78" stroke-width="2.4" points="'
        + f.points(actual_pts)
        + '"/>'
    )
    for dd, vv in actual_pts[1:]:
        out.append(
            f'<circle cx="{f.X(dd):.1f}" cy="{f.Y(vv):.1f}" r="2.6" fill="#1f4e78" stroke="#fff" stroke-width="0.6"/>'
        )
    return out


def _forecast_band(f: _Frame, start: date, end: date) -> list[str]:
    """The forecast's stretch of the year, from the day actuals run to, shaded and named."""
    x0, x1 = f.X(start), f.X(end)
    out = [
        f'<rect x="{x0:.1f}" y="{f.top}" width="{max(x1 - x0, 0):.1f}" height="{f.ph}" '
        'fill="#ececec" stroke="none"/>'
    ]
    if x1 - x0 >= 36:
        out.append(_t((x0 + x1) / 2, f.top + 9, "forecast", 7.5, "middle", fill="#5f6368"))
    return out


def _as_of_marker(
    f: _Frame, day: date, covered: date, closed: float, expected: float, fmt: Formatter
) -> list[str]:
    """The report's day as a labelled line, and the gap to the quota line there in figures."""
    x = f.X(day)
    out = [
        f'<line x1="{x:.1f}" y1="{f.top}" x2="{x:.1f}" y2="{f.top + f.ph}" stroke="#1a1a1a" '
        'stroke-width="0.8" stroke-dasharray="3 2"/>',
        _t(
            x - 4,
            f.top + 9,
            f"as of {fmt.day(day)}",
            7.5,
            "end",
            fill="#1a1a1a",
            font_weight="bold",
        ),
    ]
    gap = closed - expected
    if abs(gap) >= 0.5:  # in the empty upper left, where no line runs
        label = ("+" if gap > 0 else "−") + fmt.money_short(abs(gap))
        out.append(
            _t(f.left + 8, f.top + 12, f"gap to the quota line on {fmt.day(covered)}: {label}", 8.5,
               fill="#b26a00", font_weight="bold")
        )  # fmt: skip
    return out


def _cumulative_labels(
    f: _Frame, target_total: float, closed_now: float, proj: float | None, fmt: Formatter
) -> list[str]:
    """The end labels right of the plot (quota, closed, projected), kept apart."""
    labels = [(f.Y(target_total), f"Quota {fmt.money_short(target_total)}", "#1a1a1a")]
    labels.append((f.Y(closed_now), f"Closed {fmt.money_short(closed_now)}", "#1f4e78"))
    if proj is not None:
        labels.append((f.Y(proj), f"Projected {fmt.money_short(proj)}", "#1f4e78"))
    labels.sort()
    out = []
    last_y = -100.0
    for ly, text, color in labels:
        ly = max(ly + 3, last_y + 11)
        last_y = ly
        out.append(_t(f.left + f.pw + 6, ly, text, 8, fill=color, font_weight="bold"))
    return out


def _cumulative_legend(left: int, prefix: str) -> list[str]:
    out = []
    out.append(
        f'<line x1="{left}" y1="9" x2="{left + 18}" y2="9" stroke="#1f4e78" stroke-width="2.4"/>'
    )
    out.append(_t(left + 22, 12, "closed (cumulative)", 8))
    out.append(
        f'<line x1="{left + 130}" y1="9" x2="{left + 148}" y2="9" stroke="#1a1a1a" stroke-width="1.6" stroke-dasharray="6 3"/>'
    )
    out.append(_t(left + 152, 12, "quota (cumulative)", 8))
    out.append(
        f'<line x1="{left + 260}" y1="9" x2="{left + 278}" y2="9" stroke="#1f4e78" stroke-width="1.4" stroke-dasharray="1.5 2.5"/>'
    )
    out.append(_t(left + 282, 12, "run-rate forecast", 8))
    out.append(
        f'<rect x="{left + 390}" y="4" width="14" height="9" fill="url(#{prefix}-gap)" stroke="#333" stroke-width="0.5"/>'
    )
    out.append(_t(left + 408, 12, "gap to the quota line", 8))
    return out


def svg_timeline(
    rows: Sequence[MilestoneRow],
    project: Mapping[str, Any],
    as_of: date,
    fmt: Formatter,
    prefix: str,
) -> Markup:
    """One row per milestone: a bar from start to due (a diamond when there is no
    start), filled by category; a vertical line marks the report's day."""
    dated = [r for r in rows if r.due]
    if not dated:
        return Markup("")
    lo = min([r.start or r.due for r in dated] + [as_of])  # type: ignore[type-var]
    hi = max([r.due for r in dated] + [as_of])  # type: ignore[type-var]
    lo = month_start(lo)
    hi = month_end(hi)
    span = max((hi - lo).days + 1, 1)
    width, label_w, right, top = 680, 210, 14, 40
    row_h = 18 if any(len(f"{r.key} {r.name}") > 46 for r in dated) else 15  # room for 2 lines
    pw = width - label_w - right
    h = top + row_h * len(dated) + 4

    def X(day: date) -> float:
        return label_w + pw * ((day - lo).days) / span

    fills = {
        m.DONE: "#cfcfcf",
        m.NOT_STARTED: "#ffffff",
        m.ON_TRACK: "#2e7d32",
        m.AT_RISK: f"url(#{prefix}-amber)",
        m.LATE: f"url(#{prefix}-red)",
    }
    out = [_patterns(prefix)]
    out.append(
        _legend(
            [
                (fills[c], m.CATEGORY_LABELS[c])
                for c in (m.LATE, m.AT_RISK, m.ON_TRACK, m.NOT_STARTED, m.DONE)
            ],
            label_w,
            10,
        )
    )
    # month ticks
    d = lo
    months = []
    while d <= hi:
        months.append(d)
        d = next_month(d)
    every = max(1, math.ceil(len(months) / 12))
    for i, d in enumerate(months):
        out.append(
            f'<line x1="{X(d):.1f}" y1="{top - 12}" x2="{X(d):.1f}" y2="{h}" stroke="#e3e3e3" stroke-width="0.6"/>'
        )
        if i % every == 0:
            label = fmt.month_short(d) + (f" {d.year}" if d.month == 1 or i == 0 else "")
            out.append(_t(X(d) + 2, top - 4, label, 7, fill="#5f6368"))
    for i, r in enumerate(dated):
        y = top + i * row_h
        out.append(_wrapped_label(label_w - 6, y + row_h / 2 + 2.5, f"{r.key} {r.name}", 46, 7.5))
        fill = fills[r.category]
        if r.start and r.start <= r.due:  # type: ignore[operator]
            x0, x1 = X(r.start), X(r.due + timedelta(days=1))  # type: ignore[operator]
            out.append(
                f'<rect x="{x0:.1f}" y="{y + 2:.1f}" width="{max(x1 - x0, 2):.1f}" height="{row_h - 5}" '
                f'fill="{fill}" stroke="#333" stroke-width="0.4"/>'
            )
        xd = X(r.due)  # type: ignore[arg-type]
        yc = y + row_h / 2 - 0.5
        out.append(
            f'<path d="M{xd:.1f} {yc - 5:.1f}L{xd + 4:.1f} {yc:.1f}L{xd:.1f} {yc + 5:.1f}L{xd - 4:.1f} {yc:.1f}Z" '
            f'fill="{fill if not (r.start and r.start <= r.due) else "#ffffff"}" stroke="#1a1a1a" stroke-width="0.7"/>'
        )
    xa = X(as_of)
    out.append(
        f'<line x1="{xa:.1f}" y1="{top - 12}" x2="{xa:.1f}" y2="{h + 2}" stroke="#1a1a1a" stroke-width="1" stroke-dasharray="2 2"/>'
    )
    label = f"as of {fmt.day(as_of)}"
    half = len(label) * 7 * 0.3  # about half the label's width at 7 pt
    anchor, xl = ("end", xa + 2) if xa + half > width - 2 else ("middle", xa)  # never clipped
    out.append(_t(xl, h + 11, label, 7, anchor, font_weight="bold"))
    name = str(project.get("name") or project.get("key") or "")
    return _svg(width, h + 14, "".join(out), f"Milestone timeline: {name}")
