"""History in the terminal (issue 17): `log` and `changes`, on SQLite and PostgreSQL,
over a model built from four dated pulls (tests/dated_model.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import time_machine
from dated_model import run
from pg import *  # noqa: F403  (fixtures: store_url)


def test_log_of_one_field_lists_each_change_with_when_source_old_and_new(dated) -> None:
    res = run(dated, "log", "milestones", "G-05", "--field", "due", "--json")
    assert res.exit_code == 0, res.output
    entries = json.loads(res.stdout)
    assert [(e["at"], e["change"], e["source"]) for e in entries] == [
        ("2026-11-16 09:00:00", "new", "plan"),
        ("2026-11-23 09:00:00", "changed", "plan"),
        ("2026-11-30 09:00:00", "changed", "plan"),
    ]
    assert [(f["old"], f["new"]) for e in entries for f in e["fields"]] == [
        (None, "2026-12-11"),
        ("2026-12-11", "2026-12-18"),
        ("2026-12-18", "2026-12-23"),
    ]
    # the cell each value was read from: G-05 is on row 6, Due date in column F
    assert [f["cell"] for e in entries for f in e["fields"]] == ["'Milestones'!F6"] * 3
    text = run(dated, "log", "milestones", "G-05", "--field", "due").stdout
    assert (
        "2026-11-23 09:00  G-05  changed (plan)  due 2026-12-11 → 2026-12-18 'Milestones'!F6"
        in text
    )


def test_log_of_a_table_since_a_day_and_a_two_column_key(dated) -> None:
    res = run(dated, "log", "quotas", "--since", "2026-11-16", "--json")
    entries = json.loads(res.stdout)
    assert [(e["at"][:10], e["key"], [f["field"] for f in e["fields"]]) for e in entries] == [
        ("2026-11-23", "Dana Whitfield / 2026-11", ["closed"]),
        ("2026-12-02", "Marcus Bell / 2026-12", ["quota"]),
    ]
    one = json.loads(run(dated, "log", "quotas", "Marcus Bell / 2026-12", "--json").stdout)
    assert [e["change"] for e in one] == ["new", "changed"]
    book = openpyxl.load_workbook(dated[0] / "sales_plan.xlsx")
    cell = one[1]["fields"][0]["cell"]  # 'Quotas'!E<row>: Target ($)
    sheet, ref = cell.split("!")
    assert sheet == "'Quotas'" and ref[0] == "E"
    assert book["Quotas"][ref].value == one[1]["fields"][0]["new"]
    assert book["Quotas"]["A" + ref[1:]].value == "Marcus Bell"
    assert one[1]["fields"][0]["new"] - one[1]["fields"][0]["old"] == 5_000
    gone = json.loads(run(dated, "log", "budget", "--since", "2026-11-23", "--json").stdout)
    assert [(e["key"], e["change"], e["at"][:10]) for e in gone] == [
        ("UPSELL / Upgrade incentives", "removed", "2026-11-30")
    ]


def test_log_refuses_an_unknown_table_field_or_record(dated) -> None:
    bad = run(dated, "log", "deals")
    assert bad.exit_code != 0 and "no table 'deals'" in bad.output
    bad = run(dated, "log", "milestones", "G-05", "--field", "colour")
    assert bad.exit_code != 0 and "milestones has no field 'colour'" in bad.output
    bad = run(dated, "log", "milestones", "Z-99")
    assert bad.exit_code != 0 and "no record 'Z-99'" in bad.output


def test_changes_in_a_period_by_table(dated) -> None:
    res = run(dated, "changes", "--since", "2026-11-23", "--until", "2026-11-30", "--json")
    assert res.exit_code == 0, res.output
    ch = json.loads(res.stdout)
    assert [c["key"] for c in ch["milestones"]["added"]] == ["G-11"]
    assert [(c["key"], list(c["fields"])) for c in ch["milestones"]["changed"]] == [
        ("G-05", ["due"])
    ]
    assert [c["key"] for c in ch["budget"]["removed"]] == ["UPSELL / Upgrade incentives"]
    assert ch["quotas"] == {"added": [], "changed": [], "removed": []}
    # The week before: the first edit only; from the 16th to now: all of them.
    week1 = json.loads(
        run(dated, "changes", "--since", "2026-11-16", "--until", "2026-11-23", "--json").stdout
    )
    assert sorted(c["key"] for c in week1["milestones"]["changed"]) == ["G-05", "U-07"]
    assert [c["key"] for c in week1["quotas"]["changed"]] == ["Dana Whitfield / 2026-11"]
    text = run(dated, "changes", "--since", "2026-11-16").stdout
    assert "milestones: 1 new, 2 changed, 0 removed" in text
    assert "quotas: 0 new, 2 changed, 0 removed" in text
    assert "~ G-05: due 2026-12-11 → 2026-12-23" in text
    assert "- UPSELL / Upgrade incentives" in text


def test_report_what_changed_and_changes_command_agree(dated, tmp_path: Path) -> None:
    """The report's "what changed" for a week and `changes` over the same week."""
    out = tmp_path / "w.html"
    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=UTC), tick=False):
        res = run(dated, "report", "--as-of", "2026-11-30", "--html", "-o", out)
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    section = html[html.index('<section class="changes">') :]
    section = section[: section.index("</section>")]
    ch = json.loads(
        run(dated, "changes", "--since", "2026-11-23", "--until", "2026-11-30", "--json").stdout
    )
    assert re.search(r"New milestones:</strong>\s*G-11 January kickoff prep", section)
    assert [c["key"] for c in ch["milestones"]["added"]] == ["G-11"]
    assert "G-05" in section and "due Dec 18, 2026 → Dec 23, 2026" in section
