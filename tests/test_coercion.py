from datetime import date, datetime, time

import pytest

from sheetsync.mapping import Invalid, to_bool, to_date, to_number, to_text


@pytest.mark.parametrize(
    "raw, value",
    [
        (12, 12.0),
        ("1,234.50", 1234.5),
        ("$1,234", 1234.0),
        ("€ 2 500", 2500.0),
        ("(500)", -500.0),
        ("-7", -7.0),
        ("45%", 0.45),
        (" 3 ", 3.0),
        ("USD 1,000", 1000.0),
        ("", None),
        ("—", None),
        (None, None),
    ],
)
def test_numbers(raw, value):
    assert to_number(raw) == pytest.approx(value) if value is not None else to_number(raw) is None


@pytest.mark.parametrize("raw", ["12k", "n/a", "1.2.3", True, date(2026, 1, 1)])
def test_not_numbers(raw):
    with pytest.raises(Invalid):
        to_number(raw)


def test_number_error_quotes_what_was_found():
    with pytest.raises(Invalid, match=r'^"12k" is not a number$'):
        to_number("12k")


@pytest.mark.parametrize(
    "raw, kwargs, value",
    [
        (datetime(2026, 3, 4, 9, 30), {}, date(2026, 3, 4)),
        ("2026-03-04", {}, date(2026, 3, 4)),
        ("2026/3/4", {}, date(2026, 3, 4)),
        ("3/4/2026", {}, date(2026, 3, 4)),
        ("3/4/2026", {"dayfirst": True}, date(2026, 4, 3)),
        ("25/12/2026", {}, date(2026, 12, 25)),
        ("4 Mar 2026", {}, date(2026, 3, 4)),
        ("March 4, 2026", {}, date(2026, 3, 4)),
        (46085, {}, date(2026, 3, 4)),  # 1900-epoch serial
        (44623, {"date1904": True}, date(2026, 3, 4)),  # 1904-epoch serial
    ],
)
def test_dates(raw, kwargs, value):
    assert to_date(raw, **kwargs) == value


@pytest.mark.parametrize("raw", ["next week", "31/31/2026", time(10, 0), -5])
def test_not_dates(raw):
    with pytest.raises(Invalid):
        to_date(raw)


@pytest.mark.parametrize(
    "raw, value",
    [
        ("Yes", True),
        ("no", False),
        ("✓", True),
        ("x", True),
        (1, True),
        (0.0, False),
        ("", None),
        (None, None),
    ],
)
def test_bools(raw, value):
    assert to_bool(raw) is value


def test_bool_error():
    with pytest.raises(Invalid, match="not yes or no"):
        to_bool("maybe")


def test_text_strips_and_keeps_ids_whole():
    assert to_text("  Dana  ") == "Dana"
    assert to_text(1001.0) == "1001"
    assert to_text("   ") is None


def test_repetitive_columns_convert_like_single_cells():
    from sheetsync.mapping import _convert_column, converter

    values = [True, 1.0, "yes", None, 0.0, False] * 10
    out, errors, blank = _convert_column(values, converter("text"), "text")
    assert out[:6] == ["True", "1", "yes", None, "0", "False"] and not errors and blank
    dates = ["Jan 2026", "2026-02", None] * 20
    out, _, blank = _convert_column(dates, converter("period"), "period")
    assert out[:3] == ["2026-01", "2026-02", None] and blank
    out, _, blank = _convert_column(dates[:2] * 30, converter("period"), "period")
    assert out[:2] == ["2026-01", "2026-02"] and not blank
    out, _, blank = _convert_column([" a", "b "], converter("text"), "text")
    assert out == ["a", "b"] and not blank
    out, _, blank = _convert_column([" a", "  "], converter("text"), "text")
    assert out == ["a", None] and blank


@pytest.mark.parametrize(
    "raw, value",
    [
        ("500-", -500.0),  # a trailing minus, as some ledgers write it
        ("(500-)", 500.0),  # both: positive
        ("", None),
    ],
)
def test_trailing_minus(raw, value):
    assert to_number(raw) == value


@pytest.mark.parametrize(
    "raw, value",
    [
        (date(2026, 3, 4), date(2026, 3, 4)),
        ("", None),
        ("—", None),
    ],
)
def test_more_dates(raw, value):
    assert to_date(raw) == value


@pytest.mark.parametrize("raw", [True, "31 Foo 2026", "Foo 4, 2026", "2026-02-30"])
def test_more_not_dates(raw):
    with pytest.raises(Invalid, match="is not a date"):
        to_date(raw)


def test_text_of_dates_and_other_values():
    assert to_text(datetime(2026, 3, 4)) == "2026-03-04"
    assert to_text(datetime(2026, 3, 4, 9, 30)) == "2026-03-04T09:30:00"
    assert to_text(date(2026, 3, 4)) == "2026-03-04"
    assert to_text(12.5) == "12.5"
    assert to_text(None) is None
