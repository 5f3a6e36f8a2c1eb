"""SMTP delivery (the only module that imports smtplib): one connection, one message at a time.

STARTTLS, implicit TLS or plain; AUTH with the password from the environment
variable named by ``mail.password_env`` (never from the config file, never
printed); one connection reused for all messages and re-opened after a dropped
connection. A failure is a DeliveryError that says whether the message was
definitely not accepted, whether every remaining message would fail too
(:class:`FatalDeliveryError`), or whether it is in doubt (:class:`InDoubtError`).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import ssl
from email.utils import parseaddr
from typing import TYPE_CHECKING, Self

from ..config import Config
from ..errors import DeliveryError
from .message import Pack

if TYPE_CHECKING:
    import smtplib


class FatalDeliveryError(DeliveryError):
    """A failure of the connection or the login: every remaining message would fail too."""


class InDoubtError(DeliveryError):
    """The whole message went to the server, but no reply came: it may have been accepted."""


def smtp_password(config: Config) -> str | None:
    """The SMTP password: the env var ``mail.password_env``, else the system keyring."""
    m = config.mail
    password = os.environ.get(m.password_env)
    if password:
        return password
    if m.username:
        try:
            import keyring  # optional
        except ImportError:
            return None
        try:
            return keyring.get_password("sheetsync", f"{m.username}@{m.host}")
        except Exception:  # a broken keyring backend must not stop a send
            return None
    return None


def _where(config: Config) -> str:
    return f"{config.mail.host}:{config.mail.port}"


def _open(config: Config, password: str | None) -> smtplib.SMTP:
    """Connect, greet, STARTTLS and log in as the config says; on any failure
    the half-open connection is closed before the exception goes on."""
    import smtplib

    m = config.mail
    ctx = ssl.create_default_context()
    try:
        if m.security == "tls":
            smtp = smtplib.SMTP_SSL(m.host, m.port, timeout=m.timeout, context=ctx)
        else:
            smtp = smtplib.SMTP(m.host, m.port, timeout=m.timeout)
    except UnicodeError:  # the IDNA codec refusing the name: "smtp..example.com"
        raise FatalDeliveryError(
            f"mail.host {m.host!r} is not a valid host name", hint="check mail.host"
        ) from None
    try:
        smtp.ehlo()
        if m.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise FatalDeliveryError(
                    f"the SMTP server at {_where(config)} does not offer STARTTLS",
                    hint='use security = "tls" for an implicit-TLS port (465), or '
                    'security = "none" only for a trusted local relay',
                )
            smtp.starttls(context=ctx)
            smtp.ehlo()
        if m.username:
            if not smtp.has_extn("auth"):
                raise FatalDeliveryError(
                    f"the SMTP server at {_where(config)} does not offer AUTH"
                    + (" before TLS" if m.security == "none" else ""),
                    hint="remove mail.username, or use security = starttls / tls",
                )
            try:
                smtp.login(m.username, password or "")
            except UnicodeEncodeError:  # smtplib's AUTH takes ASCII only
                raise FatalDeliveryError(
                    "the SMTP login needs an ASCII user name and password",
                    hint=f"check mail.username and ${m.password_env}",
                ) from None
    except BaseException:
        smtp.close()
        raise
    return smtp


def _connect(config: Config) -> smtplib.SMTP:
    """A new connection as ``mail`` configures it (:func:`_open`); every way
    that fails is a FatalDeliveryError saying what to check."""
    import smtplib

    m = config.mail
    where = _where(config)
    password = smtp_password(config)
    if m.username and not password:
        raise FatalDeliveryError(
            f"mail.username is {m.username!r} but no password was found",
            hint=f"export {m.password_env}=... in the environment of the send",
        )
    try:
        smtp = _open(config, password)
    except smtplib.SMTPAuthenticationError as e:
        raise FatalDeliveryError(
            f"the SMTP server at {where} rejected the login of {m.username!r} "
            f"({e.smtp_code} {_text(e.smtp_error)})",
            hint=f"check mail.username and the password in ${m.password_env}",
        ) from None
    except ConnectionRefusedError:
        raise FatalDeliveryError(
            f"cannot connect to the SMTP server at {where}: connection refused",
            hint="check mail.host and mail.port, and that the server is running",
        ) from None
    except socket.gaierror as e:
        raise FatalDeliveryError(
            f"cannot find the SMTP server {m.host!r}: {e.strerror}",
            hint="check mail.host",
        ) from None
    except (TimeoutError, smtplib.SMTPServerDisconnected) as e:
        if _timed_out(e):
            raise FatalDeliveryError(
                f"the SMTP server at {where} did not answer within {m.timeout:g} s",
                hint="check mail.host, mail.port, mail.security (an implicit-TLS port "
                'needs security = "tls") and the firewall, or raise mail.timeout',
            ) from None
        raise FatalDeliveryError(
            f"the SMTP server at {where} closed the connection during the greeting",
            hint="check mail.port and mail.security (implicit TLS vs STARTTLS)",
        ) from None
    except ssl.SSLCertVerificationError as e:
        raise FatalDeliveryError(
            f"the TLS certificate of {where} cannot be trusted: {e.verify_message}",
            hint="the server must present a certificate valid for mail.host "
            "(set SSL_CERT_FILE to add a private CA)",
        ) from None
    except ssl.SSLError as e:
        raise FatalDeliveryError(
            f"TLS with the SMTP server at {where} failed: {e.reason or e}",
            hint='security = "tls" is for implicit TLS (465), "starttls" for 587',
        ) from None
    except smtplib.SMTPException as e:
        raise FatalDeliveryError(
            f"the SMTP server at {where} refused the session: {_text(e)}"
        ) from None
    except OSError as e:
        raise FatalDeliveryError(
            f"cannot connect to the SMTP server at {where}: {e.strerror or e}",
            hint="check mail.host and mail.port",
        ) from None
    return smtp


class _Connection:
    """The session's connection: opened when first needed, closed or forgotten
    when the server drops it (the next message then opens a new one)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """QUIT, or just close when the server is gone already."""
        import smtplib

        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _drop(self, smtp: smtplib.SMTP) -> None:
        """Close ``smtp`` and forget it: the next message opens a new connection."""
        self._smtp = None
        smtp.close()

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """RSET after a refused transaction, so the connection can carry the next one."""
        import smtplib

        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop(smtp)

    def connect(self) -> smtplib.SMTP:
        """Open the connection (see :func:`_connect`)."""
        self._smtp = _connect(self.config)
        return self._smtp


