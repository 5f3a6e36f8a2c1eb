"""Generate ``samples/sales_plan.xlsx``, the realistic sample sales plan.

The workbook is what a sales-ops team at "Northwind Traders" keeps for its 2026
plan, as of Monday 30 November 2026:

* **Dashboard**: title, year-to-date summary by team (SUMIFS over Quotas),
  project progress, a monthly revenue trend and two charts.
* **Projects**: two initiatives, GROW20 (grow monthly revenue 20% in six
  months) and UPSELL (30% of customers upgraded within a year, 50% in two).
* **Milestones**: ten per project, with a Status dropdown; a mix of done, on
  track, at risk, late and not started relative to 30 Nov 2026.
* **Quotas**: an Excel table (``QuotaTable``) with one row per rep per month,
  Jan-Dec 2026 (December has quota and pipeline but no sales yet), and an
  Attainment formula column with red/amber/green conditional formatting.
* **Budget**: campaign spend against plan, one line over plan.
* **Tasks**: the to-do list under the milestones.

The output is deterministic: a fixed random seed, fixed document properties
and fixed timestamps inside the zip, so re-running the script gives a
byte-identical file (for a given openpyxl version).

Usage::

    python samples/make_sample.py               # writes samples/sales_plan.xlsx
    python samples/make_sample.py -o /tmp/x.xlsx
    python samples/make_sample.py --last-week   # also sales_plan_2026-11-23.xlsx

``--last-week`` also writes the same plan as it stood a week earlier (a few
cells differ: see :func:`last_week`), which ``./run sample`` imports first with
``sheetsync pull --as-of 2026-11-23`` so the first report has "what changed".
"""

from __future__ import annotations

import argparse
import io
import random
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "sales_plan.xlsx"
LAST_WEEK = date(2026, 11, 23)
LAST_WEEK_OUTPUT = DEFAULT_OUTPUT.with_name(f"sales_plan_{LAST_WEEK.isoformat()}.xlsx")

SEED = 20261130
TODAY = date(2026, 11, 30)
FIXED_TIMESTAMP = datetime(2026, 11, 30, 8, 0, 0)
COMPANY = "Northwind Traders"

# Number formats, as a US sales-ops team would set them.
CURRENCY = "$#,##0"
PERCENT = "0%"
PERCENT_1 = "0.0%"
DATE = "m/d/yyyy"
MONTH = "mmm yyyy"
INTEGER = "#,##0"

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=16, color="1F4E78")
SUBTITLE_FONT = Font(italic=True, color="595959")
SECTION_FONT = Font(bold=True, size=12, color="1F4E78")
TOTAL_FONT = Font(bold=True)
THIN = Side(style="thin", color="BFBFBF")
TOTAL_BORDER = Border(top=Side(style="thin", color="000000"))

RED_FILL = PatternFill("solid", fgColor="F8CBAD", bgColor="F8CBAD")
AMBER_FILL = PatternFill("solid", fgColor="FFE699", bgColor="FFE699")
GREEN_FILL = PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE")

MILESTONE_STATUSES = ("Not started", "On track", "At risk", "Late", "Done")

# --------------------------------------------------------------------------
# The plan's content
# --------------------------------------------------------------------------

PROJECT_HEADERS = (
    "Project ID",
    "Project",
    "Goal",
    "Metric",
    "Baseline",
    "Target",
    "Current",
    "Start",
    "End",
    "Owner",
    "Budget ($)",
)
MILESTONE_HEADERS = (
    "Milestone ID",
    "Project",
    "Milestone",
    "Owner",
    "Start",
    "Due date",
    "Target",
    "Actual",
    "Status",
    "Completed",
    "Notes",
)
QUOTA_HEADERS = (
    "Salesperson",
    "Team",
    "Region",
    "Month",
    "Target ($)",
    "Sales ($)",
    "Pipeline ($)",
    "Attainment",
)
BUDGET_HEADERS = (
    "Project",
    "Category",
    "Planned ($)",
    "Spent ($)",
    "Attributed revenue ($)",
    "Notes",
)
TASK_HEADERS = ("Task ID", "Project", "Milestone", "Task", "Owner", "Due", "Done")

GROW20_BASELINE = 1_250_000
GROW20_TARGET = 1_500_000
UPSELL_CURRENT_PCT = 24

