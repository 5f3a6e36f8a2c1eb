"""The weekly and executive reports, end to end: store → context → HTML → PDF → text.

Numbers in the PDF are checked against figures computed here, independently,
from the sample workbook read with openpyxl (not through sheetsync's mapping).
The model is a real SQLite store holding two versions of the sample: the week
before (a few cells changed) and the sample's day, 30 November 2026.
"""

from __future__ import annotations

import copy
import dataclasses
import http.server
import io
import re
import struct
import threading
import zlib
from collections import defaultdict
from datetime import date, datetime
from html import unescape
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from sheetsync import report
from sheetsync.config import load_config
from sheetsync.errors import ConfigError, NoDataError, RenderTimeoutError, UsageError
from sheetsync.formatting import Formatter
from sheetsync.reading import read_source
from sheetsync.report.pdf import _url_fetcher
from sheetsync.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
AS_OF = date(2026, 11, 30)


def _png_1px() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x1f\x4e\x78")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG_1PX = _png_1px()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def config():
    return load_config(SAMPLES / "sheetsync.toml")


@pytest.fixture(scope="module")
def sample_records(config):
    return read_source(config, config.select_sources()[0]).records()


def previous_week(records):
    """The sample as it stood a week earlier: a few cells differ."""
    prev = copy.deepcopy(records)
    for ms in prev["milestones"]:
        if ms["key"] == "G-06":  # partner programme: was on track, due later
            ms["status"], ms["due"] = "On track", date(2026, 11, 27)
        if ms["key"] == "G-05":  # cold calling: fewer calls, not yet at risk
            ms["status"], ms["actual_value"] = "On track", 700.0
    for q in prev["quotas"]:
        if q["rep"] == "Tom Okafor" and q["period"] == "2026-11":
            q["closed"] -= 40_000
    for b in prev["budget"]:
        if b["category"] == "Direct mail":
            b["spent"] = 44_000.0
    return prev


def load_store(path: Path, versions: list[tuple[datetime, dict]]) -> Store:
    store = Store(f"sqlite:///{path}")
    for at, records in versions:
        with store.transaction() as conn:
            for table, rows in records.items():
                store.apply(conn, table, rows, [], source="plan", at=at)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory, sample_records):
    path = tmp_path_factory.mktemp("model") / "model.db"
    s = load_store(
        path,
        [
            (datetime(2026, 11, 23, 9, 0), previous_week(sample_records)),
            (datetime(2026, 11, 30, 8, 0), sample_records),
        ],
    )
    yield s
    s.close()


@pytest.fixture(scope="module")
def weekly_pdf(store, config):
    return report.render_report(store, config, name="weekly", as_of=AS_OF)


@pytest.fixture(scope="module")
def executive_pdf(store, config):
    return report.render_report(store, config, name="executive", as_of=AS_OF)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def money(v: float) -> str:
    return f"${v:,.0f}"


def pct(v: float) -> str:
    return f"{round(v * 100)}%"


@pytest.fixture(scope="module")
def workbook_figures():
    """Quota figures straight from the workbook cells (openpyxl), not via sheetsync."""
    wb = openpyxl.load_workbook(SAMPLES / "sales_plan.xlsx", data_only=True, read_only=True)
    rows = list(wb["Quotas"].iter_rows(values_only=True))
    head = rows[0]
    col = {h: head.index(h) for h in ("Salesperson", "Team", "Month", "Target ($)", "Sales ($)")}
    per_rep = defaultdict(lambda: {"ytd_quota": 0.0, "ytd_closed": 0.0, "year_quota": 0.0})
    f = {
        "nov_quota": 0.0,
        "nov_closed": 0.0,
        "ytd_quota": 0.0,
        "ytd_closed": 0.0,
        "year_quota": 0.0,
    }
    for r in rows[1:]:
        if r[col["Salesperson"]] is None:
            continue
        month = r[col["Month"]].date() if isinstance(r[col["Month"]], datetime) else r[col["Month"]]
        quota, sales = float(r[col["Target ($)"]]), float(r[col["Sales ($)"]] or 0)
        rep = per_rep[r[col["Salesperson"]]]
        rep["first"] = min(rep.get("first", month), month)
        f["year_quota"] += quota
        rep["year_quota"] += quota
        if month <= AS_OF:
            f["ytd_quota"] += quota
            f["ytd_closed"] += sales
            rep["ytd_quota"] += quota
            rep["ytd_closed"] += sales
        if (month.year, month.month) == (2026, 11):
            f["nov_quota"] += quota
            f["nov_closed"] += sales
    f["reps"] = dict(per_rep)
    return f