class SmtpSession(_Connection):
    """One lazily opened SMTP connection, re-opened after the server drops it."""

    def send(self, pack: Pack) -> None:
        """Deliver one pack; DeliveryError says why not (``FatalDeliveryError``: stop the run)."""
        import smtplib

        smtp = self._smtp or self.connect()
        sender = parseaddr(self.config.mail.sender)[1] or self.config.mail.sender
        rcpt = parseaddr(pack.recipient)[1] or pack.recipient
        try:
            body = _transaction(smtp, sender, rcpt, pack.as_bytes())
        except (smtplib.SMTPException, OSError) as e:
            raise self._not_delivered(smtp, e, sender, rcpt) from None
        # The final "." is sent: from here on the server may have accepted the
        # message, so anything but a reply refusing it leaves it in doubt.
        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as e:
            self._drop(smtp)
            why = (
                f"did not answer within {self.config.mail.timeout:g} s"
                if _timed_out(e)
                else "closed the connection"
            )
            raise InDoubtError(
                f"the SMTP server {why} after the whole message to {rcpt} was sent ({body:,} "
                "bytes): it may have been accepted, so it is not sent again without --resend"
            ) from None
        if code == 250:
            return
        if 400 <= code < 600:  # a reply that refuses it: definitely not accepted
            if code == 421:  # "closing the channel"
                self._drop(smtp)
            else:
                self._reset(smtp)
            raise DeliveryError(
                f"the server refused the message to {rcpt}: {code} {_text(reply)}"
            ) from None
        self._drop(smtp)
        raise InDoubtError(
            f"the SMTP server gave an unreadable reply ({code} {_text(reply)}) after the whole "
            f"message to {rcpt} was sent: it may have been accepted, so it is not sent again "
            "without --resend"
        )

    def _not_delivered(
        self, smtp: smtplib.SMTP, e: BaseException, sender: str, rcpt: str
    ) -> DeliveryError:
        """The error for a failure before the end of DATA was sent: the message
        was definitely not accepted (``FatalDeliveryError``: neither will the next ones be).
        A connection the failure closed (a dropped one, a 421) is forgotten."""
        import smtplib

        answered = isinstance(e, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused))
        if smtp.sock is None or not answered:
            self._drop(smtp)
        if isinstance(e, smtplib.SMTPRecipientsRefused):
            code, msg = next(iter(e.recipients.values()))
            return DeliveryError(
                f"the server rejected recipient {rcpt}: {code} {_text(msg)}",
                hint="check the address in mail.groups; the other recipients are unaffected",
            )
        if isinstance(e, smtplib.SMTPSenderRefused) and e.smtp_code != 421:
            if e.smtp_code == 530:
                return FatalDeliveryError(
                    f"the SMTP server at {_where(self.config)} requires a login "
                    f"({e.smtp_code} {_text(e.smtp_error)})",
                    hint=f"set mail.username and export {self.config.mail.password_env}",
                )
            return FatalDeliveryError(
                f"the server refused the sender {sender}: {e.smtp_code} {_text(e.smtp_error)}",
                hint="check mail.from: the server may only accept its own domain",
            )
        if isinstance(e, smtplib.SMTPResponseException):
            return DeliveryError(
                f"the server refused the message to {rcpt}: {e.smtp_code} {_text(e.smtp_error)}"
            )
        if _timed_out(e):
            return DeliveryError(
                f"the SMTP server did not answer within {self.config.mail.timeout:g} s "
                f"while sending to {rcpt}, before the end of the message: it was not delivered"
            )
        return DeliveryError(
            f"the SMTP server closed the connection while sending to {rcpt}, before the "
            "end of the message: it was not delivered"
        )