# (name, team, region, base monthly quota, performance factor, first month)
# Performance is sales / quota before noise: Dana and Aisha are well ahead,
# Tom and Jake well behind; Ryan Cho is the June new hire on a ramped quota.
REPS = (
    ("Dana Whitfield", "Enterprise", "Northeast", 185_000, 1.22, 1),
    ("Marcus Bell", "Enterprise", "West", 175_000, 0.98, 1),
    ("Priya Raman", "Enterprise", "Central", 165_000, 1.05, 1),
    ("Tom Okafor", "Enterprise", "Southeast", 165_000, 0.68, 1),
    ("Elena García", "Mid-Market", "Northeast", 105_000, 1.15, 1),
    ("Jake Morrison", "Mid-Market", "West", 105_000, 0.74, 1),
    ("Sofia Lindqvist", "Mid-Market", "Central", 105_000, 1.00, 1),
    ("Ben Carter", "Mid-Market", "Southeast", 105_000, 0.90, 1),
    ("Aisha Khan", "SMB", "West", 55_000, 1.30, 1),
    ("Luis Ortega", "SMB", "Southeast", 55_000, 0.85, 1),
    ("Megan Doyle", "SMB", "Northeast", 55_000, 1.02, 1),
    ("Ryan Cho", "SMB", "Central", 55_000, 0.82, 6),
)
TEAMS = ("Enterprise", "Mid-Market", "SMB")
NEW_HIRE_RAMP = {0: 0.5, 1: 0.75}  # months since joining -> share of full quota

# GROW20 raises quotas from Q3 (+10%) and Q4 (+20%); sales grow with it.
QUOTA_UPLIFT = {7: 1.10, 8: 1.10, 9: 1.10, 10: 1.20, 11: 1.20, 12: 1.20}
SALES_GROWTH = {7: 1.02, 8: 1.04, 9: 1.06, 10: 1.08, 11: 1.10}
# Quarter-end months close more; the first month of a quarter is slow.
SEASONALITY = {1: 0.93, 2: 1.00, 3: 1.07, 4: 0.95, 5: 1.00, 6: 1.06}
SEASONALITY |= {7: 0.96, 8: 1.00, 9: 1.06, 10: 0.97, 11: 1.01, 12: 1.08}


def quota_rows(rng: random.Random) -> list[tuple]:
    """One row per rep per month, Jan-Dec 2026, month by month as appended."""
    rows = []
    for month in range(1, 13):
        for name, team, region, base, perf, first in REPS:
            if month < first:
                continue
            ramp = NEW_HIRE_RAMP.get(month - first, 1.0) if first > 1 else 1.0
            quota = int(round(base * QUOTA_UPLIFT.get(month, 1.0) * ramp, -3))
            if month <= TODAY.month:  # months with actuals: Jan-Nov
                noise = rng.gauss(1.0, 0.08)
                # Sales grow with the GROW20 push, but less than the quota uplift.
                sales = round(
                    base * ramp * perf * SALES_GROWTH.get(month, 1.0) * SEASONALITY[month] * noise
                )
                pipeline = int(round(quota * rng.uniform(2.2, 3.4), -2))
            else:  # the future: quota and pipeline are known, sales are not
                sales = None
                pipeline = int(round(quota * perf * rng.uniform(2.4, 3.1), -2))
            rows.append((name, team, region, date(2026, month, 1), quota, sales, pipeline))
    return rows


def monthly_sales(rows: list[tuple], month: int) -> int:
    return sum(r[5] for r in rows if r[3].month == month and r[5] is not None)


