"""sheetsync.sources.gsheets against the Sheets API emulator, through real gspread.

No mocks: every call goes through gspread's HTTPClient and google-auth's
AuthorizedSession over a socket to the emulator on 127.0.0.1. Service-account
tests use a key file with a freshly generated RSA key whose ``token_uri`` is
the emulator, so google-auth signs and exchanges a real JWT.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sheets_emulator import (  # noqa: F401  (sheets_emulator is a fixture)
    SheetsEmulator,
    gspread_client,
    http_client_class,
    sheets_emulator,
    write_authorized_user_file,
    write_service_account_file,
)

from sheetsync.errors import ConfigError, RemoteError, WorkbookError
from sheetsync.sources.gsheets.access import load_credentials, spreadsheet_key
from sheetsync.sources.gsheets.client import RetryPolicy
from sheetsync.sources.gsheets.sheet import GoogleSheet, open_from_config, open_spreadsheet
from sheetsync.sources.gsheets.values import to_serial

ROBOT = "robot@sheetsync-tests.iam.gserviceaccount.com"
FAST = RetryPolicy(attempts=4, backoff_base=0.001, backoff_max=0.01)


@pytest.fixture(scope="module")
def sa_key_pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One RSA key per module (generating one costs ~50 ms)."""
    emu_stub = type("E", (), {"url": "http://127.0.0.1:9"})()
    p = write_service_account_file(tmp_path_factory.mktemp("sa") / "k.json", emu_stub, ROBOT)
    import json

    return json.loads(p.read_text())["private_key"]


@pytest.fixture
def sa_file(tmp_path: Path, sheets_emulator: SheetsEmulator, sa_key_pem: str) -> Path:  # noqa: F811
    import json

    p = write_service_account_file(tmp_path / "robot.json", sheets_emulator, ROBOT)
    info = json.loads(p.read_text())
    info["private_key"] = sa_key_pem
    p.write_text(json.dumps(info))
    return p


def _open(emu: SheetsEmulator, key: str, creds: Any, **kw: Any) -> GoogleSheet:
    kw.setdefault("retry", FAST)
    return open_spreadsheet(key, creds, base_url=emu.url, **kw)


def api_counts(emu: SheetsEmulator) -> dict[str, int]:
    """Requests per kind, leaving out OAuth token exchanges."""
    return {k: v for k, v in emu.counts.items() if k != "oauth.token"}


def plan_rows(n: int) -> list[list[Any]]:
    rows: list[list[Any]] = [["Rep", "Region", "Quota", "Won", "Due"]]
    for i in range(1, n):
        rows.append([f"rep{i}", "EMEA" if i % 2 else "APAC", 1000 + i, i * 1.5, 45000 + i])
    return rows


# ------------------------------------------------------------------ constant calls


@pytest.mark.parametrize(("sheets", "rows"), [(1, 10), (1, 5000), (5, 10), (5, 5000)])
def test_read_is_one_batch_get(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
    sheets: int,
    rows: int,
) -> None:
    emu = sheets_emulator
    data = {f"Tab {i}": plan_rows(rows) for i in range(sheets)}
    key = emu.create_spreadsheet("Plan", data, value_input="RAW")
    emu.reset_counts()

    got = _open(emu, key, sa_file).read_sheets(list(data))

    assert api_counts(emu) == {"values.batchGet": 1}
    assert got == data
    emu.reset_counts()
    values, formulas = _open(emu, key, sa_file).read_grid(list(data))
    assert api_counts(emu) == {"spreadsheets.get": 1}
    assert values == data and formulas == {name: set() for name in data}


