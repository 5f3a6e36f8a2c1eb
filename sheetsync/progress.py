"""The progress callback that long library operations accept.

``progress(message, done=None, total=None)``: a step's description, and how
far it has got when the amount is known. The library stays silent without
one; the CLI passes its status line (``sheetsync.cli.terminal``).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[..., None]