# --------------------------------------------------------------------------- numbers


def test_weekly_kpis_match_the_workbook(weekly_pdf, workbook_figures):
    text = " ".join(pdf_text(weekly_pdf).split())
    f = workbook_figures
    # November: 30 Nov is the month's last day, so expected = quota and pace = attainment.
    assert f"{money(f['nov_closed'])} of {money(f['nov_quota'])}" in text
    assert pct(f["nov_closed"] / f["nov_quota"]) in text
    # Year to date: Jan-Nov quotas; all months complete on 30 Nov.
    ytd_att = f["ytd_closed"] / f["ytd_quota"]
    assert (
        f"{money(f['ytd_closed'])} of {money(f['ytd_quota'])} through November 2026 · pace {pct(ytd_att)}"
        in text
    )
    # Run-rate projection: each rep's own, from his first month with a quota (334
    # days of 365 gone for a rep there since January), added up.
    projection = sum(
        r["ytd_closed"]
        / ((AS_OF - r["first"]).days + 1)
        * ((date(2026, 12, 31) - r["first"]).days + 1)
        for r in f["reps"].values()
    )
    assert money(projection) in text
    assert f"{pct(projection / f['year_quota'])} of the {money(f['year_quota'])} quota" in text
    gap = f["year_quota"] - f["ytd_closed"]
    assert squash(f"closing it needs {money(gap / (31 / 7))} a week") in squash(text)


def test_weekly_rep_rows_match_the_workbook(weekly_pdf, workbook_figures):
    text = squash(pdf_text(weekly_pdf))
    for name, r in workbook_figures["reps"].items():
        att = r["ytd_closed"] / r["ytd_quota"]
        proj = r["ytd_closed"] / 334 * 365 if name != "Ryan Cho" else None
        gap = max(r["year_quota"] - r["ytd_closed"], 0)
        row = f"{money(r['ytd_closed'])}{pct(att)}"
        assert row in text, (name, row)
        assert squash(name) in text
        if proj is not None:
            assert money(proj) in text, name
        assert money(gap) in text, name


def test_new_hire_projects_from_the_first_day_of_the_year(sample_records, config):
    # Ryan Cho's quotas start in June: his run-rate counts from 1 June (183 days to
    # 30 Nov) and projects over his own quota months (June - December, 214 days).
    ctx = report.build_context(sample_records, {}, config, name="weekly", as_of=AS_OF)
    ryan = next(r for r in ctx.reps if r.rep == "Ryan Cho")
    assert ryan.ytd.start == date(2026, 6, 1)
    assert ryan.ytd.projection == pytest.approx(ryan.ytd.actual / 183 * 214)
    assert ryan.ytd.target_to_date == sum(
        q["quota"]
        for q in sample_records["quotas"]
        if q["rep"] == "Ryan Cho" and q["period"] <= "2026-11"
    )


def test_milestones_and_budget_headline(weekly_pdf, sample_records):
    text = " ".join(pdf_text(weekly_pdf).split())
    assert "2 late · 3 at risk" in text
    planned = sum(b["planned"] for b in sample_records["budget"])
    spent = sum(b["spent"] for b in sample_records["budget"])
    revenue = sum(b["attributed_revenue"] or 0 for b in sample_records["budget"])
    assert f"{money(spent)} of {money(planned)}" in text
    assert pct(spent / planned) in text
    assert f"spend to revenue {pct(spent / revenue)}" in text
    assert pct(spent / revenue) in text


def test_goal_checkpoints_are_paced(weekly_pdf):
    text = squash(pdf_text(weekly_pdf))
    # UPSELL: 0 -> 30 % by 31 Dec 2026 and 50 % by 31 Dec 2027, at 24 now.
    expected_1y = 30 * 334 / 365
    expected_2y = 50 * 334 / 730
    assert squash(f"30% of customers upgraded Dec 31, 2026 30% {expected_1y:.1f}% 24%") in text
    assert squash(f"{pct(24 / expected_1y)}") in text
    assert squash(f"50% of customers upgraded Dec 31, 2027 50% {expected_2y:.1f}% 24%") in text
    assert squash(pct(24 / expected_2y)) in text


