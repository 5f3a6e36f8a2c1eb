"""The ``sheetsync`` command line: thin Click wrappers over the library.

These are the only modules that import click, and nothing imports them. Every
SheetsyncError becomes a message on stderr and its exit code in one place
(``app.SheetsyncGroup.main``). ``cli`` is the group with every command,
``main`` the console script (``sheetsync = "sheetsync.cli:main"``)::

    app.py          the group, its global options, what commands share, the error edge
    sync_cmds.py    init, pull, validate, push, sync, diff
    read_cmds.py    status, explain, changes, log
    report_cmds.py  report, export, baseline
    mail_cmds.py    send, history, run weekly
    terminal.py     the progress line on stderr (spinner, bar), only on a terminal

Loading a command module adds its commands to the group; the library behind a
command is imported when the command runs, so ``sheetsync --help`` stays fast.
"""

from . import mail_cmds, read_cmds, report_cmds, sync_cmds  # noqa: F401  (they add the commands)
from .app import cli, main

__all__ = ["cli", "main"]
