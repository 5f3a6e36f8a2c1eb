"""sheetsync: a sales plan kept in spreadsheets, synced with a model, reported weekly.

The library is usable without the CLI::

    from sheetsync import load_config, open_store, pull
    config = load_config("sheetsync.toml")
    store = open_store(config)   # or Store(URL)
    pull(config, store)

Names are imported on first use, so ``sheetsync --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Config": "config",
    "load_config": "config",
    "Store": "store",
    "open_store": "store",
    "pull": "pull",
    "validate": "reading",
    "TABLES": "model",
    "CellError": "errors",
    "ConfigError": "errors",
    "ConflictError": "errors",
    "DeliveryError": "errors",
    "RefusedError": "errors",
    "RemoteError": "errors",
    "SheetsyncError": "errors",
    "UsageError": "errors",
    "ValidationError": "errors",
    "WorkbookError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'sheetsync' has no attribute {name!r}")
