"""Who and which: the credentials API calls run with, the identity they name in
errors, and the spreadsheet key in a key or URL.

google-auth is imported inside :func:`load_credentials`, when a sheet is opened.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ConfigError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)


@dataclass(frozen=True)
class Identity:
    """Who the API calls run as, for error messages."""

    kind: str  # "service_account" | "oauth" | "credentials"
    email: str | None = None

    def who(self) -> str:
        if self.kind == "service_account":
            return f"the service account {self.email}" if self.email else "the service account"
        return self.email or "the account you signed in with"

    def share_hint(self, access: str = "Editor") -> str:
        if self.kind == "service_account" and self.email:
            return f"share the sheet with {self.email} (Share → add it as {access})"
        if self.email:
            return f"share the sheet with {self.email} as {access}, or sign in with an account that has access"
        return (
            f"share the sheet with the account you signed in with (as {access}), "
            "or sign in again with an account that has access"
        )


def load_credentials(path: str | os.PathLike[str] | None = None) -> tuple[Credentials, Identity]:
    """Credentials from a service-account JSON or an OAuth authorized-user token file.

    ``path`` defaults to ``$GOOGLE_APPLICATION_CREDENTIALS``.
    """
    raw = path if path is not None else os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not raw:
        raise ConfigError(
            "no Google credentials configured",
            hint='set `credentials = "path/to/service-account.json"` for this source in '
            "sheetsync.toml, or export GOOGLE_APPLICATION_CREDENTIALS",
        )
    p = Path(raw).expanduser()
    try:
        info = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Google credentials file not found: {p}") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read Google credentials file {p}: {e}") from None
    if not isinstance(info, dict):
        raise ConfigError(f"{p} is not a Google credentials file (expected a JSON object)")
    kind = info.get("type")
    try:
        if kind == "service_account":
            from google.oauth2 import service_account

            creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
            return creds, Identity("service_account", info.get("client_email"))
        if kind == "authorized_user" or (kind is None and "refresh_token" in info):
            from google.oauth2.credentials import Credentials as UserCredentials

            ucreds = UserCredentials.from_authorized_user_info(info, scopes=info.get("scopes"))
            if info.get("token_uri"):  # google-auth ignores the file's own token endpoint
                ucreds = ucreds.with_token_uri(info["token_uri"])
            email = info.get("account") or info.get("email") or None
            return ucreds, Identity("oauth", email)
    except (ValueError, KeyError) as e:
        raise ConfigError(f"{p}: invalid {kind} credentials: {e}") from None
    raise ConfigError(
        f"{p} is neither a service-account key nor an OAuth token file (type: {kind!r})",
        hint="download a JSON key for a service account in the Google Cloud console, "
        "or run an OAuth sign-in that writes an authorized_user token",
    )


_KEY_IN_URL = re.compile(r"/spreadsheets/d/([a-zA-Z0-9-_]+)")
_KEY = re.compile(r"^[a-zA-Z0-9-_]{20,}$")


def spreadsheet_key(key_or_url: str) -> str:
    """The spreadsheet id in a key or a ``docs.google.com`` URL."""
    text = key_or_url.strip()
    m = _KEY_IN_URL.search(text)
    if m:
        return m.group(1)
    m = re.search(r"[?&]key=([a-zA-Z0-9-_]+)", text)
    if m:
        return m.group(1)
    if _KEY.match(text):
        return text
    raise ConfigError(
        f"not a Google Sheets key or URL: {key_or_url!r}",
        hint="use the URL from the browser (https://docs.google.com/spreadsheets/d/<key>/edit) "
        "or the key in it",
    )