def build_milestones(quotas: list[tuple]) -> list[tuple]:
    sep = monthly_sales(quotas, 9)
    nov = monthly_sales(quotas, 11)
    # The revenue checkpoints below are written as met / on track; keep the
    # generated numbers honest to that story.
    assert sep >= 1_375_000, sep
    assert 1_375_000 <= nov < GROW20_TARGET, nov
    d = date
    return [
        # GROW20 -------------------------------------------------------------
        ("G-01", "GROW20", "Sales kickoff: revised H2 quotas published", "Karen Liu",
         d(2026, 6, 15), d(2026, 7, 6), None, None, "Done", d(2026, 7, 2),
         "Q3 +10%, Q4 +20% on H1 quotas"),
        ("G-02", "GROW20", "12-week email series: content and list ready", "Jess Patel",
         d(2026, 7, 1), d(2026, 7, 24), None, None, "Done", d(2026, 7, 28),
         "List cleanup took an extra week"),
        ("G-03", "GROW20", "12-week email series (weeks 1-12)", "Jess Patel",
         d(2026, 8, 3), d(2026, 10, 23), 12, 12, "Done", d(2026, 10, 23),
         "Avg open rate 31%, click rate 4.2%"),
        ("G-04", "GROW20", "Direct-mail drop to mid-market prospects", "Jess Patel",
         d(2026, 9, 1), d(2026, 10, 15), 5000, 4860, "Done", d(2026, 10, 14),
         "140 undeliverable addresses removed; reprint over budget"),
        ("G-05", "GROW20", "Cold-calling campaign to lapsed accounts", "Chris Evans",
         d(2026, 9, 14), d(2026, 12, 11), 1500, 910, "At risk", None,
         "Two contract SDRs started late; need ~150 calls/day to finish"),
        ("G-06", "GROW20", "Partner referral programme live", "Karen Liu",
         d(2026, 9, 1), d(2026, 11, 13), None, None, "Late", None,
         "Partner agreement still with Legal"),
        ("G-07", "GROW20", "Q4 pipeline review: 3x coverage for December", "Karen Liu",
         d(2026, 11, 16), d(2026, 12, 4), 3.0, 2.7, "On track", None,
         "Team reviews booked for 2-4 Dec"),
        ("G-08", "GROW20", "Monthly revenue of $1.375M (Q3 exit)", "Karen Liu",
         d(2026, 7, 1), d(2026, 9, 30), 1_375_000, sep, "Done", d(2026, 9, 30),
         "September closed above checkpoint"),
        ("G-09", "GROW20", "Monthly revenue of $1.5M (+20%)", "Karen Liu",
         d(2026, 7, 1), d(2026, 12, 31), GROW20_TARGET, nov, "On track", None,
         "Actual is November revenue; December is a quarter-end month"),
        ("G-10", "GROW20", "Year-end deal desk: top 20 opportunities", "Marcus Bell",
         d(2026, 12, 7), d(2026, 12, 23), 20, None, "Not started", None, None),
        # UPSELL -------------------------------------------------------------
        ("U-01", "UPSELL", "Segment customer base and score upgrade propensity", "Omar Haddad",
         d(2026, 1, 5), d(2026, 2, 27), None, None, "Done", d(2026, 2, 25), None),
        ("U-02", "UPSELL", "Upgrade offer and pricing approved", "Omar Haddad",
         d(2026, 3, 2), d(2026, 3, 31), None, None, "Done", d(2026, 4, 8),
         "Slipped a week at pricing committee"),
        ("U-03", "UPSELL", "Customer success outreach wave 1 (top 200 accounts)", "Grace Kim",
         d(2026, 4, 13), d(2026, 6, 30), 200, 200, "Done", d(2026, 6, 26), None),
        ("U-04", "UPSELL", "In-app upgrade prompts live", "Omar Haddad",
         d(2026, 8, 3), d(2026, 10, 30), None, None, "Late", None,
         "Engineering slot moved; product now says mid-January"),
        ("U-05", "UPSELL", "Webinar series: Getting more from Pro (4 sessions)", "Jess Patel",
         d(2026, 9, 1), d(2026, 12, 10), 4, 3, "On track", None,
         "Session 4 on 10 Dec, 180 registered"),
        ("U-06", "UPSELL", "Customer success outreach wave 2 (next 400 accounts)", "Grace Kim",
         d(2026, 10, 1), d(2026, 12, 18), 400, 310, "On track", None, None),
        ("U-07", "UPSELL", "30% of customers upgraded", "Omar Haddad",
         d(2026, 1, 1), d(2026, 12, 31), 30, UPSELL_CURRENT_PCT, "At risk", None,
         "Need ~6 points in December; exec escalation on top 30 accounts"),
        ("U-08", "UPSELL", "Annual-plan renewal campaign 2027", "Grace Kim",
         d(2027, 1, 4), d(2027, 3, 31), None, None, "Not started", None, None),
        ("U-09", "UPSELL", "Programme mid-point review", "Omar Haddad",
         d(2027, 6, 1), d(2027, 6, 30), None, None, "Not started", None, None),
        ("U-10", "UPSELL", "50% of customers upgraded", "Omar Haddad",
         d(2027, 1, 1), d(2027, 12, 31), 50, None, "Not started", None, None),
    ]  # fmt: skip


