"""Which file or spreadsheet each source is: a source name stays bound to one copy.

A pull, push or sync records the binding; one of another copy under the same
name is refused (``check_binding``) unless the user says the file moved.
"""

from __future__ import annotations

from typing import Any

from .config import SourceConfig
from .errors import RefusedError
from .store import Store


def source_binding(source: SourceConfig) -> str:
    """Which file or spreadsheet ``source`` is: the workbook's absolute path, or
    the spreadsheet's URL (made of its key, however the config spells it). A dated
    copy (``pull --as-of``) is read in place of its workbook, which stays bound."""
    if source.kind == "gsheets":
        from .sources.gsheets.access import spreadsheet_key

        return f"https://docs.google.com/spreadsheets/d/{spreadsheet_key(source.location)}"
    return str(source.copy_of or source.path)


def check_binding(store: Store, conn: Any, source: SourceConfig, *, rebind: bool) -> str:
    """``source``'s binding, refused (RefusedError) when the model's sync base
    for this source name was read from another file, unless ``rebind``.

    Two copies of a workbook under one name would take each other's values
    for edits and undo them at every sync; a moved file is the same copy.
    """
    binding = source_binding(source)
    old = store.source_binding(conn, source.name)
    if old is not None and old != binding and not rebind:
        raise RefusedError(
            f"source {source.name!r} was last synced from {old}; this config points it at "
            f"{binding}: give this copy its own source name, or `--rebind` if you moved the file",
            hint="each copy of a workbook is its own source (see docs/team-model.md)",
        )
    return binding