def test_reads_ask_only_for_what_they_need(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    rows = [["Quota", "Won", "Attain", "Note"], [200, 150, "=B2/A2", "=1+1 as text"]]
    key = emu.create_spreadsheet("Plan", {"Q": rows, "Other": plan_rows(3)})
    emu.set_values(key, "Q!D2", [["=1+1 as text"]], value_input="RAW")
    emu.reset_counts()
    sheet = _open(emu, key, sa_file)
    assert sheet.read_sheets(["Q"])["Q"][1] == [200, 150, 0.75, "=1+1 as text"]
    batch = next(r for r in emu.requests if r.kind == "values.batchGet")
    assert batch.query["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    assert batch.query["dateTimeRenderOption"] == ["SERIAL_NUMBER"]
    values, formulas = sheet.read_grid(["Q"])
    get = next(r for r in emu.requests if r.kind == "spreadsheets.get")
    assert get.query["ranges"] == ["'Q'"]
    assert "userEnteredValue" in get.query["fields"][0]
    assert "gridProperties" in get.query["fields"][0]
    assert values == {"Q": [rows[0], [200, 150, 0.75, "=1+1 as text"]]}
    assert formulas == {"Q": {"C2"}}  # the text that starts with "=" is no formula
    assert sheet.grid_size("Q") == emu.grid_size(key, "Q")
    assert api_counts(emu) == {"values.batchGet": 1, "spreadsheets.get": 1}


@pytest.mark.parametrize("n", [1, 1000])
def test_write_is_one_batch_update(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
    n: int,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Quotas": plan_rows(1001)}, value_input="RAW")
    sheet = _open(emu, key, sa_file)
    sheet.read_grid(["Quotas"])
    emu.reset_counts()

    changes = [("Quotas", f"C{i + 2}", 5000 + i) for i in range(n)]
    result = sheet.write_cells(changes)

    assert api_counts(emu) == {"spreadsheets.batchUpdate": 1}
    assert result.cells == n and result.requests == 1 and result.grid_rows_added == {}
    values = emu.get_values(key, "Quotas")
    assert [values[i + 1][2] for i in range(n)] == [5000 + i for i in range(n)]
    assert values[n + 1][2] == 1000 + n + 1 if n + 1 < 1001 else True
    batch = next(r for r in emu.requests if r.kind == "spreadsheets.batchUpdate")
    assert batch.body_size < 250 * n + 1000


def test_one_grid_read_serves_the_write(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Quotas": plan_rows(5), "Deals": plan_rows(5)})
    emu.reset_counts()
    sheet = _open(emu, key, sa_file)
    sheet.read_grid(["Quotas", "Deals"])
    sheet.write_cells([("Quotas", "B2", "NA"), ("Deals", "B3", "LATAM")])
    assert api_counts(emu) == {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}
    assert emu.get_values(key, "Deals")[2][1] == "LATAM"


def test_appending_within_the_grid_needs_no_grid_request(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Quotas": plan_rows(4)}, rows=10)
    sheet = _open(emu, key, sa_file)
    sheet.read_grid(["Quotas"])
    emu.reset_counts()

    result = sheet.write_cells([("Quotas", "A2", "ann")], appends=[("Quotas", ["new", "NA", 7])])

    assert api_counts(emu) == {"spreadsheets.batchUpdate": 1}
    assert result.rows_appended == 1
    assert emu.get_values(key, "Quotas")[4] == ["new", "NA", 7]
    assert emu.grid_size(key, "Quotas") == (10, 26)


def test_appending_past_the_grid_grows_it_in_the_same_request(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet(
        "Plan", {"Quotas": plan_rows(10), "Deals": plan_rows(10)}, rows=10, cols=5
    )
    sheet = _open(emu, key, sa_file)
    sheet.read_grid(["Quotas", "Deals"])
    emu.reset_counts()

    new = [[f"r{i}", "EMEA", i, 0, 45500] for i in range(300)]
    result = sheet.write_cells(
        [("Quotas", "G2", "wide")],  # also past the last column
        appends=[("Quotas", row) for row in new] + [("Deals", ["d", "APAC", 1])],
    )

    assert api_counts(emu) == {"spreadsheets.batchUpdate": 1}
    assert result.requests == 1 and result.rows_appended == 301
    assert result.grid_rows_added == {"Quotas": 300, "Deals": 1}
    assert emu.grid_size(key, "Quotas") == (310, 7)
    assert emu.grid_size(key, "Deals") == (11, 5)
    values = emu.get_values(key, "Quotas")
    assert values[10:] == new and values[1][6] == "wide"
    assert emu.get_values(key, "Deals")[10] == ["d", "APAC", 1]


def test_appending_to_a_sheet_not_read_yet_reads_it_once(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"A": plan_rows(3), "B": plan_rows(6)})
    emu.reset_counts()
    _open(emu, key, sa_file).write_cells([], appends=[("A", ["x"]), ("B", ["y"]), ("B", ["z"])])
    assert api_counts(emu) == {
        "spreadsheets.get": 1,
        "values.batchGet": 1,
        "spreadsheets.batchUpdate": 1,
    }
    assert emu.get_values(key, "A")[3] == ["x"]
    assert emu.get_values(key, "B")[6:] == [["y"], ["z"]]


def test_a_write_is_all_or_nothing(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    """1,500 changes and a grid growth in one request; one bad part, nothing written."""
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Quotas": plan_rows(3)}, rows=1000, cols=5)
    sheet = _open(emu, key, sa_file)
    sheet.read_grid(["Quotas"])
    emu.reset_counts()
    changes = [("Quotas", f"E{i + 1}", f"note {i:04d}") for i in range(1500)]  # 500 rows more
    result = sheet.write_cells(changes)
    assert api_counts(emu) == {"spreadsheets.batchUpdate": 1} and result.requests == 1
    assert [r[4] for r in emu.get_values(key, "Quotas")] == [f"note {i:04d}" for i in range(1500)]
    emu.spreadsheets[key].sheets[0].row_count = 1400  # someone deleted 100 rows meanwhile
    before = emu.get_values(key, "Quotas")
    emu.reset_counts()
    with pytest.raises(RemoteError, match="exceeds grid limits"):  # grown by 100, still short
        sheet.write_cells([("Quotas", "A2", "first"), ("Quotas", "E1600", "past the grid")])
    assert api_counts(emu) == {"spreadsheets.batchUpdate": 1}
    assert emu.get_values(key, "Quotas") == before  # not even A2
    assert emu.grid_size(key, "Quotas") == (1400, 5)  # nor the growth


def test_adjacent_cells_of_a_row_become_one_range(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Quotas": plan_rows(3)})
    sheet = _open(emu, key, sa_file)
    sheet.write_cells([("Quotas", "B2", "x"), ("Quotas", "A2", "w"), ("Quotas", "D2", 9)])
    assert emu.get_values(key, "Quotas")[1][:4] == ["w", "x", 1001, 9]


# ------------------------------------------------------------------- round trips


def test_values_round_trip(sheets_emulator: SheetsEmulator, sa_file: Path) -> None:  # noqa: F811
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Types": [["h"]]})
    emu.set_format(key, "Types!C2:D2", "date:iso")
    sheet = _open(emu, key, sa_file)
    when = dt.datetime(2024, 3, 31, 18, 0)
    sheet.write_cells(
        [
            ("Types", "A2", 42),
            ("Types", "B2", 0.125),
            ("Types", "C2", dt.date(2024, 3, 31)),
            ("Types", "D2", when),
            ("Types", "E2", "=1+1"),
            ("Types", "F2", "0042"),
            ("Types", "G2", True),
            ("Types", "H2", "Zoë’s 🌵 deal"),
        ]
    )
    row = open_spreadsheet(key, sa_file, base_url=emu.url).read_sheets(["Types"])["Types"][1]
    assert row == [42, 0.125, 45382, 45382.75, "=1+1", "0042", True, "Zoë’s 🌵 deal"]
    assert to_serial(dt.date(2024, 3, 31)) == 45382
    # "=1+1" is text, not a formula; the date cells still show as dates
    assert emu.get_values(key, "Types!E2", value_render="FORMULA") == [["=1+1"]]
    assert emu.get_values(key, "Types!C2:E2", value_render="FORMATTED_VALUE") == [
        ["2024-03-31", "2024-03-31", "=1+1"]
    ]
    batch = next(r for r in emu.requests if r.kind == "spreadsheets.batchUpdate")
    assert batch.status == 200


def test_none_clears_a_cell(sheets_emulator: SheetsEmulator, sa_file: Path) -> None:  # noqa: F811
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": [["a", "b", "c"]]})
    _open(emu, key, sa_file).write_cells([("Q", "C1", None)])
    assert emu.get_values(key, "Q") == [["a", "b"]]


def test_formulas_and_user_entered_dates_read_as_values(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet(
        "Plan", {"Q": [["Quota", "Won", "Attain", "Due"], [200, 150, "=B2/A2", "2024-12-31"]]}
    )
    rows = _open(emu, key, sa_file).read_sheets(["Q"])["Q"]
    assert rows[1] == [200, 150, 0.75, 45657]


# ----------------------------------------------------------------------- retries


@pytest.mark.parametrize(("status", "times"), [(429, 2), (500, 2), (503, 3)])
def test_transient_errors_are_retried(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
    status: int,
    times: int,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": plan_rows(3)})
    sheet = _open(emu, key, sa_file)
    sheet.read_grid(["Q"])
    emu.reset_counts()
    emu.fail_next(times, status)
    sheet.write_cells([("Q", "A2", "retried")])
    assert api_counts(emu) == {"spreadsheets.batchUpdate": times + 1}
    assert [r.status for r in emu.requests if r.kind != "oauth.token"] == [status] * times + [200]
    assert emu.get_values(key, "Q")[1][0] == "retried"


def test_connection_errors_are_retried(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": plan_rows(3)})
    emu.drop_next(2)
    assert _open(emu, key, sa_file).read_sheets(["Q"])["Q"] == plan_rows(3)
    assert api_counts(emu) == {"values.batchGet": 3}


def test_gives_up_after_the_configured_attempts(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": plan_rows(3)})
    sheet = _open(emu, key, sa_file, retries=3)
    sheet.read_grid(["Q"])
    before = emu.get_values(key, "Q")
    emu.reset_counts()
    emu.fail_next(10, 500)
    with pytest.raises(RemoteError) as err:
        sheet.write_cells([("Q", "A2", "never"), ("Q", "B3", "written")])
    msg = str(err.value)
    assert "failed 3 times" in msg and "HTTP 500" in msg and f"{key}:batchUpdate" in msg
    assert "wait a minute" in msg
    assert api_counts(emu) == {"spreadsheets.batchUpdate": 3}
    assert emu.get_values(key, "Q") == before  # a failed push leaves the sheet as it was


def test_client_errors_are_not_retried(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": plan_rows(3)})
    sheet = _open(emu, key, sa_file)
    sheet.read_grid(["Q"])
    emu.deny(key)
    emu.reset_counts()
    with pytest.raises(RemoteError):
        sheet.write_cells([("Q", "A2", "x")])
    assert api_counts(emu) == {"spreadsheets.batchUpdate": 1}


def test_retry_after_is_honoured(sheets_emulator: SheetsEmulator, sa_file: Path) -> None:  # noqa: F811
    """The waits between tries, on a fake clock: backoff, then what Retry-After says."""
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": plan_rows(3)})
    policy = RetryPolicy(attempts=4, backoff_base=2.0, backoff_max=60.0, jitter=0.0)
    sheet = _open(emu, key, sa_file, retry=policy)
    waits: list[float] = []
    sheet.http.sleep = waits.append  # the client waits on this clock, not the wall's
    sheet.read_sheets(["Q"])  # token and metadata out of the way
    assert waits == []

    emu.fail_next(2, 429)
    assert sheet.read_sheets(["Q"])["Q"] == plan_rows(3)
    assert waits == [2.0, 4.0]  # backoff_base * 2**n

    waits.clear()
    emu.fail_next(1, 429, retry_after=7)
    sheet.read_sheets(["Q"])
    assert waits == [7.0]  # the server's Retry-After, not the backoff

    waits.clear()
    emu.fail_next(4, 503)
    with pytest.raises(RemoteError, match="failed 4 times"):
        sheet.read_sheets(["Q"])
    assert waits == [2.0, 4.0, 8.0]  # no wait after the last try


def test_backoff_grows_and_is_capped() -> None:
    p = RetryPolicy(backoff_base=1, backoff_max=8, jitter=0.5)
    for attempt, full in [(1, 1), (2, 2), (3, 4), (4, 8), (7, 8)]:
        waits = [p.delay(attempt, None) for _ in range(200)]
        assert all(full * 0.5 <= w <= full for w in waits)
        assert len(set(waits)) > 1  # jitter
    assert p.delay(1, 7.0) == 7.0
    assert RetryPolicy(max_retry_after=30).delay(1, 3600) == 30


# ------------------------------------------------------------------------ errors


def test_not_found_names_the_service_account(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    sheet = _open(sheets_emulator, "1" + "x" * 43, sa_file)
    with pytest.raises(RemoteError) as err:
        sheet.read_sheets(["Quotas"])
    msg = str(err.value)
    assert ROBOT in msg and "share the sheet with " + ROBOT in msg
    assert err.value.exit_code == 4


def test_permission_denied_names_the_service_account(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": plan_rows(3)})
    emu.deny(key)
    with pytest.raises(RemoteError) as err:
        _open(emu, key, sa_file).read_sheets(["Q"])
    assert "no access" in str(err.value) and f"share the sheet with {ROBOT}" in str(err.value)


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ("ann@example.com", "share the sheet with ann@example.com"),
        ("", "the account you signed in with"),
    ],
)
def test_oauth_token_errors_name_the_account(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    tmp_path: Path,
    account: str,
    expected: str,
) -> None:
    emu = sheets_emulator
    token = write_authorized_user_file(tmp_path / "token.json", emu, account)
    key = emu.create_spreadsheet("Plan", {"Q": plan_rows(3)})
    assert _open(emu, key, token).read_sheets(["Q"])["Q"] == plan_rows(3)  # OAuth works
    assert emu.counts["oauth.token"] == 1  # the refresh token was exchanged at the emulator
    with pytest.raises(RemoteError) as err:
        _open(emu, "1" + "y" * 43, token).read_sheets(["Q"])
    assert expected in str(err.value)


def test_unknown_worksheet_lists_the_ones_that_exist(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Quotas": [], "Deals": []})
    emu.reset_counts()
    with pytest.raises(WorkbookError) as err:
        _open(emu, key, sa_file).read_sheets(["Quotas", "Pipeline"])
    assert str(err.value).startswith("worksheet 'Pipeline' not found in Google Sheet 'Plan'")
    assert "'Quotas', 'Deals'" in str(err.value)
    # the read names a missing sheet; only then is the list of sheets fetched
    assert api_counts(emu) == {"values.batchGet": 1, "spreadsheets.get": 1}


def test_credentials_come_from_the_environment(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))
    creds, who = load_credentials()
    assert who.email == ROBOT and creds.service_account_email == ROBOT
    key = sheets_emulator.create_spreadsheet("Plan", {"Q": [["x"]]})
    assert open_spreadsheet(key, base_url=sheets_emulator.url).read_sheets(["Q"]) == {"Q": [["x"]]}


def test_credentials_errors_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(ConfigError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        load_credentials()
    with pytest.raises(ConfigError, match="not found"):
        load_credentials(tmp_path / "missing.json")
    (tmp_path / "odd.json").write_text('{"type": "external_account"}')
    with pytest.raises(ConfigError, match="neither a service-account key nor an OAuth token"):
        load_credentials(tmp_path / "odd.json")


def test_spreadsheet_key_from_url_or_key() -> None:
    key = "1Mt7PAP53WxrZzHTL49wbg_EOQy18omB4PD2aJLMBs2o"
    assert spreadsheet_key(key) == key
    assert spreadsheet_key(f"https://docs.google.com/spreadsheets/d/{key}/edit#gid=0") == key
    with pytest.raises(ConfigError):
        spreadsheet_key("plan.xlsx")


def test_injected_credentials_and_http_client_hook(
    sheets_emulator: SheetsEmulator,  # noqa: F811
) -> None:
    """An injected credentials object plus the emulator's HTTPClient as the base class."""
    from google.oauth2.credentials import Credentials

    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": [["x", 1]]})
    sheet = open_spreadsheet(
        key,
        Credentials(token="static"),
        http_client=http_client_class(emu.url),
        retry=FAST,
    )
    emu.fail_next(1, 429)
    assert sheet.read_sheets(["Q"]) == {"Q": [["x", 1]]}
    with pytest.raises(RemoteError, match="the account you signed in with"):
        open_spreadsheet("1" + "z" * 43, Credentials(token="t"), base_url=emu.url).sheet_names()


def test_import_does_not_load_gspread() -> None:
    code = (
        "import sys, sheetsync.sources.gsheets.source as g; "
        "assert not any(m.split('.')[0] in ('gspread', 'google', 'requests') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------- the emulator, through gspread


def test_emulator_serves_gspread_high_level_api(sheets_emulator: SheetsEmulator) -> None:  # noqa: F811
    gc = gspread_client(sheets_emulator)
    sh = gc.create("Weekly plan")
    assert gc.open("Weekly plan").id == sh.id
    ws = sh.add_worksheet("Quotas", rows=5, cols=4)
    ws.update([["Rep", "Quota"], ["ann", "1,200"], ["bob", "=B2*2"]], "A1", raw=False)
    assert ws.get_all_values() == [["Rep", "Quota"], ["ann", "1,200"], ["bob", "2400"]]
    assert ws.get_all_records(numericise_ignore=["all"])[1] == {"Rep": "bob", "Quota": "2400"}
    ws.append_rows([["cy", 10]] * 3)  # grows the 5-row grid
    assert sh.worksheet("Quotas").row_count == 6
    assert ws.col_values(1) == ["Rep", "ann", "bob", "cy", "cy", "cy"]
    ws.batch_clear(["A4:B6"])
    ws.update_acell("D1", "2024-01-02")
    assert ws.acell("D1").value == "2024-01-02"
    assert ws.get("D1", value_render_option="UNFORMATTED_VALUE") == [[45293]]
    ws.resize(rows=20)
    ws.update_title("Quotas 2025")
    assert [w.title for w in sh.worksheets()] == ["Sheet1", "Quotas 2025"]
    sh.del_worksheet(ws)
    gc.del_spreadsheet(sh.id)
    assert gc.list_spreadsheet_files() == []


def test_emulator_gives_google_errors(sheets_emulator: SheetsEmulator) -> None:  # noqa: F811
    import requests

    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": []}, rows=10, cols=2)
    auth = {"Authorization": "Bearer x"}
    r = requests.get(f"{emu.url}/v4/spreadsheets/{key}/values/Q!A1:C20", headers=auth, timeout=5)
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": 400,
            "message": "Range (Q!C20) exceeds grid limits. Max rows: 10, max columns: 2",
            "status": "INVALID_ARGUMENT",
        }
    }
    r = requests.get(f"{emu.url}/v4/spreadsheets/{key}", timeout=5)
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
    emu.fail_next(1, 429, retry_after=7)
    r = requests.get(f"{emu.url}/v4/spreadsheets/{key}", headers=auth, timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_emulator_refuses_urls_off_loopback(sheets_emulator: SheetsEmulator) -> None:  # noqa: F811
    gc = gspread_client(sheets_emulator)
    with pytest.raises(AssertionError, match="off loopback"):
        gc.http_client.request("get", "https://example.com/steal")


def test_emulator_batches_are_all_or_nothing(sheets_emulator: SheetsEmulator) -> None:  # noqa: F811
    import requests

    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": [["a"]]}, rows=10, cols=2)
    auth = {"Authorization": "Bearer x"}
    base = f"{emu.url}/v4/spreadsheets/{key}"
    r = requests.post(
        f"{base}:batchUpdate",
        json={
            "requests": [
                {"addSheet": {"properties": {"title": "New"}}},
                {"deleteSheet": {"sheetId": 42}},
            ]
        },
        headers=auth,
        timeout=5,
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Invalid requests[1].deleteSheet: No sheet with id: 42"
    r = requests.post(
        f"{base}/values:batchUpdate",
        json={
            "valueInputOption": "RAW",
            "data": [{"range": "Q!A1", "values": [["b"]]}, {"range": "Q!A11", "values": [["c"]]}],
        },
        headers=auth,
        timeout=5,
    )
    assert r.status_code == 400 and "exceeds grid limits" in r.json()["error"]["message"]
    assert emu.get_values(key, "Q") == [["a"]]
    assert [s.title for s in emu.spreadsheets[key].sheets] == ["Q"]


def test_open_from_a_source_config(
    sheets_emulator: SheetsEmulator,  # noqa: F811
    sa_file: Path,
) -> None:
    from sheetsync.config import SourceConfig

    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": [["x"]]})
    cfg = SourceConfig(
        name="plan",
        kind="gsheets",
        tables={},
        spreadsheet=f"https://docs.google.com/spreadsheets/d/{key}/edit",
        credentials=sa_file,
        retries=2,
    )
    sheet = open_from_config(cfg, base_url=emu.url)
    assert sheet.sheet_names() == ["Q"]
    emu.fail_next(5, 503)
    with pytest.raises(RemoteError, match="failed 2 times"):
        sheet.read_sheets(["Q"])


def test_emulator_update_cells_writes_typed_values(sheets_emulator: SheetsEmulator) -> None:  # noqa: F811
    """updateCells as Google answers it: typed values, text stays text, an
    empty CellData clears, a field mask is required, the grid is a limit."""
    import requests

    emu = sheets_emulator
    key = emu.create_spreadsheet("Plan", {"Q": [["a", "b", "c"]]}, rows=3, cols=4)
    base = f"{emu.url}/v4/spreadsheets/{key}:batchUpdate"
    auth = {"Authorization": "Bearer x"}

    def update(
        cells: list[dict], fields: str = "userEnteredValue", row: int = 1
    ) -> requests.Response:
        body = {
            "updateCells": {
                "start": {"sheetId": 0, "rowIndex": row, "columnIndex": 0},
                "rows": [{"values": cells}],
                "fields": fields,
            }
        }
        return requests.post(base, json={"requests": [body]}, headers=auth, timeout=5)

    typed = [
        {"userEnteredValue": {"numberValue": 42}},
        {"userEnteredValue": {"stringValue": "=1+1"}},
        {"userEnteredValue": {"boolValue": True}},
        {"userEnteredValue": {"formulaValue": "=A2*2"}},
    ]
    assert update(typed).status_code == 200
    assert emu.get_values(key, "Q!A2:D2") == [[42, "=1+1", True, 84]]
    assert emu.get_values(key, "Q!A2:D2", value_render="FORMULA") == [[42, "=1+1", True, "=A2*2"]]
    assert update([{}], row=0).status_code == 200  # cleared
    assert emu.get_values(key, "Q!A1:C1") == [["", "b", "c"]]
    r = update(typed, fields="")
    assert r.status_code == 400 and "field" in r.json()["error"]["message"]
    r = update(typed, row=3)
    assert r.status_code == 400 and "exceeds grid limits" in r.json()["error"]["message"]
    assert emu.get_values(key, "Q!A2:D2") == [[42, "=1+1", True, 84]]