BUDGET_LINES = (
    ("GROW20", "12-week email series", 18_000, 16_450, 212_000, "Platform + copywriter"),
    ("GROW20", "Direct mail", 45_000, 52_300, 168_000, "Reprint after address-list error"),
    ("GROW20", "Cold calling", 60_000, 41_200, 96_500, "Contract SDRs through 11 Dec"),
    ("GROW20", "Partner referrals", 15_000, 2_500, 0, "Payouts start when programme is live"),
    ("GROW20", "Sales enablement", 25_000, 22_800, None, "H2 kickoff and training"),
    ("UPSELL", "Webinars", 12_000, 8_900, 74_000, None),
    ("UPSELL", "Customer success outreach", 40_000, 31_500, 265_000, "Waves 1 and 2"),
    ("UPSELL", "In-app upgrade prompts", 30_000, 6_000, 0, "Design done, build pending"),
    ("UPSELL", "Upgrade incentives", 50_000, 36_750, 310_000, "First-year discounts"),
    ("UPSELL", "Sales enablement", 10_000, 9_200, None, "Upgrade playbook for CSMs"),
)

TASKS = (
    ("T-001", "GROW20", "G-05", "Load lapsed-account call list into CRM", "Chris Evans",
     date(2026, 9, 11), "Yes"),
    ("T-002", "GROW20", "G-05", "Contract two SDRs for the call blitz", "Chris Evans",
     date(2026, 10, 2), "Yes"),
    ("T-003", "GROW20", "G-05", "Weekly call-outcome report to VP Sales", "Chris Evans",
     date(2026, 12, 11), "No"),
    ("T-004", "GROW20", "G-06", "Partner agreement legal review", "Karen Liu",
     date(2026, 11, 6), "No"),
    ("T-005", "GROW20", "G-06", "Referral payout process agreed with Finance", "Karen Liu",
     date(2026, 11, 13), "No"),
    ("T-006", "GROW20", "G-07", "Reps update close dates and next steps in CRM", "Marcus Bell",
     date(2026, 12, 2), "No"),
    ("T-007", "GROW20", "G-07", "Pipeline coverage review per team", "Karen Liu",
     date(2026, 12, 4), "No"),
    ("T-008", "GROW20", "G-03", "Email 12 sent and results summarised", "Jess Patel",
     date(2026, 10, 23), "Yes"),
    ("T-009", "GROW20", "G-04", "Follow-up calls to direct-mail responders", "Chris Evans",
     date(2026, 10, 30), "Yes"),
    ("T-010", "GROW20", "G-10", "Agree discount authority for year-end deals", "Karen Liu",
     date(2026, 12, 4), "No"),
    ("T-011", "UPSELL", "U-04", "Write in-app upgrade prompt copy", "Jess Patel",
     date(2026, 9, 30), "Yes"),
    ("T-012", "UPSELL", "U-04", "Engineering sprint for upgrade prompts", "Omar Haddad",
     date(2026, 10, 23), "No"),
    ("T-013", "UPSELL", "U-05", "Webinar 4 speaker and registration page", "Jess Patel",
     date(2026, 12, 3), "No"),
    ("T-014", "UPSELL", "U-06", "Wave 2 account list to CSMs", "Grace Kim",
     date(2026, 10, 2), "Yes"),
    ("T-015", "UPSELL", "U-07", "Upgrade tracker refreshed weekly", "Omar Haddad",
     date(2026, 12, 31), "No"),
    ("T-016", "UPSELL", "U-07", "Exec escalation for top 30 upgrade-ready accounts", "Omar Haddad",
     date(2026, 12, 7), "No"),
)  # fmt: skip


# --------------------------------------------------------------------------
# Sheet helpers
# --------------------------------------------------------------------------


def style_header(ws: Worksheet, row: int = 1, first_col: int = 1, last_col: int | None = None):
    last_col = last_col or ws.max_column
    for col in range(first_col, last_col + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=THIN)


def write_table(ws: Worksheet, headers: tuple[str, ...], rows: list[tuple] | tuple) -> None:
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    style_header(ws)
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 30


def set_formats(ws: Worksheet, formats: dict[str, str], last_row: int | None = None) -> None:
    last_row = last_row or ws.max_row
    for col, fmt in formats.items():
        for (cell,) in ws[f"{col}2:{col}{last_row}"]:
            cell.number_format = fmt


def set_widths(ws: Worksheet, widths: dict[str, float]) -> None:
    for col, width in widths.items():
        ws.column_dimensions[col].width = width


# --------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------


