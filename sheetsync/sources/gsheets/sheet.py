"""One Google Sheet: :class:`GoogleSheet` (its metadata, reads and writes, each
a part of its own) and :func:`open_spreadsheet`, which opens one by key or URL.

A pull reads every mapped worksheet with one ``values:batchGet``
(``UNFORMATTED_VALUE``, dates as ``SERIAL_NUMBER``), whatever the number of
rows. A push (or the Google side of a sync) reads values, formulas and grid
sizes with one ``spreadsheets.get`` (a fields mask, the configured ranges) and
writes with one ``spreadsheets.batchUpdate``: ``appendDimension`` where the
grid must grow, then ``updateCells`` with typed values (so a text starting
with ``=`` stays text), applied by Google all or nothing. Metadata alone is
fetched only to say which worksheets exist when one is missing.

Example::

    sheet = open_spreadsheet("https://docs.google.com/spreadsheets/d/1abc…/edit",
                             credentials="robot.json")
    grids = sheet.read_sheets(["Quotas", "Projects"])
    sheet.write_cells([("Quotas", "E14", 12000)], appends=[("Projects", ["P-9", "New"])])
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from . import client
from .access import Identity, load_credentials, spreadsheet_key
from .client import RetryPolicy, connect, rewrite_url
from .meta import Metadata, SheetMeta
from .read import Reading
from .write import Writing

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from .client import HTTPClient  # gspread's, named where gspread is imported


class GoogleSheet(Metadata, Reading, Writing):
    """One spreadsheet. Metadata is fetched on first need and kept for this object's life."""

    def __init__(self, key: str, http: HTTPClient, identity: Identity) -> None:
        self.key = key
        self.http = http
        self.identity = identity
        self._title: str | None = None
        self._sheets: dict[str, SheetMeta] = {}  # known so far
        self._all = False  # every worksheet known (fetched by metadata)
        self._data_rows: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self.key}/edit"

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return client.call(fn, *args, key=self.key, identity=self.identity)


def open_spreadsheet(
    spreadsheet: str,
    credentials: str | os.PathLike[str] | Credentials | None = None,
    *,
    retries: int | None = None,
    retry: RetryPolicy | None = None,
    base_url: str | None = None,
    http_client: type[HTTPClient] | None = None,
    identity: Identity | None = None,
) -> GoogleSheet:
    """A :class:`GoogleSheet` for a key or URL. Sends no request until it is used.

    ``credentials``: a service-account JSON or OAuth token file path (default
    ``$GOOGLE_APPLICATION_CREDENTIALS``), or a google-auth credentials object.
    ``retries`` sets ``RetryPolicy.attempts``; ``retry`` gives the whole policy.
    ``base_url`` sends every Google API request there instead (an emulator);
    ``http_client`` is a gspread ``HTTPClient`` subclass to build the retrying
    client on (default: gspread's own).
    """
    key = spreadsheet_key(spreadsheet)
    if credentials is None or isinstance(credentials, str | os.PathLike):
        creds, who = load_credentials(credentials)
    else:
        creds = credentials
        email = getattr(creds, "service_account_email", None)
        if email:
            who = Identity("service_account", email)
        else:
            who = Identity("credentials", getattr(creds, "account", None) or None)
    if base_url:
        token_uri = getattr(creds, "token_uri", None) or getattr(creds, "_token_uri", None)
        if token_uri and hasattr(creds, "with_token_uri"):
            # every Google endpoint, the OAuth token exchange included, goes to base_url
            creds = creds.with_token_uri(rewrite_url(token_uri, base_url))
    policy = retry or RetryPolicy()
    if retries is not None:
        policy = RetryPolicy(
            attempts=retries,
            backoff_base=policy.backoff_base,
            backoff_max=policy.backoff_max,
            jitter=policy.jitter,
            max_retry_after=policy.max_retry_after,
            timeout=policy.timeout,
        )
    return GoogleSheet(key, connect(creds, policy, base_url, http_client), identity or who)


def open_from_config(config: Any, **kwargs: Any) -> GoogleSheet:
    """:func:`open_spreadsheet` for a ``SourceConfig`` (``spreadsheet``, ``credentials``,
    ``retries``); keyword arguments (``base_url``, ``retry``, ...) pass through."""
    if not getattr(config, "spreadsheet", None):
        raise ConfigError(
            f"source {getattr(config, 'name', '?')!r}: no `spreadsheet` (key or URL) configured"
        )
    kwargs.setdefault("retries", getattr(config, "retries", None))
    return open_spreadsheet(config.spreadsheet, getattr(config, "credentials", None), **kwargs)