def test_exception_first_sections(weekly_pdf):
    text = pdf_text(weekly_pdf)
    first_page = " ".join(PdfReader(io.BytesIO(weekly_pdf)).pages[0].extract_text().split())
    assert first_page.index("Year to date 94% of plan") < first_page.index("What needs a decision")
    assert "In-app upgrade prompts live" in first_page  # late
    assert "Tom Okafor" in first_page  # furthest behind pace
    assert "Needs attention" in first_page
    assert "Direct mail" in text  # over plan, listed under "Needs attention"
    assert text.index("Needs attention") < text.index("What changed") < text.index("Quotas:")


def test_what_changed_since_last_week(weekly_pdf):
    text = pdf_text(weekly_pdf)
    assert "What changed since Nov 23, 2026" in text
    flat = " ".join(text.split())
    assert "status On track → Late" in flat
    assert "due Nov 27, 2026 → Nov 13, 2026" in flat  # one date style, with its year
    assert "progress 47% → 61%" in flat  # G-05: 700 → 910 of 1,500 calls
    assert "now $7,300 over plan" in flat  # new budget risk
    # Tom Okafor closed 40,000 more this week: the biggest attainment move
    assert "+$40,000" in flat


def test_without_a_previous_snapshot(sample_records, config):
    ctx = report.build_context(sample_records, {}, config, name="weekly", as_of=AS_OF)
    assert not ctx.changes.has_previous
    html = report.render_html(ctx, config)
    assert "no snapshot from a week earlier" in html


def test_executive_is_one_page(executive_pdf):
    reader = PdfReader(io.BytesIO(executive_pdf))
    assert len(reader.pages) == 1
    text = pdf_text(executive_pdf)
    assert "Executive summary" in text and "What needs a decision" in text and "Projects" in text
    assert "How to read this report" in text and "Delivery: Red from 2 late" in " ".join(
        text.split()
    )


def test_weekly_is_a_few_pages(weekly_pdf):
    assert len(PdfReader(io.BytesIO(weekly_pdf)).pages) <= 8


def test_rag_rules_in_the_footnote(store, config):
    strict = dataclasses.replace(
        config, rag=dataclasses.replace(config.rag, green_at=1.0, amber_at=0.9)
    )
    html = report.render_report(store, strict, name="executive", as_of=AS_OF, fmt="html")
    flat = " ".join(unescape(html.decode()).split())
    assert "Green: pace ≥ 100%. Amber: 90% ≤ pace < 100%. Red: pace < 90%." in flat


def test_charts_are_vector_svg(sample_records, config):
    ctx = report.build_context(sample_records, {}, config, name="weekly", as_of=AS_OF)
    html = report.render_html(ctx, config)
    assert html.count("<svg") == 5  # cumulative, per month, reps, one timeline per project
    assert "Closed against quota per period, with variance" in html
    assert "url(#ra-red)" in html and "url(#ra-amber)" in html  # patterns, not colour alone
    assert "stroke-dasharray" in html


# --------------------------------------------------------------------------- determinism


def test_same_model_same_bytes(store, config, weekly_pdf):
    again = report.render_report(store, config, name="weekly", as_of=AS_OF)
    assert again == weekly_pdf
    info = PdfReader(io.BytesIO(weekly_pdf)).metadata
    assert info["/CreationDate"].startswith("D:20261130")
    assert info["/ModDate"].startswith("D:20261130")


def test_as_of_changes_the_report(store, config, executive_pdf):
    other = report.render_report(store, config, name="executive", as_of=date(2026, 11, 29))
    assert other != executive_pdf
    assert "As of Nov 29, 2026" in pdf_text(other)


# --------------------------------------------------------------------------- safety

HOSTILE = {
    "img": '<img src="file:///etc/passwd">',
    "jinja": "{{ 7*7 }}",
    "style": "</style><style>*{display:none}</style>",
    "css": "url(http://127.0.0.1:9/x.png)",
    "script": "<script>alert(1)</script>",
}


@pytest.fixture
def hostile_records(sample_records):
    recs = copy.deepcopy(sample_records)
    ms = {m["key"]: m for m in recs["milestones"]}
    ms["U-04"]["name"] = HOSTILE["img"]  # late: shown on page 1
    ms["G-06"]["name"] = HOSTILE["jinja"]  # late
    ms["G-05"]["name"] = HOSTILE["style"]  # at risk
    recs["budget"][1]["notes"] = HOSTILE["css"]  # direct mail, over plan
    for q in recs["quotas"]:
        if q["rep"] == "Tom Okafor":
            q["rep"] = HOSTILE["script"]
    return recs


