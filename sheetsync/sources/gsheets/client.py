"""The HTTP side of Google Sheets: gspread's client, retried, and its errors in our terms.

The one module of sheetsync that imports gspread (and requests): inside
functions, so importing it costs nothing until a Google Sheet is opened.

Retries live in our own :class:`gspread.http_client.HTTPClient` subclass:
429, 5xx and connection errors are retried with exponential backoff and
jitter, honouring ``Retry-After``, up to ``RetryPolicy.attempts`` tries, then
a :class:`~sheetsync.errors.RemoteError`. (gspread's ``BackOffHTTPClient``
never gives up, so it is not used.) :func:`call` turns the API's refusals
into a :class:`~sheetsync.errors.RemoteError` that says what to do.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError, RemoteError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from gspread.http_client import HTTPClient

    from .access import Identity

GOOGLE_HOSTS = (
    "https://sheets.googleapis.com",
    "https://www.googleapis.com",
    "https://oauth2.googleapis.com",
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` tries in all, waits ``backoff_base * 2**n`` (capped,
    minus up to ``jitter`` of it at random) or what ``Retry-After`` says (capped)."""

    attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 32.0
    jitter: float = 0.5
    max_retry_after: float = 120.0
    timeout: float = 120.0  # seconds to wait for one answer

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"retries must be at least 1, not {self.attempts}")

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        wait = min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max)
        return wait * (1 - self.jitter * random.random())


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _is_retryable(status: int, error: Mapping[str, Any]) -> bool:
    if status in (408, 429) or status >= 500:
        return True
    # Drive answers 403 with reason rateLimitExceeded / userRateLimitExceeded for quotas.
    reasons = {e.get("reason") for e in error.get("errors", []) if isinstance(e, dict)}
    return status == 403 and bool(reasons & {"rateLimitExceeded", "userRateLimitExceeded"})


def rewrite_url(url: str, base_url: str | None) -> str:
    """``url`` sent to ``base_url`` (an emulator) instead of its Google host."""
    if base_url:
        for host in GOOGLE_HOSTS:
            if url.startswith(host + "/"):
                return base_url.rstrip("/") + url[len(host) :]
    return url


@functools.cache
def _retrying_class(base: type[HTTPClient] | None = None) -> type[HTTPClient]:
    """Our retrying subclass of ``base`` (gspread's ``HTTPClient`` by default)."""
    import requests
    from google.auth.exceptions import TransportError
    from gspread.exceptions import APIError
    from gspread.http_client import HTTPClient

    parent: Any = base or HTTPClient
    transient = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
        TransportError,
    )

    class RetryingHTTPClient(parent):  # type: ignore[misc, valid-type]
        """gspread's real request path, retried within a :class:`RetryPolicy`."""

        retry: RetryPolicy = RetryPolicy()
        base_url: str | None = None
        sleep: Callable[[float], None] = staticmethod(time.sleep)
        attempts_made: int = 0  # total tries sent, for diagnostics and tests

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            policy = self.retry
            url = rewrite_url(endpoint, self.base_url)
            last = ""
            for attempt in range(1, policy.attempts + 1):
                retry_after: float | None = None
                self.attempts_made += 1
                try:
                    return super().request(method, url, *args, **kwargs)
                except APIError as e:
                    status = e.response.status_code
                    if not _is_retryable(status, e.error):
                        raise
                    retry_after = _parse_retry_after(e.response.headers.get("Retry-After"))
                    last = (
                        f"HTTP {status} {e.error.get('status', '')}: {e.error.get('message', '')}"
                    )
                except transient as e:
                    last = f"{type(e).__name__}: {e}"
                if attempt < policy.attempts:
                    self.sleep(policy.delay(attempt, retry_after))
            what = _describe(method, endpoint)
            raise RemoteError(
                f"Google Sheets API: {what} failed {policy.attempts} times; last error: "
                f"{last.strip()}",
                hint="Google is rate-limiting this account or is having trouble; wait a "
                "minute and run again (or raise `retries` for this source in sheetsync.toml)",
            )

    return RetryingHTTPClient


def _describe(method: str, endpoint: str) -> str:
    """``POST …/values:batchUpdate`` for a message: the API path without host or query."""
    path = endpoint.split("?")[0]
    for host in GOOGLE_HOSTS:
        path = path.removeprefix(host)
    return f"{method.upper()} {path if len(path) <= 90 else path[:87] + '...'}"


def connect(
    credentials: Credentials,
    policy: RetryPolicy,
    base_url: str | None = None,
    http_client: type[HTTPClient] | None = None,
) -> Any:
    """gspread's HTTP client for ``credentials``, retrying within ``policy``;
    ``base_url``: every request goes there instead (an emulator);
    ``http_client``: the ``HTTPClient`` subclass to build on (default: gspread's)."""
    import gspread

    client = gspread.Client(credentials, http_client=_retrying_class(http_client))
    http: Any = client.http_client
    http.retry = policy
    http.base_url = base_url
    http.set_timeout(policy.timeout)
    return http


def call(fn: Callable[..., Any], *args: Any, key: str, identity: Identity) -> Any:
    """``fn(*args)``, an API call on spreadsheet ``key`` made as ``identity``,
    with Google's refusals as a :class:`RemoteError` that says what to do."""
    from google.auth.exceptions import RefreshError
    from gspread.exceptions import APIError

    try:
        return fn(*args)
    except APIError as e:
        raise remote_error(e, key, identity) from None
    except RefreshError as e:
        raise RemoteError(
            f"Google refused the credentials of {identity.who()}: {e}",
            hint="check the key file is current (service-account keys can be revoked), "
            "or sign in again for an OAuth token",
        ) from None


def remote_error(e: Any, key: str, identity: Identity) -> RemoteError:
    """An ``APIError`` of a call on spreadsheet ``key`` as a RemoteError."""
    status = e.response.status_code
    message = e.error.get("message", "") if isinstance(e.error, dict) else str(e)
    who = identity.who()
    if status == 404:
        return RemoteError(
            f"Google Sheet {key} was not found, or is not shared with {who}",
            hint=identity.share_hint(),
        )
    if status == 403:
        return RemoteError(
            f"{who[0].upper() + who[1:]} has no access to Google Sheet {key} ({message})",
            hint=identity.share_hint(),
        )
    if status == 401:
        return RemoteError(
            f"Google did not accept the credentials of {who} ({message})",
            hint="check the credentials file, or sign in again",
        )
    return RemoteError(f"Google Sheets API refused the request: HTTP {status}: {message}")