def add_projects(wb: Workbook, quotas: list[tuple]) -> None:
    ws = wb.create_sheet("Projects")
    budget = {
        p: sum(line[2] for line in BUDGET_LINES if line[0] == p) for p in ("GROW20", "UPSELL")
    }
    rows = [
        (
            "GROW20",
            "Grow sales 20% in six months",
            "Lift monthly revenue from $1.25M to $1.5M by December 2026",
            "Monthly revenue ($)",
            GROW20_BASELINE,
            GROW20_TARGET,
            monthly_sales(quotas, 11),
            date(2026, 7, 1),
            date(2026, 12, 31),
            "Karen Liu",
            budget["GROW20"],
        ),
        (
            "UPSELL",
            "Upsell programme",
            "30% of current customers upgraded within a year, 50% within two",
            "% customers upgraded",
            0,
            50,
            UPSELL_CURRENT_PCT,
            date(2026, 1, 1),
            date(2027, 12, 31),
            "Omar Haddad",
            budget["UPSELL"],
        ),
    ]
    write_table(ws, PROJECT_HEADERS, rows)
    for row in ws.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
    ws["E2"].number_format = ws["F2"].number_format = ws["G2"].number_format = CURRENCY
    ws["E3"].number_format = ws["F3"].number_format = ws["G3"].number_format = "0"
    set_formats(ws, {"H": DATE, "I": DATE, "K": CURRENCY})
    set_widths(
        ws,
        {"A": 11, "B": 30, "C": 46, "D": 21, "E": 13, "F": 13, "G": 13}
        | {"H": 11, "I": 11, "J": 14, "K": 13},
    )