def test_untrusted_cell_text_is_literal_text(hostile_records, config):
    ctx = report.build_context(hostile_records, {}, config, name="weekly", as_of=AS_OF)
    html = report.render_html(ctx, config)
    assert '<img src="file:///etc/passwd">' not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "<script>" not in html
    text = squash(pdf_text(report.render_pdf(ctx, config)))
    for value in HOSTILE.values():
        assert squash(value) in text, value
    assert "Needsattention" in text  # nothing was hidden by injected CSS


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PNG_1PX)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    _Recorder.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_fetcher_serves_only_template_dirs_and_logo(tmp_path, sample_records, config, http_server):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "inside.png").write_bytes(PNG_1PX)
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG_1PX)
    (tdir / "weekly.html").write_text(
        '{% extends "base.html" %}{% block content %}'
        '<p>Fetch test</p><img src="inside.png" width="20">'
        f'<img src="{secret.as_uri()}" width="20"><img src="file:///etc/passwd" width="20">'
        f'<img src="{http_server}/tracker.png" width="20">'
        f'<link rel="stylesheet" href="{http_server}/x.css">'
        f'<div style="background: url({http_server}/bg.png); height: 10px"></div>'
        "{% endblock %}"
    )
    ctx = report.build_context(sample_records, {}, config, name="weekly", as_of=AS_OF)
    pdf = report.render_pdf(ctx, config, template_dirs=[tdir])
    assert _Recorder.hits == []  # no network
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    images = [k for k in page.images]
    assert len(images) == 1  # inside.png only: not secret.png, not /etc/passwd

    fetcher = _url_fetcher([tdir])
    assert fetcher.fetch((tdir / "inside.png").as_uri()).read() == PNG_1PX
    for url in (secret.as_uri(), "file:///etc/passwd", f"{http_server}/a.png",
                (tdir / ".." / "secret.png").as_uri()):  # fmt: skip
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert _Recorder.hits == []


def test_render_has_a_deadline(sample_records, config):
    ctx = report.build_context(sample_records, {}, config, name="weekly", as_of=AS_OF)
    with pytest.raises(RenderTimeoutError, match="longer than 0.05 s") as e:
        report.render_pdf(ctx, config, timeout=0.05)
    assert e.value.exit_code == 1


# --------------------------------------------------------------------------- templates


def _ctx(records, config, name="weekly"):
    return report.build_context(records, {}, config, name=name, as_of=AS_OF)


def test_user_template_extends_base_and_replaces_one_block(tmp_path, sample_records, config):
    (tmp_path / "weekly.html").write_text(
        '{% extends "base.html" %}\n{% block content %}<p>Custom body for {{ meta.company }}'
        " with {{ kpis|length }} tiles</p>{% endblock %}\n"
    )
    text = pdf_text(
        report.render_pdf(_ctx(sample_records, config), config, template_dirs=[tmp_path])
    )
    assert "Custom body for Northwind Traders with 6 tiles" in text
    assert "Weekly sales status" in text  # the base masthead is kept
    assert "How to read this report" in text  # and the footnote


def test_user_template_extends_the_builtin_report(tmp_path, sample_records, config):
    (tmp_path / "weekly.html").write_text(
        '{% extends "builtin/weekly.html" %}{% block attention %}<h2>Our own attention list</h2>'
        "{% endblock %}"
    )
    html = report.render_html(_ctx(sample_records, config), config, template_dirs=[tmp_path])
    assert "Our own attention list" in html and "Needs attention" not in html
    assert "Quotas:" in html


def test_user_report_name(tmp_path, sample_records, config):
    (tmp_path / "board.html").write_text(
        '{% extends "base.html" %}{% block content %}Board{% endblock %}'
    )
    html = report.render_html(
        _ctx(sample_records, config, "board"), config, template_dirs=[tmp_path]
    )
    assert "Board" in html
    with pytest.raises(UsageError, match="no report named 'nope'"):
        report.render_html(_ctx(sample_records, config, "nope"), config)


