"""A real SMTP server on 127.0.0.1 for the mail tests (aiosmtpd).

``SmtpServer`` runs aiosmtpd in a thread with STARTTLS required, AUTH
required (only after TLS), a self-signed certificate made for the test, and a
handler that records every accepted message. It can also misbehave on
purpose, the way real servers do:

* ``reject``: RCPT TO for these addresses answers ``550`` (unknown mailbox);
* ``drop``: once the whole message (up to the final ".") has arrived for
  these recipients, the server closes the connection without a reply (the
  client cannot know whether it was delivered; here it was not);
* ``drop_at_rcpt``: RCPT TO for these closes the connection before any of
  the message is sent (definitely not delivered);
* ``stall``: {recipient: seconds}: the message is accepted (queued) at the
  end of DATA, but the reply comes that late (a client that gave up first
  does not know it was delivered, and it was);
* ``data_reply``: {recipient: reply}: the whole message arrives, and the
  server answers this instead of accepting it (``452 4.3.1 ...``, ``554 ...``,
  ``421 ...``);
* ``mail_reply``: the answer to every MAIL FROM instead of 250;
* ``rcpt_reply``: {recipient: reply} to its RCPT TO (``421 ...``, ``452 ...``);
  ``rcpt_stall``: {recipient: seconds} before answering it; ``rcpt_forget``:
  answered 250 but not recorded, so DATA is refused (``503 ... need RCPT``);
* ``hide``: EHLO keywords not offered (``{"AUTH"}``, ``{"STARTTLS"}``);
  ``offer``: {keyword: line} offered in its place (``{"AUTH": "AUTH XOAUTH2"}``);
* ``drop_at``: commands (``EHLO``, ``RSET``, ``QUIT``) answered by closing the
  connection.

``ehlos`` counts the EHLO greetings (two per STARTTLS session): zero means
no client connected. ``quit_seen`` is set when a client says QUIT.

``data_for`` lists the recipients of every message that reached the end of
DATA, accepted or not.

``implicit_tls=True`` serves TLS from the first byte (port-465 style) instead.
The client trusts the certificate through ``SSL_CERT_FILE`` (see ``cert_env``),
so the real verification path of ``ssl.create_default_context`` is exercised.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "sheetsync-robot"
PASSWORD = "s3cret-Pa55word!"  # what the server accepts; tests assert it is never printed


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sheetsync test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    drop: set[str] = field(default_factory=set)
    dropped: list[list[str]] = field(default_factory=list)
    drop_at_rcpt: set[str] = field(default_factory=set)
    stall: dict[str, float] = field(default_factory=dict)
    data_for: list[list[str]] = field(default_factory=list)
    data_reply: dict[str, str] = field(default_factory=dict)
    mail_reply: str | None = None
    rcpt_reply: dict[str, str] = field(default_factory=dict)
    rcpt_stall: dict[str, float] = field(default_factory=dict)
    rcpt_forget: set[str] = field(default_factory=set)
    hide: set[str] = field(default_factory=set)
    offer: dict[str, str] = field(default_factory=dict)
    drop_at: set[str] = field(default_factory=set)
    ehlos: int = 0
    quit_seen: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.ehlos += 1
        if "EHLO" in self.drop_at:
            server.transport.close()
        session.host_name = hostname  # what aiosmtpd does itself without this hook
        out = []
        for r in responses:
            keyword = r[4:].split(" ")[0].upper()
            if keyword in self.offer:
                out.append(r[:4] + self.offer[keyword])
            elif keyword not in self.hide:
                out.append(r)
        return out

    async def handle_RSET(self, server, session, envelope):
        if "RSET" in self.drop_at:
            server.transport.close()
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        self.quit_seen.set()
        if "QUIT" in self.drop_at:
            server.transport.close()
        return "221 Bye"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.drop_at_rcpt:
            server.transport.close()
            return "421 4.4.2 closing"  # never reaches the client
        if address in self.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address in self.rcpt_stall:
            import asyncio

            await asyncio.sleep(self.rcpt_stall[address])
        if address in self.rcpt_reply:
            return self.rcpt_reply[address]
        if address not in self.rcpt_forget:
            envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        with self.lock:
            self.data_for.append(list(envelope.rcpt_tos))
        if self.drop & set(envelope.rcpt_tos):
            with self.lock:
                self.dropped.append(list(envelope.rcpt_tos))
            server.transport.close()  # no reply: the client sees a dropped connection
            return "421 4.4.2 closing"  # never reaches the client
        refusal = next(
            (self.data_reply[r] for r in envelope.rcpt_tos if r in self.data_reply), None
        )
        if refusal:
            return refusal
        auth = session.auth_data
        with self.lock:
            self.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content),
                    tls=server.transport.get_extra_info("ssl_object") is not None,
                    login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
                )
            )
        # Queued (kept above): the reply may still come too late for the client.
        delay = max((self.stall.get(r, 0.0) for r in envelope.rcpt_tos), default=0.0)
        if delay:
            await asyncio.sleep(delay)
        return "250 2.0.0 Ok: queued"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == USERNAME
        and auth_data.password.decode() == PASSWORD
    )
    # handled=False: aiosmtpd answers 235 / 535 itself; auth_data lands in session.auth_data.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS (or implicit TLS) and AUTH."""

    def __init__(
        self, cert: Path, key: Path, *, port: int | None = None, implicit_tls: bool = False
    ) -> None:
        self.handler = Handler()
        self.port = port or free_port()
        self.implicit_tls = implicit_tls
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        tls = (
            {"ssl_context": ctx} if implicit_tls else {"tls_context": ctx, "require_starttls": True}
        )
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticator,
            auth_required=True,
            # aiosmtpd only counts STARTTLS as TLS; an implicit-TLS socket is TLS throughout.
            auth_require_tls=not implicit_tls,
            **tls,
        )

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def mail_section(self, *, security: str | None = None, timeout: float = 10) -> str:
        """The [mail] settings of a sheetsync.toml that point at this server."""
        sec = security or ("tls" if self.implicit_tls else "starttls")
        return (
            "[mail]\n"
            'host = "127.0.0.1"\n'
            f"port = {self.port}\n"
            f'security = "{sec}"\n'
            f'username = "{USERNAME}"\n'
            'password_env = "TEST_SMTP_PASSWORD"\n'
            'from = "Northwind Sales Ops <salesops@northwind.example>"\n'
            f"timeout = {timeout}\n"
        )
