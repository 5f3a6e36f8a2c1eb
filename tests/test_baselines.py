"""Named baselines (issue 17): save, list, drop; report variance against one, on
SQLite and PostgreSQL, over a model of four dated pulls (tests/dated_model.py).

Against the baseline of 16 Nov: G-05 is due 23 Dec instead of 11 Dec (+12
days), U-07's target is 35 instead of 30, Marcus Bell's 2026 quota is $5,000
higher, and the budget line UPSELL / Upgrade incentives ($50,000) is gone.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import time_machine
from dated_model import invoke, run
from pg import *  # noqa: F403  (fixtures: store_url)
from pypdf import PdfReader


def text_of(pdf: Path) -> str:
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())


def test_save_list_drop(dated) -> None:
    assert run(dated, "baseline", "save", "agreed", "--as-of", "2026-11-16").exit_code == 0
    res = run(dated, "baseline", "save", "latest")
    assert res.exit_code == 0 and "the plan as of 2026-12-02" in res.output
    listed = json.loads(run(dated, "baseline", "list", "--json").stdout)
    assert [(b["name"], b["as_of"]) for b in listed] == [
        ("agreed", "2026-11-16"),
        ("latest", "2026-12-02"),
    ]
    assert listed[0]["records"]["milestones"] == 20 and listed[1]["records"]["milestones"] == 21
    again = run(dated, "baseline", "save", "agreed")
    assert again.exit_code == 1 and "a baseline named 'agreed' exists already" in again.output
    assert run(dated, "baseline", "drop", "agreed").exit_code == 0
    assert [b["name"] for b in json.loads(run(dated, "baseline", "list", "--json").stdout)] == [
        "latest"
    ]
    gone = run(dated, "baseline", "drop", "agreed")
    assert (
        gone.exit_code == 1 and "no baseline named 'agreed'; the model holds latest" in gone.output
    )
    missing = run(dated, "report", "--baseline", "nope", "--html", "-o", "x.html")
    assert missing.exit_code == 1 and "no baseline named 'nope'" in missing.output


def _variance_of(html: str) -> dict[str, str]:
    section = html[html.index('<section class="baseline">') :]
    section = section[: section.index("</section>")]
    return {"all": " ".join(re.sub(r"<[^>]+>", " ", section).split())}


def test_report_variance_against_a_baseline(dated, tmp_path: Path) -> None:
    assert run(dated, "baseline", "save", "agreed", "--as-of", "2026-11-16").exit_code == 0
    out = tmp_path / "w.html"
    res = run(dated, "report", "--as-of", "2026-12-02", "--baseline", "agreed", "--html", "-o", out)
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    v = _variance_of(html)["all"]
    assert "Against the baseline “agreed” (Nov 16, 2026)" in v
    assert "G-05 Cold-calling campaign to lapsed accounts Dec 11, 2026 Dec 23, 2026 +12 days" in v
    assert "G-11 January kickoff prep new Jan 8, 2027 —" in v
    assert "U-07 30% of customers upgraded 30 35 +5" in v
    assert re.search(r"Marcus Bell Enterprise \$[\d,]+ \$[\d,]+ \+\$5,000", v)
    assert "UPSELL / Upgrade incentives $50,000 — -$50,000" in v.replace("−", "-")
    # one column in the milestone table and one in the quota table
    assert re.search(r"<td class=\"key\">G-05</td>.*?\+12 d</td>", html, re.S)
    rep_row = re.search(r"<td class=\"nowrap\">Marcus Bell</td>.*?</tr>", html, re.S).group(0)
    assert "+$5,000" in rep_row
    # without a baseline: no section, no columns
    plain = tmp_path / "p.html"
    assert run(dated, "report", "--as-of", "2026-12-02", "--html", "-o", plain).exit_code == 0
    assert 'class="baseline"' not in plain.read_text(encoding="utf-8")
    assert "Quota vs baseline" not in plain.read_text(encoding="utf-8")


def test_config_baseline_and_pdf(dated, tmp_path: Path) -> None:
    plan, _ = dated
    assert run(dated, "baseline", "save", "agreed", "--as-of", "2026-11-16").exit_code == 0
    toml = plan / "sheetsync.toml"
    toml.write_text(
        toml.read_text().replace(
            'week_ends = "Sunday"', 'week_ends = "Sunday"\nbaseline = "agreed"'
        )
    )
    pdf = tmp_path / "w.pdf"
    assert run(dated, "report", "--as-of", "2026-12-02", "-o", pdf).exit_code == 0
    text = text_of(pdf)
    assert "Against the baseline “agreed”" in text
    assert "+12 days" in text


def test_a_baseline_survives_later_pulls_and_a_key_change(dated, tmp_path: Path) -> None:
    plan, db = dated
    assert run(dated, "baseline", "save", "agreed", "--as-of", "2026-11-16").exit_code == 0
    toml = plan / "sheetsync.toml"
    # Budget lines now matched by Category + Project (the same lines, a new key)
    toml.write_text(
        toml.read_text().replace('key = ["Project", "Category"]', 'key = ["Category", "Project"]')
    )
    with time_machine.travel(datetime(2026, 12, 3, 9, 0, tzinfo=UTC), tick=False):
        res = invoke("--config", toml, "--db", db, "pull")
    assert res.exit_code == 0 and "budget: now matched by" in res.output
    out = tmp_path / "w.html"
    assert (
        run(
            dated, "report", "--as-of", "2026-12-02", "--baseline", "agreed", "--html", "-o", out
        ).exit_code
        == 0
    )
    v = _variance_of(out.read_text(encoding="utf-8"))["all"]
    assert "Upgrade incentives / UPSELL $50,000 — -$50,000" in v.replace("−", "-")
    assert "Budget plan" in v and v.count("Sales enablement") == 0  # unchanged lines still match
    assert "G-05 Cold-calling campaign to lapsed accounts Dec 11, 2026 Dec 23, 2026 +12 days" in v


def test_a_baseline_survives_a_schema_migration(dated, tmp_path: Path) -> None:
    """Down to the revision before cell positions, then up again (as the next command
    does on opening the model): the baseline reports the same variance."""
    import sqlalchemy as sa
    from alembic import command

    from sheetsync.migrations import HEAD, alembic_config, current_revision
    from sheetsync.schema import engine_url

    _, db = dated
    assert run(dated, "baseline", "save", "agreed", "--as-of", "2026-11-16").exit_code == 0

    def variance_text(name: str) -> str:
        out = tmp_path / name
        res = run(
            dated, "report", "--as-of", "2026-12-02", "--baseline", "agreed", "--html", "-o", out
        )
        assert res.exit_code == 0, res.output
        return _variance_of(out.read_text(encoding="utf-8"))["all"]

    before = variance_text("before.html")
    engine = sa.create_engine(engine_url(db), poolclass=sa.NullPool)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010_baselines")
    with engine.connect() as conn:
        assert current_revision(conn) == "0010_baselines"
        assert "_row" not in {c["name"] for c in sa.inspect(conn).get_columns("milestones")}
    assert variance_text("after.html") == before  # the report's open upgraded the model
    with engine.connect() as conn:
        assert current_revision(conn) == HEAD
    engine.dispose()
    assert (
        "G-05 Cold-calling campaign to lapsed accounts Dec 11, 2026 Dec 23, 2026 +12 days" in before
    )