def _timed_out(e: BaseException) -> bool:
    """A socket timeout, also when smtplib re-raised it as SMTPServerDisconnected."""
    return isinstance(e, TimeoutError) or isinstance(e.__context__, TimeoutError)


def _transaction(smtp: smtplib.SMTP, sender: str, rcpt: str, data: bytes) -> int:
    """MAIL, RCPT, DATA and the message up to its final "." (smtplib's sendmail
    without the last reply, which ``SmtpSession.send`` reads itself: a failure
    before this returns means the message was not accepted, one after it leaves
    it in doubt). ``data`` ends with CRLF, as ``Pack.as_bytes`` writes it.
    Returns the bytes sent."""
    import smtplib

    def refused(code: int) -> None:
        if code == 421:  # the server closes the channel: so do we
            smtp.close()
            return
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()

    smtp.ehlo_or_helo_if_needed()
    options = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    code, reply = smtp.mail(sender, options)
    if code != 250:
        refused(code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = smtp.rcpt(rcpt)
    if code not in (250, 251):
        refused(code)
        raise smtplib.SMTPRecipientsRefused({rcpt: (code, reply)})
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        refused(code)
        raise smtplib.SMTPDataError(code, reply)
    body = re.sub(rb"(?m)^\.", b"..", data)  # dot-stuffing (RFC 5321 4.5.2)
    smtp.send(body + b".\r\n")
    return len(body)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
