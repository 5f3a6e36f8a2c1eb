"""Child process for tests/test_xlsx_kill.py: patch a workbook, to be SIGKILLed at any moment.

    python tests/xlsx_write_kill_child.py once WORKBOOK
    python tests/xlsx_write_kill_child.py loop WORKBOOK
    python tests/xlsx_write_kill_child.py before-replace WORKBOOK
    python tests/xlsx_write_kill_child.py after-replace WORKBOOK

``once`` does one push (cells written and a row appended); ``loop`` toggles
the cells between the "old" and the "new" values forever, so a kill lands in
every phase of a write (reading, writing the temp file, fsync, backup,
replace). ``before-replace`` / ``after-replace`` do what ``once`` does but stop
just before / just after the new file is swapped in (``os.replace``), print
"replacing" / "replaced" and wait on stdin for the kill: a kill on either side
of the atomic step, at a known moment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sheetsync.sources.changes import CellWrite, RowAppend  # noqa: E402
from sheetsync.sources.xlsx import patch_workbook  # noqa: E402

SHEET = "Quotas"
OLD = {"B2": "old", "C7": 1.5, "D500": 7, "E1999": "old"}
NEW = {"B2": "new ✓", "C7": 2.5, "D500": 8, "E1999": "new"}
APPEND = {"A": "Rep new", "B": "EMEA", "C": 1.0, "D": 2}


def writes(values: dict[str, object]) -> list[CellWrite]:
    return [CellWrite(SHEET, ref, v) for ref, v in values.items()]


def main() -> None:
    mode, path = sys.argv[1], Path(sys.argv[2])
    if mode in ("before-replace", "after-replace"):
        real_replace, stop = os.replace, mode

        def replace(src: str | Path, dst: str | Path) -> None:
            if stop == "before-replace":
                print("replacing", flush=True)
                sys.stdin.readline()  # killed while waiting here
            real_replace(src, dst)
            if stop == "after-replace":
                print("replaced", flush=True)
                sys.stdin.readline()

        os.replace = replace  # type: ignore[assignment]
        mode = "once"
    print("ready", flush=True)  # the parent times its kill from here
    if mode == "once":
        patch_workbook(path, writes(NEW), [RowAppend(SHEET, APPEND)], backups=2)
        return
    while True:
        patch_workbook(path, writes(NEW), backups=2)
        patch_workbook(path, writes(OLD), backups=2)


if __name__ == "__main__":
    main()
