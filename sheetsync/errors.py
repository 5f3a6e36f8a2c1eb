"""The sheetsync error family. Every error a user can cause is one of these.

The CLI turns each into a message and an exit code in one place
(``cli.app.SheetsyncGroup``); the library never prints or exits.

    SheetsyncError                 exit 1  base class
    ├── ConfigError                exit 1  sheetsync.toml is missing or wrong
    ├── UsageError                 exit 1  options that do not fit together
    ├── NoDataError                exit 1  the model holds nothing for the day asked about
    ├── RenderTimeoutError         exit 1  a report or email overran its rendering deadline
    ├── WorkbookError              exit 2  a workbook cannot be read (protected, not xlsx, ...)
    ├── ValidationError            exit 2  cell values that do not fit the model
    │   └── InvalidCellsFound      exit 2  `validate` found bad cells (each already printed)
    ├── KeyChangeError             exit 2  the model's records cannot move to a table's new key
    ├── ConflictError              exit 3  the same field changed in the sheet and the model
    │   └── ConflictsFound         exit 3  `diff`/`sync --dry-run` found conflicts (printed)
    ├── RemoteError                exit 4  a server (SMTP, Sheets API) refused or failed
    │   └── DeliveryError          exit 4  an email could not be delivered
    ├── RefusedError               exit 5  a write refused for safety (file changed, open in Excel)
    └── AlreadyReported                    mixed in: the command has shown it in full already
"""

from __future__ import annotations

from dataclasses import dataclass

from .grid import cell_ref

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  usage or configuration error
  2  the sheet holds invalid data, or a workbook cannot be read
  3  sync conflict: the same cell changed in the sheet and in the model
  4  a remote server (SMTP, Google Sheets) refused or failed
  5  a write was refused for safety (workbook changed on disk or open in Excel)"""


class SheetsyncError(Exception):
    """Base class: a problem the user can act on."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  → {self.hint}"


class ConfigError(SheetsyncError):
    """sheetsync.toml is missing, unreadable or inconsistent."""


class UsageError(SheetsyncError):
    """Options or arguments that do not fit together."""


class NoDataError(SheetsyncError):
    """The model is empty, or holds no plan for the day asked about."""


class WorkbookError(SheetsyncError):
    """A workbook that cannot be opened or read at all."""

    exit_code = 2


@dataclass(frozen=True)
class CellError:
    """One problem with one cell (or one column / sheet when ``cell`` is empty)."""

    sheet: str
    cell: str
    column: str
    message: str
    row: int | None = None

    @property
    def where(self) -> str:
        ref = cell_ref(self.sheet, self.cell)
        return f"{ref} ({self.column})" if self.column else ref

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "sheet": self.sheet,
            "cell": self.cell,
            "column": self.column,
            "message": self.message,
            "row": self.row,
        }


@dataclass(frozen=True)
class NodeError(CellError):
    """A problem with one node of a mind map; ``sheet`` holds the node's path
    (``goals.xmind › Upsell programme › Email series``) and ``column`` the field."""

    @property
    def where(self) -> str:
        return f"{self.sheet} ({self.column})" if self.column else self.sheet


MAX_LISTED_ERRORS = 50


def format_cell_errors(errors: list[CellError], limit: int = MAX_LISTED_ERRORS) -> str:
    lines = [str(e) for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more errors")
    return "\n".join(lines)


class ValidationError(SheetsyncError):
    """Cell values that do not fit the model; carries every problem found."""

    exit_code = 2

    def __init__(
        self, errors: list[CellError], source: str = "", sheet_level: bool = False
    ) -> None:
        self.errors = errors
        what = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
        head = f"{source}: {what} found" if source else f"{what} found"
        what = "nodes" if errors and all(isinstance(e, NodeError) for e in errors) else "cells"
        hint = (
            "fix the sheet, or its mapping in sheetsync.toml, and run again"
            if sheet_level
            else f"fix the {what} above and run again, or use --skip-invalid to import the valid rows"
        )
        super().__init__(f"{head}; nothing was written.\n{format_cell_errors(errors)}", hint=hint)


class KeyChangeError(SheetsyncError):
    """A table's configured key does not tell the model's current records apart.

    ``new``/``old``: the keys as read ("Project + Milestone"); ``blank``: the
    records (by old key) with a blank key field; ``clashes``: a new key → the
    records (by old key) that would share it.
    """

    exit_code = 2

    def __init__(
        self,
        table: str,
        title: str,
        new: str,
        old: str,
        blank: list[str],
        clashes: dict[str, list[str]],
    ) -> None:
        self.table = table
        self.blank = blank
        self.clashes = clashes
        lines = [f"  {old} {k}: {new} is blank" for k in blank[:MAX_LISTED_ERRORS]]
        for k, olds in list(clashes.items())[:MAX_LISTED_ERRORS]:
            lines.append(f'  {new} "{k}": {old} {", ".join(olds)}')
        count = len(blank) + len(clashes)
        if count > MAX_LISTED_ERRORS:
            lines.append(f"  ... and {count - MAX_LISTED_ERRORS} more")
        problems = []
        if blank:
            problems.append(f"some records of the model have no {new}")
        if clashes:
            problems.append(f"records of the model would share one {new}")
        super().__init__(
            f"{table}: sheetsync.toml now matches rows by {new} (was {old}), but "
            f"{' and '.join(problems)}; nothing was written.\n" + "\n".join(lines),
            hint=f"choose key columns that tell every row of {title} apart, or first "
            "pull with the old key so the model holds the sheet's fixes, then change the key",
        )


class ConflictError(SheetsyncError):
    """The same field changed to different values in the sheet and in the model."""

    exit_code = 3


class RemoteError(SheetsyncError):
    """A remote server (SMTP, Google Sheets API) refused or failed."""

    exit_code = 4


class DeliveryError(RemoteError):
    """An email could not be delivered."""


class RefusedError(SheetsyncError):
    """A write refused for safety: the file changed on disk or is open in Excel."""

    exit_code = 5


class AlreadyReported(SheetsyncError):
    """A failure the command has already shown in full (each bad cell, each
    conflict): the CLI's edge exits with its code and prints nothing more."""


class InvalidCellsFound(AlreadyReported, ValidationError):
    """``validate`` found cells that do not fit the model and listed them (exit 2)."""


class ConflictsFound(AlreadyReported, ConflictError):
    """A plan (``diff``, ``sync --dry-run``) listed conflicts: exit 3, as a real sync ends."""


class RenderTimeoutError(SheetsyncError):
    """Rendering a report or email took longer than its deadline and was stopped."""