def add_milestones(wb: Workbook, milestones: list[tuple]) -> None:
    ws = wb.create_sheet("Milestones")
    write_table(ws, MILESTONE_HEADERS, milestones)
    last = ws.max_row
    set_formats(ws, {"E": DATE, "F": DATE, "J": DATE, "G": INTEGER, "H": INTEGER})
    for row in ws.iter_rows(min_row=2):
        for cell in (row[6], row[7]):  # coverage ratios like 2.7x keep a decimal
            if isinstance(cell.value, float) and cell.value < 10:
                cell.number_format = '0.0"x"'
        row[10].alignment = Alignment(wrap_text=True, vertical="top")

    status = DataValidation(
        type="list",
        formula1='"' + ",".join(MILESTONE_STATUSES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Unknown status",
        error="Pick a status from the list: " + ", ".join(MILESTONE_STATUSES) + ".",
        promptTitle="Status",
        prompt="Not started, On track, At risk, Late or Done",
        showInputMessage=True,
    )
    status.add("I2:I200")
    ws.add_data_validation(status)

    # Status colours, as the team has them: late red, at risk amber, done green.
    rng = f"I2:I{max(last, 200)}"
    ws.conditional_formatting.add(rng, FormulaRule(formula=['$I2="Late"'], fill=RED_FILL))
    ws.conditional_formatting.add(rng, FormulaRule(formula=['$I2="At risk"'], fill=AMBER_FILL))
    ws.conditional_formatting.add(rng, FormulaRule(formula=['$I2="Done"'], fill=GREEN_FILL))
    ws.auto_filter.ref = f"A1:K{last}"
    set_widths(
        ws,
        {"A": 12, "B": 10, "C": 48, "D": 14, "E": 11, "F": 11, "G": 11, "H": 11}
        | {"I": 12, "J": 11, "K": 54},
    )


def add_quotas(wb: Workbook, quotas: list[tuple]) -> None:
    ws = wb.create_sheet("Quotas")
    ws.append(list(QUOTA_HEADERS))
    for i, row in enumerate(quotas, start=2):
        ws.append([*row, f'=IF(OR(E{i}=0,F{i}=""),"",F{i}/E{i})'])
    style_header(ws)
    ws.freeze_panes = "B2"  # keep the header and the rep's name in view
    ws.row_dimensions[1].height = 30
    last = ws.max_row
    set_formats(ws, {"D": MONTH, "E": CURRENCY, "F": CURRENCY, "G": CURRENCY, "H": PERCENT})

    table = Table(displayName="QuotaTable", ref=f"A1:H{last}")
    table.tableStyleInfo = TableStyleInfo(
        name="TableStyleMedium2", showRowStripes=True, showColumnStripes=False
    )
    ws.add_table(table)

    # Attainment RAG: red below 80%, amber below 100%, green at or above 100%.
    # Formula rules rather than "cell value" rules, so blank future months stay blank.
    rng = f"H2:H{last}"
    ws.conditional_formatting.add(
        rng, FormulaRule(formula=["AND(ISNUMBER($H2),$H2<0.8)"], fill=RED_FILL, stopIfTrue=True)
    )
    ws.conditional_formatting.add(
        rng, FormulaRule(formula=["AND(ISNUMBER($H2),$H2<1)"], fill=AMBER_FILL, stopIfTrue=True)
    )
    ws.conditional_formatting.add(
        rng, FormulaRule(formula=["AND(ISNUMBER($H2),$H2>=1)"], fill=GREEN_FILL)
    )
    set_widths(ws, {"A": 18, "B": 13, "C": 12, "D": 11, "E": 13, "F": 13, "G": 14, "H": 12})


def add_budget(wb: Workbook) -> None:
    ws = wb.create_sheet("Budget")
    write_table(ws, BUDGET_HEADERS, BUDGET_LINES)
    last = ws.max_row
    set_formats(ws, {"C": CURRENCY, "D": CURRENCY, "E": CURRENCY})
    # Spend over plan shows red.
    ws.conditional_formatting.add(
        f"D2:D{last}", FormulaRule(formula=["AND(ISNUMBER($D2),$D2>$C2)"], fill=RED_FILL)
    )
    set_widths(ws, {"A": 10, "B": 28, "C": 13, "D": 13, "E": 16, "F": 40})


def add_tasks(wb: Workbook) -> None:
    ws = wb.create_sheet("Tasks")
    write_table(ws, TASK_HEADERS, TASKS)
    set_formats(ws, {"F": DATE})
    done = DataValidation(type="list", formula1='"Yes,No"', allow_blank=True)
    done.add("G2:G300")
    ws.add_data_validation(done)
    ws.auto_filter.ref = f"A1:G{ws.max_row}"
    set_widths(ws, {"A": 9, "B": 10, "C": 11, "D": 50, "E": 14, "F": 11, "G": 8})


def add_dashboard(ws: Worksheet) -> None:
    ws.title = "Dashboard"
    ws.sheet_properties.tabColor = "1F4E78"
    ws.sheet_view.showGridLines = False
    ws["A1"] = f"{COMPANY}: sales plan 2026"
    ws["A1"].font = TITLE_FONT
    ws["A2"] = "Status as of"
    ws["A2"].font = SUBTITLE_FONT
    ws["B2"] = TODAY
    ws["B2"].number_format = "mmmm d, yyyy"
    ws["B2"].alignment = Alignment(horizontal="left")
    ws["B2"].font = SUBTITLE_FONT
    wb = ws.parent
    wb.defined_names["AsOf"] = DefinedName("AsOf", attr_text="Dashboard!$B$2")

    q = "Quotas!"
    # Team summary (year to date = months up to the as-of date).
    ws["A4"] = "Year to date by team"
    ws["A4"].font = SECTION_FONT
    headers = (
        "Team",
        "Reps",
        "Target YTD ($)",
        "Sales YTD ($)",
        "Attainment",
        "Dec quota ($)",
        "Dec pipeline ($)",
    )
    for col, text in enumerate(headers, start=1):
        ws.cell(row=5, column=col, value=text)
    style_header(ws, row=5, last_col=len(headers))
    first = 6
    for r, team in enumerate(TEAMS, start=first):
        month_is_dec = f"{q}$D:$D,DATE(2026,12,1)"
        ws.cell(r, 1, team)
        ws.cell(r, 2, f"=COUNTIFS({q}$B:$B,$A{r},{month_is_dec})")
        ws.cell(r, 3, f'=SUMIFS({q}$E:$E,{q}$B:$B,$A{r},{q}$D:$D,"<="&AsOf)')
        ws.cell(r, 4, f'=SUMIFS({q}$F:$F,{q}$B:$B,$A{r},{q}$D:$D,"<="&AsOf)')
        ws.cell(r, 5, f'=IF(C{r}=0,"",D{r}/C{r})')
        ws.cell(r, 6, f"=SUMIFS({q}$E:$E,{q}$B:$B,$A{r},{month_is_dec})")
        ws.cell(r, 7, f"=SUMIFS({q}$G:$G,{q}$B:$B,$A{r},{month_is_dec})")
    last = first + len(TEAMS) - 1
    total = last + 1
    ws.cell(total, 1, "Total")
    for col in "BCDFG":
        ws[f"{col}{total}"] = f"=SUM({col}{first}:{col}{last})"
    ws[f"E{total}"] = f'=IF(C{total}=0,"",D{total}/C{total})'
    for col in range(1, 8):
        ws.cell(total, col).font = TOTAL_FONT
        ws.cell(total, col).border = TOTAL_BORDER
    for r in range(first, total + 1):
        for col in "CDFG":
            ws[f"{col}{r}"].number_format = CURRENCY
        ws[f"E{r}"].number_format = PERCENT_1
    ws.conditional_formatting.add(
        f"E{first}:E{total}",
        FormulaRule(formula=[f"AND(ISNUMBER($E{first}),$E{first}<0.8)"], fill=RED_FILL),
    )
    ws.conditional_formatting.add(
        f"E{first}:E{total}",
        FormulaRule(
            formula=[f"AND(ISNUMBER($E{first}),$E{first}>=0.8,$E{first}<1)"], fill=AMBER_FILL
        ),
    )
    ws.conditional_formatting.add(
        f"E{first}:E{total}",
        FormulaRule(formula=[f"AND(ISNUMBER($E{first}),$E{first}>=1)"], fill=GREEN_FILL),
    )

    # Projects at a glance.
    top = total + 2
    ws.cell(top, 1, "Projects").font = SECTION_FONT
    headers = ("Project", "Baseline", "Target", "Current", "Progress", "At risk", "Late")
    for col, text in enumerate(headers, start=1):
        ws.cell(top + 1, col, text)
    style_header(ws, row=top + 1, last_col=len(headers))
    for i, key in enumerate(("GROW20", "UPSELL")):
        r = top + 2 + i
        ws.cell(r, 1, key)
        ws.cell(r, 2, f"=VLOOKUP($A{r},Projects!$A:$K,5,FALSE)")
        ws.cell(r, 3, f"=VLOOKUP($A{r},Projects!$A:$K,6,FALSE)")
        ws.cell(r, 4, f"=VLOOKUP($A{r},Projects!$A:$K,7,FALSE)")
        ws.cell(r, 5, f'=IF(C{r}=B{r},"",(D{r}-B{r})/(C{r}-B{r}))')
        ws.cell(r, 6, f'=COUNTIFS(Milestones!$B:$B,$A{r},Milestones!$I:$I,"At risk")')
        ws.cell(r, 7, f'=COUNTIFS(Milestones!$B:$B,$A{r},Milestones!$I:$I,"Late")')
        fmt = CURRENCY if key == "GROW20" else '0"%"'
        for col in "BCD":
            ws[f"{col}{r}"].number_format = fmt
        ws[f"E{r}"].number_format = PERCENT

    # Monthly revenue trend against the GROW20 target (columns J-M).
    ws["J4"] = "Monthly revenue, all teams"
    ws["J4"].font = SECTION_FONT
    for col, text in zip(
        "JKLM", ("Month", "Target ($)", "Sales ($)", "GROW20 target ($)"), strict=True
    ):
        ws[f"{col}5"] = text
    style_header(ws, row=5, first_col=10, last_col=13)
    for m in range(1, 13):
        r = 5 + m
        ws[f"J{r}"] = date(2026, m, 1)
        ws[f"J{r}"].number_format = MONTH
        ws[f"K{r}"] = f"=SUMIFS({q}$E:$E,{q}$D:$D,$J{r})"
        ws[f"L{r}"] = f"=IF($J{r}>AsOf,NA(),SUMIFS({q}$F:$F,{q}$D:$D,$J{r}))"
        ws[f"M{r}"] = GROW20_BASELINE if m < 7 else GROW20_TARGET
        for col in "KLM":
            ws[f"{col}{r}"].number_format = CURRENCY

    bar = BarChart()
    bar.type = "col"
    bar.grouping = "clustered"
    bar.title = "Sales vs target YTD by team"
    bar.y_axis.title = "USD"
    bar.y_axis.numFmt = "$#,##0"
    bar.y_axis.majorGridlines = None
    bar.add_data(
        Reference(ws, min_col=3, max_col=4, min_row=5, max_row=last), titles_from_data=True
    )
    bar.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    bar.height, bar.width = 7.5, 15
    ws.add_chart(bar, f"A{top + 6}")

    line = LineChart()
    line.title = "Monthly revenue vs GROW20 target"
    line.y_axis.title = "USD"
    line.y_axis.numFmt = "$#,##0"
    line.add_data(
        Reference(ws, min_col=11, max_col=13, min_row=5, max_row=17), titles_from_data=True
    )
    line.set_categories(Reference(ws, min_col=10, min_row=6, max_row=17))
    line.x_axis.number_format = "mmm"
    line.height, line.width = 7.5, 17
    ws.add_chart(line, "J19")

    set_widths(ws, {"A": 13, "B": 15, "C": 15, "D": 15, "E": 12, "F": 14, "G": 15})
    set_widths(ws, {"H": 3, "I": 3, "J": 11, "K": 14, "L": 14, "M": 18})
    ws.row_dimensions[5].height = 30
    ws.row_dimensions[top + 1].height = 30


# --------------------------------------------------------------------------
# Building and saving
# --------------------------------------------------------------------------


def build_workbook() -> Workbook:
    rng = random.Random(SEED)
    quotas = quota_rows(rng)
    milestones = build_milestones(quotas)

    wb = Workbook()
    add_dashboard(wb.active)
    add_projects(wb, quotas)
    add_milestones(wb, milestones)
    add_quotas(wb, quotas)
    add_budget(wb)
    add_tasks(wb)
    wb.active = 0

    props = wb.properties
    props.creator = "Sales Operations"
    props.lastModifiedBy = "Sales Operations"
    props.title = f"{COMPANY} sales plan 2026"
    props.subject = "Milestones, quotas and budget for GROW20 and UPSELL"
    props.created = FIXED_TIMESTAMP
    props.modified = FIXED_TIMESTAMP
    # The sample has formulas without cached values (openpyxl cannot compute
    # them); ask Excel/LibreOffice to recalculate everything on open.
    wb.calculation.fullCalcOnLoad = True
    return wb


def _cell(ws: Worksheet, headers: tuple[str, ...], match: dict[str, object], column: str):
    """The cell of ``column`` in the (single) row whose cells equal ``match``."""
    idx = {h: i + 1 for i, h in enumerate(headers)}
    for row in range(2, ws.max_row + 1):
        if all(ws.cell(row, idx[h]).value == v for h, v in match.items()):
            return ws.cell(row, idx[column])
    raise LookupError(f"{ws.title}: no row with {match}")


def last_week(wb: Workbook) -> Workbook:
    """The plan as it stood on 23 Nov 2026: the partner programme (G-06) was on
    track and due on 27 Nov, cold calling (G-05) at 700 calls and on track, Tom
    Okafor's November sales $40,000 lower, direct mail within plan ($44,000)."""
    ms = wb["Milestones"]
    _cell(ms, MILESTONE_HEADERS, {"Milestone ID": "G-06"}, "Status").value = "On track"
    _cell(ms, MILESTONE_HEADERS, {"Milestone ID": "G-06"}, "Due date").value = date(2026, 11, 27)
    _cell(ms, MILESTONE_HEADERS, {"Milestone ID": "G-05"}, "Status").value = "On track"
    _cell(ms, MILESTONE_HEADERS, {"Milestone ID": "G-05"}, "Actual").value = 700
    q = wb["Quotas"]
    month = {"Salesperson": "Tom Okafor", "Month": date(2026, 11, 1)}
    tom = _cell(q, QUOTA_HEADERS, month, "Sales ($)")
    tom.value -= 40_000
    b = _cell(wb["Budget"], BUDGET_HEADERS, {"Category": "Direct mail"}, "Spent ($)")
    b.value = 44_000
    return wb


def save_deterministic(wb: Workbook, path: Path) -> None:
    """Save like ``Workbook.save`` but keep our timestamps, inside and out.

    ``openpyxl.writer.excel.save_workbook`` stamps ``modified`` with the current
    time and the zip entries carry the current time too; both would make every
    run produce a different file.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    buffer.seek(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = FIXED_TIMESTAMP.timetuple()[:6]
    with (
        zipfile.ZipFile(buffer) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, src.read(info.filename))


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to write the workbook (default: {DEFAULT_OUTPUT.name} next to this script)",
    )
    parser.add_argument(
        "--last-week",
        action="store_true",
        help=f"also write the plan as of {LAST_WEEK.isoformat()} to {LAST_WEEK_OUTPUT.name}",
    )
    args = parser.parse_args(argv)
    save_deterministic(build_workbook(), args.output)
    print(f"wrote {args.output}")
    if args.last_week:
        out = args.output.with_name(LAST_WEEK_OUTPUT.name)
        save_deterministic(last_week(build_workbook()), out)
        print(f"wrote {out}")
    return args.output


if __name__ == "__main__":
    main()