def test_template_syntax_error_names_file_and_line(tmp_path, sample_records, config):
    (tmp_path / "weekly.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n<p>ok</p>\n{% if %}\n{% endblock %}\n'
    )
    with pytest.raises(ConfigError) as e:
        report.render_html(_ctx(sample_records, config), config, template_dirs=[tmp_path])
    assert f"{tmp_path / 'weekly.html'}:4" in str(e.value)


def test_undefined_variable_is_an_error_with_file_and_line(tmp_path, sample_records, config):
    (tmp_path / "weekly.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n<p>{{ meta.nonexistent_field }}</p>\n'
        "{% endblock %}\n"
    )
    with pytest.raises(ConfigError) as e:
        report.render_html(_ctx(sample_records, config), config, template_dirs=[tmp_path])
    msg = str(e.value)
    assert f"{tmp_path / 'weekly.html'}:3" in msg and "nonexistent_field" in msg


def test_context_is_documented():
    doc = report.ReportContext.__doc__ or ""
    for f in dataclasses.fields(report.ReportContext):
        assert f"\n    {f.name}:" in doc, f"ReportContext docstring does not document {f.name!r}"


# --------------------------------------------------------------------------- branding & locale


def test_branding_from_config(tmp_path, sample_records, config):
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG_1PX)
    branded = dataclasses.replace(
        config,
        report=dataclasses.replace(
            config.report, company="Acme & Söhne", logo=logo, colors={"accent": "#aa0044"}
        ),
    )
    ctx = _ctx(sample_records, branded, "executive")
    html = report.render_html(ctx, branded)
    assert "Acme &amp; Söhne" in html and "--accent: #aa0044;" in html
    assert 'src="data:image/png;base64,' in html
    pdf = report.render_pdf(ctx, branded)
    assert "ACME & SÖHNE" in pdf_text(pdf)  # the masthead sets it in capitals
    assert len(list(PdfReader(io.BytesIO(pdf)).pages[0].images)) == 1

    bad = dataclasses.replace(
        config, report=dataclasses.replace(config.report, colors={"accent": "red;}body{x"})
    )
    with pytest.raises(ConfigError, match="report.colors.accent"):
        _ctx(sample_records, bad)


def test_locale_formatting(sample_records, config, workbook_figures):
    de = dataclasses.replace(
        config, report=dataclasses.replace(config.report, locale="de_DE", currency="EUR")
    )
    html = report.render_html(_ctx(sample_records, de), de)
    nov = workbook_figures["nov_closed"]
    assert f"{nov:,.0f}".replace(",", ".") + "\xa0€" in html
    assert f"{round(nov / workbook_figures['nov_quota'] * 100)}\xa0%" in html
    assert "As of <strong>30.11.2026</strong>" in html


def test_team_filter(store, config):
    html = report.render_report(store, config, as_of=AS_OF, teams=("SMB",), fmt="html").decode()
    assert "Aisha Khan" in html and "Dana Whitfield" not in html
    assert "teams: SMB" in html


def test_html_format(store, config):
    html = report.render_report(store, config, name="executive", as_of=AS_OF, fmt="html")
    assert html.startswith(b"<!DOCTYPE html>") and b"Executive summary" in html


def test_empty_or_too_early_model(tmp_path, config, sample_records):
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(NoDataError, match="empty"):
        report.render_report(empty, config, as_of=AS_OF)
    # a plan dated in the past, pulled later (the sample, run any day after 30 Nov 2026):
    # the report uses the plan as first pulled, says so, and has no week-over-week
    later = load_store(tmp_path / "later.db", [(datetime(2026, 12, 2, 8), sample_records)])
    html = report.render_report(later, config, as_of=AS_OF, fmt="html").decode()
    assert "history starts on Dec 2, 2026, after Nov 30, 2026" in html
    assert "Weekly sales status" in html


@pytest.mark.parametrize(
    "day", [date(2026, 1, 1), date(2026, 2, 14), date(2026, 12, 31), date(2027, 3, 1)]
)
def test_any_day_of_the_year_renders(sample_records, config, day):
    # First day, mid-quarter, last day, and a year with no quotas at all.
    if day.year == 2027:  # outside the data: say where it lies and what to run
        with pytest.raises(NoDataError) as e:
            report.build_context(sample_records, sample_records, config, name="weekly", as_of=day)
        assert "the plan's quotas run Jan 2026 – Dec 2026" in str(e.value)
        assert "try --as-of 2026-11-30" in str(e.value)
        return
    ctx = report.build_context(sample_records, sample_records, config, name="weekly", as_of=day)
    html = report.render_html(ctx, config)
    assert "Weekly sales status" in html
    assert ctx.ytd is not None and ctx.ytd.start == date(2026, 1, 1)


