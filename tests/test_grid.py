"""grid: the one home of A1 references, sheet-title quoting and spreadsheet serial dates."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetsync.grid import (
    cell_ref,
    parse_a1,
    parse_a1_strict,
    quote_sheet,
    serial_to_date,
    to_serial,
)


def test_a1_references_parse_both_ways() -> None:
    assert parse_a1("E14") == (14, 5)
    assert parse_a1_strict(" $AA$3 ") == (3, 27)
    assert parse_a1_strict("B007") == (7, 2)  # leading zeros, as files may hold them
    for bad in ("14", "ABCD1", "E14:F2", "", "E123456789"):
        with pytest.raises(ValueError, match="not a cell reference"):
            parse_a1_strict(bad)
    for off in ("E0", "A1048577", "XFE1"):
        with pytest.raises(ValueError, match="out of the sheet"):
            parse_a1_strict(off, 1_048_576, 16_384)
    assert parse_a1_strict("XFD1048576", 1_048_576, 16_384) == (1_048_576, 16_384)


def test_sheet_titles_are_quoted_as_formulas_write_them() -> None:
    assert quote_sheet("Quotas") == "'Quotas'"
    assert quote_sheet("Dana's plan") == "'Dana''s plan'"
    assert cell_ref("Projects", "E2") == "'Projects'!E2"
    assert cell_ref("Projects") == "'Projects'"


@pytest.mark.parametrize(
    ("day", "serial"),
    [(dt.date(2024, 3, 31), 45382), (dt.date(1900, 3, 1), 61), (dt.date(1904, 1, 1), 1462)],
)
def test_serials_from_march_1900_on_agree_between_excel_and_sheets(day, serial) -> None:
    assert to_serial(day) == serial
    assert to_serial(day, phantom_leap_day=True) == serial
    assert serial_to_date(serial) == day == serial_to_date(serial, phantom_leap_day=True)


def test_excel_counts_a_phantom_29_february_1900_and_sheets_does_not() -> None:
    # Excel: serial 1 is 1 Jan 1900 and 59 is 28 Feb 1900; Sheets: 1 is 31 Dec 1899.
    assert to_serial(dt.date(1900, 1, 1), phantom_leap_day=True) == 1
    assert to_serial(dt.date(1900, 1, 1)) == 2
    assert serial_to_date(1, phantom_leap_day=True) == dt.date(1900, 1, 1)
    assert serial_to_date(59, phantom_leap_day=True) == dt.date(1900, 2, 28)
    assert serial_to_date(1) == dt.date(1899, 12, 31)
    for day in (dt.date(1900, 1, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1)):
        assert serial_to_date(to_serial(day, phantom_leap_day=True), phantom_leap_day=True) == day


def test_1904_system_and_times_of_day() -> None:
    assert to_serial(dt.date(1904, 1, 2), date1904=True) == 1
    assert serial_to_date(1, date1904=True) == dt.date(1904, 1, 2)
    assert to_serial(dt.datetime(2024, 3, 31, 12)) == 45382.5
    assert to_serial(dt.datetime(2024, 3, 31, tzinfo=dt.UTC)) == 45382
    assert to_serial(dt.time(6)) == 0.25
    for bad in (0, -3, 2_958_466):
        with pytest.raises(ValueError, match="not a date serial"):
            serial_to_date(bad)
