"""One recipient's status pack as a MIME message: its content, headers and period.

A :class:`Pack` knows who it is for and which pack it is (``pack_hash``,
``message_id``) before anything is rendered; its :class:`PackContent` (the
subject, both bodies, the attachments) is made on first use (see
:mod:`sheetsync.mail.pack`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate

from ..periods import period_of

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def period_key(as_of: date) -> str:
    """The ledger's period of a weekly pack: the ISO week of ``as_of`` (``2026-W49``)."""
    return period_of(as_of, "week")


def slug(text: str) -> str:
    """``text`` as a file-name part: lower case, runs of other characters as one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "sheetsync"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    description: str = ""


@dataclass(frozen=True)
class PackContent:
    """What every recipient of a group gets: the subject, both bodies, the attachments."""

    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...]


@dataclass
class Pack:
    """One recipient's status pack for one period.

    Who it is for and which pack it is (``pack_hash``, ``message_id``) are known
    before anything is rendered; the content (subject, bodies, PDFs) is made on
    first use and shared by every recipient of the group.
    """

    group: str
    recipient: str
    period: str
    as_of: date
    pack_hash: str
    message_id: str
    sender: str
    _make: Callable[[], PackContent] = field(repr=False, compare=False)

    def render(self) -> PackContent:
        """The pack's content, rendered now unless it was already."""
        return self._make()

    @property
    def subject(self) -> str:
        return self.render().subject

    def message(self) -> EmailMessage:
        """The MIME message to this recipient, with a Date header stamped now."""
        c = self.render()
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = self.recipient
        msg["Subject"] = c.subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = self.message_id
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
        msg["X-Sheetsync-Pack"] = f"{self.period} {self.pack_hash}"
        msg.set_content(c.text, cte="quoted-printable")
        msg.add_alternative(c.html, subtype="html", cte="quoted-printable")
        for a in c.attachments:
            maintype, _, subtype = a.content_type.partition("/")
            msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
        return msg

    def as_bytes(self) -> bytes:
        """The message as sent: CRLF line ends, ending with one."""
        from email import policy

        return self.message().as_bytes(policy=policy.SMTP)