def test_cumulative_chart_labels_the_day_the_forecast_and_the_gap(weekly_pdf, sample_records):
    # issue 15: a labelled as-of marker, the forecast as its own band, the gap in figures
    text = squash(pdf_text(weekly_pdf))
    cumulative = text.split(squash("Cumulative closed against quota"), 1)[1][:900]
    assert squash("as of Nov 30, 2026") in cumulative
    assert squash("forecast") in cumulative
    closed = sum(q["closed"] or 0 for q in sample_records["quotas"] if q["period"] <= "2026-11")
    quota = sum(q["quota"] for q in sample_records["quotas"] if q["period"] <= "2026-11")
    gap = Formatter("en_US", "USD").money_short(quota - closed)
    assert squash(f"gap to the quota line on Nov 30, 2026: −{gap}") in cumulative
    # its title states the message (IBCS), not only what is drawn
    assert squash(f"2026 so far: {gap} behind the quota line, on course to finish $1.2M short") in (
        text
    )


@pytest.mark.parametrize("as_of", [date(2026, 11, 30), date(2026, 11, 16)])
def test_rep_chart_reference_lines_never_cross_a_label(as_of):
    # issue 15: the 100% line and the "expected by now" ticks stay inside the plot; each
    # rep's figure stands in a column of its own right of it (mid-period the ticks are drawn)
    import re

    from report_models import sample_context

    ctx, _ = sample_context("weekly", as_of)
    svg = str(ctx.charts.rep_attainment)
    width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))
    vertical = [
        float(a)
        for a, b in re.findall(r'<line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"', svg)
        if a == b
    ]
    figures = re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" font-size="([\d.]+)" text-anchor="end" '
        r'font-weight="bold">([^<]+)</text>',
        svg,
    )
    assert len(figures) == ctx.reps_total == 12  # the sample's reps, each with its figure
    dashed = svg.count('stroke-dasharray="3 2"')
    assert (dashed > 1) == (
        as_of.day != 30
    )  # ticks mid-period (plus the legend's), none at its end
    for x, size, text in figures:
        left_edge = float(x) - len(text) * float(size) * 0.62  # a generous glyph width
        assert max(vertical) < left_edge and float(x) <= width, (text, left_edge, max(vertical))


def test_per_month_chart_title_states_how_many_months_fell_short(weekly_pdf, sample_records):
    by_month: dict[str, list[float]] = {}
    for q in sample_records["quotas"]:
        if q["closed"] is not None and q["period"] <= "2026-11":
            t = by_month.setdefault(q["period"], [0.0, 0.0])
            t[0] += q["quota"]
            t[1] += q["closed"]
    under = {p: c - quota for p, (quota, c) in by_month.items() if c < quota}
    worst = min(under, key=under.get)
    month = date(int(worst[:4]), int(worst[5:]), 1).strftime("%B %Y")
    short = Formatter("en_US", "USD").money_short(-under[worst])
    title = f"2026: {len(under)} of {len(by_month)} months under quota, {month} the most: −{short}"
    assert squash(title) in squash(pdf_text(weekly_pdf))


def test_the_per_period_title_says_months_only_for_months():
    from sheetsync.report.build import _periods_message

    class _Standing:
        ytd = True

        def __init__(self, parts):
            self.parts = parts

        def by_period(self):
            return self.parts

    from sheetsync.metrics import PeriodTotal

    fmt = Formatter("en_US", "USD")
    q1 = PeriodTotal("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), 100.0, 90.0, None)
    q2 = PeriodTotal("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), 100.0, 120.0, None)
    assert _periods_message(_Standing([q1, q2]), fmt) == (
        f"1 of 2 periods under quota, 2026-Q1 the most: −{fmt.money_short(10)}"
    )
    jan = PeriodTotal("2026-01", date(2026, 1, 1), date(2026, 1, 31), 100.0, 100.0, None)
    assert _periods_message(_Standing([jan]), fmt) == "0 of 1 months under quota"
    assert _periods_message(None, fmt) == ""
