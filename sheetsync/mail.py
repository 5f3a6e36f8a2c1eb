"""The status pack by email: MIME messages, SMTP delivery, exactly once.

A *pack* is what one recipient of one recipient group gets for one period::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain     the summary as text
    │   └── text/html      the summary: headline KPIs, what needs attention
    ├── application/pdf    one per report of the group (filtered to its teams)
    └── application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
                           the model as a workbook (``attach_workbook = true``)

Its ``pack_hash`` is a SHA-256 over what the pack is made of, known before
anything is rendered (see :class:`PackBuilder`): which record versions and
reads the day's plan rests on, the report, RAG and sender settings, every file
of the template search path, the group's reports, teams and workbook, the day
and sheetsync's version. Nothing that changes between two identical runs is in
it (no clock, no recipient), so the same model, templates and config give the
same hash, and a change to any of them a new one: an "updated pack". A send
that finds every recipient's hash in the ledger answers from it and renders
nothing. The Message-ID is derived from the hash and the recipient: a resend of
the same pack carries the same Message-ID, so mail clients can fold a duplicate.

Delivery is smtplib (the only module that imports it): STARTTLS, implicit TLS
or plain, AUTH with the password from the environment variable named by
``mail.password_env`` (never from the config file, never printed), one
connection reused for all messages and re-opened after a dropped connection.
Which pack went to whom is kept in the send ledger (``sheetsync.ledger``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import socket
import ssl
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ledger
from .config import Config, RecipientGroup
from .errors import ConfigError, DeliveryError, UsageError
from .model import resolve_teams
from .plan import PlanAsOf, PlanBasis, plan_as_of, plan_basis, plan_digest
from .progress import Progress
from .report.templates import files_digest, template_dirs_for
from .store import Store

if TYPE_CHECKING:
    import smtplib

Records = dict[str, list[dict[str, Any]]]

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY_HTML = "email_summary.html"
SUMMARY_TEXT = "email_summary.txt"

# --------------------------------------------------------------------------- periods


def period_key(as_of: date) -> str:
    """The ledger's period of a weekly pack: the ISO week of ``as_of`` (``2026-W49``)."""
    y, w, _ = as_of.isocalendar()
    return f"{y:04d}-W{w:02d}"


def _fmt_date(d: date, config: Config) -> str:
    """A date in the reports' one style (:meth:`Formatter.day`)."""
    from .formatting import Formatter

    return Formatter.for_config(config).day(d)


def pack_subject(
    config: Config, group: RecipientGroup, as_of: date, verdict: str | None = None
) -> str:
    """``Northwind Traders sales status — week 49, 2026 (30 Nov 2026): 94% of plan,
    $1.2M projected gap``.

    The period is in the subject so that weekly packs do not collapse into one
    thread; a group filtered to teams says which; ``verdict`` is the report's
    short verdict (:attr:`sheetsync.verdict.Verdict.short`).
    """
    y, w, _ = as_of.isocalendar()
    subject = f"{config.report.company} sales status — week {w}, {y} ({_fmt_date(as_of, config)})"
    if group.teams:
        subject += f" · {', '.join(group.teams)}"
    if verdict:
        subject += f": {verdict}"
    return subject


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "sheetsync"


# --------------------------------------------------------------------------- the summary


def summary_variables(
    config: Config,
    plan: PlanAsOf,
    group: RecipientGroup,
    attachments: Sequence[Attachment] = (),
) -> dict[str, Any]:
    """The variables of ``email_summary.html`` / ``.txt``.

    Every field of the executive report's :class:`sheetsync.report.ReportContext`
    (``meta``, ``branding``, ``kpis``, ``attention``, ``changes``, ``rag_rules``
    ...), built for the group's teams, so the email says exactly what the
    attached PDF says; plus ``email``: ``subject``, ``heading`` ("Sales status —
    week 49, 2026"), ``as_of`` (text), ``colors`` (CSS colour per RAG status,
    ``accent``, ``ink``, ``muted``), ``attachments`` (``filename``,
    ``description``, ``size``) and ``company_wide``: for a group filtered to
    teams, the KPI keys that are not (milestones and budget belong to no
    team), so the email labels them company-wide; empty otherwise.
    """
    from .report import context_for

    as_of = plan.as_of
    ctx = context_for(plan, config, name="executive", teams=group.teams)
    colors = {"grey": "#5f6368", **ctx.branding.colors}
    y, w, _ = as_of.isocalendar()
    variables = ctx.variables()
    variables["email"] = {
        "subject": pack_subject(config, group, as_of, ctx.verdict.short),
        "heading": f"Sales status — week {w}, {y}",
        "as_of": _fmt_date(as_of, config),
        "colors": colors,
        "attachments": [
            {"filename": a.filename, "description": a.description, "size": _size(len(a.data))}
            for a in attachments
        ],
        "company_wide": [k.key for k in ctx.kpis if k.key in COMPANY_WIDE] if group.teams else [],
    }
    return variables


#: KPIs a team filter does not narrow: milestones and budget belong to no team.
COMPANY_WIDE = ("milestones", "budget", "spend_to_revenue")


def scoped_records(records: Records, teams: Sequence[str]) -> Records:
    """``records`` as a group filtered to ``teams`` may see them: only those
    teams' quotas (the other tables belong to no team)."""
    if not teams:
        return records
    return {**records, "quotas": [q for q in records.get("quotas", []) if q.get("team") in teams]}


def _size(n: int) -> str:
    return f"{max(n, 1024) / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def render_summary(config: Config, variables: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of the email summary, through the report's Jinja environment.

    A ``template_dir`` in ``[report]`` may hold its own ``email_summary.html``
    or ``.txt``. Autoescape is on for the HTML (off for the text) and an
    undefined name is an error naming the template and line.
    """
    import jinja2

    from .report.templates import environment, template_error

    dirs = template_dirs_for(config)
    env = environment(dirs, config)
    text_env = env.overlay(autoescape=False)
    try:
        text = text_env.get_template(SUMMARY_TEXT).render(variables)
        html = env.get_template(SUMMARY_HTML).render(variables)
    except jinja2.TemplateError as e:
        raise template_error(e, dirs) from None
    return text, html


# --------------------------------------------------------------------------- the workbook


def workbook_bytes(records: Records, as_of: date) -> bytes:
    """The model as an .xlsx, one sheet per table, byte-identical for the same model.

    openpyxl stamps the current time into docProps/core.xml and every zip
    entry; both are pinned to ``as_of`` so the pack hash stays stable.
    """
    from openpyxl import Workbook

    from .model import TABLES

    wb = Workbook()
    wb.remove(wb.active)
    for name, spec in TABLES.items():
        rows = records.get(name, [])
        if spec.optional and not rows:
            continue
        ws = wb.create_sheet(spec.title)
        ws.append([fl.label or fl.name for fl in spec.fields])
        for r in rows:
            ws.append([r.get(fl.name) for fl in spec.fields])
        ws.freeze_panes = "A2"
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = "sheetsync"
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)",
                    rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\2",
                    data,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, data)
    return out.getvalue()


# --------------------------------------------------------------------------- packs


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


def _known_reports() -> tuple[str, ...]:
    from .report import REPORTS

    return tuple(REPORTS)


def _domain(sender: str) -> str:
    addr = parseaddr(sender)[1]
    return addr.rpartition("@")[2] or "sheetsync.localhost"


#: The version of what ``pack_hash`` covers: a change here makes every pack new.
PACK_FORMAT = b"sheetsync-pack-v2\0"


def _plain(value: Any) -> Any:
    """JSON for a setting: a path as a digest of its files (what they hold, not
    where they are), a dataclass as its fields."""
    if isinstance(value, Path):
        return {"files": files_digest([value])}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot hash a setting of type {type(value).__name__}")


def _settings_digest(config: Config) -> str:
    """The settings a pack is made from: every report and RAG setting (a logo or
    template folder by its files), the configured table keys, the sender."""
    settings = {
        "report": config.report,
        "rag": config.rag,
        "keys": {name: spec.key for name, spec in sorted(config.specs.items())},
        "sender": config.mail.sender,
    }
    text = json.dumps(settings, default=_plain, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _require_ascii(address: str, where: str) -> None:
    """sheetsync speaks SMTP without SMTPUTF8 (RFC 6531): every address is ASCII."""
    addr = parseaddr(address)[1] or address
    if not addr.isascii():
        raise ConfigError(
            f"{where}: {addr!r} is not an ASCII address, and sheetsync cannot send to one",
            hint="write the domain in its ASCII form (xn--...); the part before @ must be ASCII",
        )


class PackBuilder:
    """Builds the packs of one as-of day.

    A pack's ``pack_hash`` comes from what it is made of, found without
    rendering: the plan the day reads (``sheetsync.plan.plan_digest``: which
    record versions, which reads), the settings (``_settings_digest``), every
    file of the template search path, the group's scope (reports, teams,
    workbook), the day and sheetsync's version. So the send ledger can say that
    a pack was already sent without its PDFs being made. Its content is made
    when first asked for, once per group, each (report, teams) PDF once.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        as_of: date,
        *,
        progress: Progress | None = None,
        basis: PlanBasis | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.as_of = as_of
        self.progress = progress
        self._basis = basis
        self._plan: PlanAsOf | None = None
        self._common: str | None = None
        self._pdfs: dict[tuple[str, tuple[str, ...]], bytes] = {}
        self._workbooks: dict[tuple[str, ...], bytes] = {}
        self._contents: dict[RecipientGroup, PackContent] = {}
        self._lock = threading.RLock()  # packs shared by threads render once

    @property
    def basis(self) -> PlanBasis:
        """Which moments of the model the day's plan reads (no record read)."""
        if self._basis is None:
            self._basis = plan_basis(self.store, self.config, self.as_of)
        return self._basis

    @property
    def plan(self) -> PlanAsOf:
        """The plan as of the day (read once, shared by every pack)."""
        if self._plan is None:
            self._plan = plan_as_of(self.store, self.config, self.as_of, self.basis)
        return self._plan

    def pack_hash(self, group: RecipientGroup) -> str:
        """SHA-256 of what ``group``'s pack is made of (see the class doc)."""
        if self._common is None:
            from . import __version__

            parts = [
                __version__,
                self.as_of.isoformat(),
                plan_digest(self.store, self.basis),
                _settings_digest(self.config),
                files_digest(template_dirs_for(self.config)),
            ]
            self._common = "\0".join(parts)
        scope = json.dumps([list(group.reports), list(group.teams), group.attach_workbook])
        return hashlib.sha256(PACK_FORMAT + f"{self._common}\0{scope}".encode()).hexdigest()

    def group_packs(self, group: RecipientGroup) -> list[Pack]:
        """One pack per recipient of ``group``: nothing is rendered yet.
        An address sheetsync cannot send to is a ConfigError."""
        sender = self.config.mail.sender
        _require_ascii(sender, "mail.from")
        for rcpt in group.recipients:
            _require_ascii(rcpt, f"mail.groups.{group.name}.recipients")
        pack_hash = self.pack_hash(group)
        period = period_key(self.as_of)

        def make() -> PackContent:
            return self.content(group)

        packs = []
        for rcpt in group.recipients:
            rid = hashlib.sha256(rcpt.strip().casefold().encode()).hexdigest()[:10]
            message_id = f"<{period}.{pack_hash[:20]}.{rid}@{_domain(sender)}>"
            packs.append(
                Pack(group.name, rcpt, period, self.as_of, pack_hash, message_id, sender, make)
            )
        return packs

    def content(self, group: RecipientGroup) -> PackContent:
        """What ``group``'s recipients get, rendered on the first call."""
        with self._lock:
            if group not in self._contents:
                self._contents[group] = self._render(group)
            return self._contents[group]

    def pdf(self, name: str, teams: tuple[str, ...]) -> bytes:
        key = (name, teams)
        if key not in self._pdfs:
            from .report import render_context, report_context

            label = f"{name} report" + (f" for {', '.join(teams)}" if teams else "")
            say = self.progress
            step = (
                (lambda message, done=None, total=None: say(f"{label}: {message}", done, total))
                if say
                else None
            )
            # the very report `sheetsync report` writes (appendix, baseline)
            ctx = report_context(self.store, self.plan, self.config, name=name, teams=teams)
            self._pdfs[key] = render_context(ctx, self.config, progress=step)
        return self._pdfs[key]

    def workbook(self, teams: tuple[str, ...] = ()) -> bytes:
        """The model as a workbook, as a group filtered to ``teams`` may see it."""
        if teams not in self._workbooks:
            self._workbooks[teams] = workbook_bytes(
                scoped_records(self.plan.current, teams), self.as_of
            )
        return self._workbooks[teams]

    def _render(self, group: RecipientGroup) -> PackContent:
        cfg = self.config
        known = _known_reports()
        unknown = [r for r in group.reports if r not in known]
        if unknown:
            raise ConfigError(
                f"mail.groups.{group.name}.reports: unknown report "
                f"{', '.join(repr(u) for u in unknown)}",
                hint=f"reports are: {', '.join(known)}",
            )
        if group.teams:  # as the model spells them; an unknown team is an error
            teams = resolve_teams(self.plan.current, group.teams, f"mail.groups.{group.name}.teams")
            group = dataclasses.replace(group, teams=teams)
        period = period_key(self.as_of)
        company = _slug(cfg.report.company)
        suffix = f"-{_slug('-'.join(group.teams))}" if group.teams else ""
        attachments = [
            Attachment(
                f"{company}-{name}-{period}{suffix}.pdf",
                PDF,
                self.pdf(name, group.teams),
                f"the {name} report (PDF)",
            )
            for name in group.reports
        ]
        if group.attach_workbook:
            attachments.append(
                Attachment(
                    f"{company}-model-{period}{suffix}.xlsx",
                    XLSX,
                    self.workbook(group.teams),
                    "the plan as a workbook"
                    + (f" ({', '.join(group.teams)} quotas only)" if group.teams else ""),
                )
            )
        variables = summary_variables(cfg, self.plan, group, attachments)
        subject = variables["email"]["subject"]
        text, html = render_summary(cfg, variables)
        return PackContent(subject, text, html, tuple(attachments))


def select_groups(config: Config, names: Sequence[str] = ()) -> list[RecipientGroup]:
    groups = config.mail.groups
    if not groups:
        raise ConfigError(
            "no recipient groups: add a [mail.groups.NAME] section with recipients",
            hint='e.g. [mail.groups.executives]  recipients = ["ceo@example.com"]',
        )
    missing = [n for n in names if n not in groups]
    if missing:
        raise ConfigError(
            f"unknown recipient group {', '.join(repr(m) for m in missing)}",
            hint=f"groups in the config: {', '.join(groups)}",
        )
    return [groups[n] for n in names] if names else list(groups.values())


def build_packs(
    config: Config, store: Store, group: RecipientGroup | str, as_of: date
) -> list[Pack]:
    """The packs of one recipient group, one per recipient (rendered when first used)."""
    g = select_groups(config, [group])[0] if isinstance(group, str) else group
    return PackBuilder(config, store, as_of).group_packs(g)


def build_all_packs(
    config: Config,
    store: Store,
    as_of: date,
    groups: Sequence[str] = (),
    *,
    progress: Progress | None = None,
    basis: PlanBasis | None = None,
) -> list[Pack]:
    """The packs of every group (or the named ones), rendered when first used,
    each PDF once: a send that finds them all sent renders nothing."""
    builder = PackBuilder(config, store, as_of, progress=progress, basis=basis)
    return [p for g in select_groups(config, groups) for p in builder.group_packs(g)]


def only_recipients(packs: Sequence[Pack], addresses: Sequence[str]) -> list[Pack]:
    """The packs addressed to ``addresses`` (all packs when empty)."""
    if not addresses:
        return list(packs)
    wanted = {a.strip().casefold() for a in addresses}
    known = {p.recipient.strip().casefold() for p in packs}
    missing = sorted(wanted - known)
    if missing:
        raise UsageError(
            f"{', '.join(missing)} is not a recipient of the selected groups",
            hint="recipients: " + ", ".join(sorted({p.recipient for p in packs})),
        )
    return [p for p in packs if p.recipient.strip().casefold() in wanted]


# --------------------------------------------------------------------------- SMTP


class _Fatal(DeliveryError):
    """A failure of the connection or the login: every remaining message would fail too."""


class _InDoubt(DeliveryError):
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


class SmtpSession:
    """One lazily opened SMTP connection, re-opened after the server drops it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
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

    def _open(self, password: str | None) -> smtplib.SMTP:
        """Connect, greet, STARTTLS and log in as the config says; on any failure
        the half-open connection is closed before the exception goes on."""
        import smtplib

        m = self.config.mail
        ctx = ssl.create_default_context()
        try:
            if m.security == "tls":
                smtp = smtplib.SMTP_SSL(m.host, m.port, timeout=m.timeout, context=ctx)
            else:
                smtp = smtplib.SMTP(m.host, m.port, timeout=m.timeout)
        except UnicodeError:  # the IDNA codec refusing the name: "smtp..example.com"
            raise _Fatal(
                f"mail.host {m.host!r} is not a valid host name", hint="check mail.host"
            ) from None
        try:
            smtp.ehlo()
            if m.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise _Fatal(
                        f"the SMTP server at {_where(self.config)} does not offer STARTTLS",
                        hint='use security = "tls" for an implicit-TLS port (465), or '
                        'security = "none" only for a trusted local relay',
                    )
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if m.username:
                if not smtp.has_extn("auth"):
                    raise _Fatal(
                        f"the SMTP server at {_where(self.config)} does not offer AUTH"
                        + (" before TLS" if m.security == "none" else ""),
                        hint="remove mail.username, or use security = starttls / tls",
                    )
                try:
                    smtp.login(m.username, password or "")
                except UnicodeEncodeError:  # smtplib's AUTH takes ASCII only
                    raise _Fatal(
                        "the SMTP login needs an ASCII user name and password",
                        hint=f"check mail.username and ${m.password_env}",
                    ) from None
        except BaseException:
            smtp.close()
            raise
        return smtp

    def connect(self) -> smtplib.SMTP:
        import smtplib

        m = self.config.mail
        where = _where(self.config)
        password = smtp_password(self.config)
        if m.username and not password:
            raise _Fatal(
                f"mail.username is {m.username!r} but no password was found",
                hint=f"export {m.password_env}=... in the environment of the send",
            )
        try:
            smtp = self._open(password)
        except smtplib.SMTPAuthenticationError as e:
            raise _Fatal(
                f"the SMTP server at {where} rejected the login of {m.username!r} "
                f"({e.smtp_code} {_text(e.smtp_error)})",
                hint=f"check mail.username and the password in ${m.password_env}",
            ) from None
        except ConnectionRefusedError:
            raise _Fatal(
                f"cannot connect to the SMTP server at {where}: connection refused",
                hint="check mail.host and mail.port, and that the server is running",
            ) from None
        except socket.gaierror as e:
            raise _Fatal(
                f"cannot find the SMTP server {m.host!r}: {e.strerror}",
                hint="check mail.host",
            ) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected) as e:
            if _timed_out(e):
                raise _Fatal(
                    f"the SMTP server at {where} did not answer within {m.timeout:g} s",
                    hint="check mail.host, mail.port, mail.security (an implicit-TLS port "
                    'needs security = "tls") and the firewall, or raise mail.timeout',
                ) from None
            raise _Fatal(
                f"the SMTP server at {where} closed the connection during the greeting",
                hint="check mail.port and mail.security (implicit TLS vs STARTTLS)",
            ) from None
        except ssl.SSLCertVerificationError as e:
            raise _Fatal(
                f"the TLS certificate of {where} cannot be trusted: {e.verify_message}",
                hint="the server must present a certificate valid for mail.host "
                "(set SSL_CERT_FILE to add a private CA)",
            ) from None
        except ssl.SSLError as e:
            raise _Fatal(
                f"TLS with the SMTP server at {where} failed: {e.reason or e}",
                hint='security = "tls" is for implicit TLS (465), "starttls" for 587',
            ) from None
        except smtplib.SMTPException as e:
            raise _Fatal(f"the SMTP server at {where} refused the session: {_text(e)}") from None
        except OSError as e:
            raise _Fatal(
                f"cannot connect to the SMTP server at {where}: {e.strerror or e}",
                hint="check mail.host and mail.port",
            ) from None
        self._smtp = smtp
        return smtp

    def send(self, pack: Pack) -> None:
        """Deliver one pack; DeliveryError says why not (``_Fatal``: stop the run)."""
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
            raise _InDoubt(
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
        raise _InDoubt(
            f"the SMTP server gave an unreadable reply ({code} {_text(reply)}) after the whole "
            f"message to {rcpt} was sent: it may have been accepted, so it is not sent again "
            "without --resend"
        )

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """RSET after a refused transaction, so the connection can carry the next one."""
        import smtplib

        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop(smtp)

    def _not_delivered(
        self, smtp: smtplib.SMTP, e: BaseException, sender: str, rcpt: str
    ) -> DeliveryError:
        """The error for a failure before the end of DATA was sent: the message
        was definitely not accepted (``_Fatal``: neither will the next ones be).
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
                return _Fatal(
                    f"the SMTP server at {_where(self.config)} requires a login "
                    f"({e.smtp_code} {_text(e.smtp_error)})",
                    hint=f"set mail.username and export {self.config.mail.password_env}",
                )
            return _Fatal(
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


# --------------------------------------------------------------------------- sending


@dataclass
class Outcome:
    """What happened to one pack in one run.

    ``status``: ``sent``; ``failed``; ``skipped`` (already sent: nothing to
    do); ``in_flight`` (another run is sending it and has not said how it
    went: not confirmed); ``unknown`` (in doubt: the server may have accepted
    it, or a run died mid-send: not resent without ``--resend``); ``written``
    (dry run).
    """

    pack: Pack
    status: str
    detail: str = ""
    path: Path | None = None
    subject: str | None = None  # as the ledger has it, for a pack this run did not render

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.pack.group,
            "recipient": self.pack.recipient,
            "period": self.pack.period,
            "subject": self.pack.subject if self.subject is None else self.subject,
            "pack_hash": self.pack.pack_hash,
            "status": self.status,
            "detail": self.detail,
            "path": str(self.path) if self.path else None,
        }


@dataclass
class SendReport:
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False
    fatal: DeliveryError | None = None  # the connection or login failure that stopped the run

    def _with(self, *statuses: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in statuses]

    @property
    def sent(self) -> list[Outcome]:
        return self._with("sent")

    @property
    def failed(self) -> list[Outcome]:
        return self._with("failed")

    @property
    def unknown(self) -> list[Outcome]:
        return self._with("unknown")

    @property
    def skipped(self) -> list[Outcome]:
        """Sent before (confirmed): nothing to do."""
        return self._with("skipped")

    @property
    def in_flight(self) -> list[Outcome]:
        return self._with("in_flight")

    @property
    def ok(self) -> bool:
        """Every message confirmed sent: nothing failed, in doubt or in flight."""
        return not self.failed and not self.unknown and not self.in_flight

    def raise_for_failures(self) -> None:
        """DeliveryError (exit 4) when a message failed or its fate is unknown."""
        if self.ok:
            return
        n = len(self.outcomes)
        parts, hints = [], []
        if self.failed:
            parts.append(f"{len(self.failed)} of {n} messages not delivered")
            if self.fatal is not None and self.fatal.hint:
                hints.append(self.fatal.hint)
            hints.append("run the same command again: only the missing messages are sent")
        if self.unknown:
            parts.append(f"{len(self.unknown)} in doubt (the server may have accepted them)")
            hints.append(
                "ask whether the messages in doubt arrived; to send them again use "
                "--resend --to ADDRESS"
            )
        if self.in_flight:
            parts.append(f"{len(self.in_flight)} still being sent by another run")
            hints.append(
                "run the same command again when that run has finished: it then says "
                "whether they went out"
            )
        why = f" ({self.fatal.message})" if self.fatal is not None else ""
        raise DeliveryError("; ".join(parts) + why, hint="; then ".join(hints))

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "outcomes": [o.as_dict() for o in self.outcomes]}


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "?"


def send_packs(
    config: Config,
    store: Store,
    packs: Sequence[Pack],
    *,
    resend: bool = False,
    progress: Progress | None = None,
) -> SendReport:
    """Send each pack that the ledger says still needs sending; record every outcome.

    Never raises for a delivery problem: each pack's fate is in the report
    (``report.raise_for_failures()`` turns failures into a DeliveryError). A
    refused connection or login fails every pack still waiting, without
    hammering the server once per message. A message whose reply never came
    after it was sent whole is in doubt (``unknown``). A pack another run is
    sending is waited for (up to ``mail.timeout``) and reported as that run
    left it: confirmed only once it is recorded as sent.

    What the ledger already settles (sent, in flight, in doubt) is read first
    and never rendered: when every pack was sent, nothing is rendered, claimed
    or connected to. The others are all rendered before the first message
    goes out, so a template error stops the run with nothing sent.
    """
    config.mail.require_server()
    report = SendReport()
    fatal: DeliveryError | None = None
    owner = ledger.this_run()
    settled = [_settled(store, pack, resend) for pack in packs]
    for pack, done in zip(packs, settled, strict=True):
        if done is None:
            pack.render()
    with SmtpSession(config) as session:
        for number, (pack, done) in enumerate(zip(packs, settled, strict=True), 1):
            if done is not None:
                report.outcomes.append(done)
                continue
            c = ledger.claim(
                store,
                period=pack.period,
                group=pack.group,
                recipient=pack.recipient,
                pack_hash=pack.pack_hash,
                subject=pack.subject,
                message_id=pack.message_id,
                resend=resend,
                owner=owner,
            )
            if not c.claimed:
                report.outcomes.append(_not_claimed(pack, c.record, c.reason))
                continue
            if fatal is None:
                if progress:
                    progress(f"sending to {pack.recipient}", number, len(packs))
                try:
                    session.send(pack)
                except _Fatal as e:
                    fatal = e
                except _InDoubt as e:
                    ledger.mark_unknown(store, c.record.id, e.message)
                    report.outcomes.append(Outcome(pack, "unknown", e.message))
                    continue
                except DeliveryError as e:
                    ledger.mark_failed(store, c.record.id, e.message)
                    report.outcomes.append(Outcome(pack, "failed", e.message))
                    continue
                else:
                    ledger.mark_sent(store, c.record.id)
                    earlier = ledger.sent_before(store, pack.period, pack.recipient, pack.pack_hash)
                    note = (
                        f"updated pack: an earlier version went out {_when(earlier[-1].sent_at)}"
                        if earlier
                        else ""
                    )
                    report.outcomes.append(Outcome(pack, "sent", note))
                    continue
            assert fatal is not None
            report.fatal = fatal
            ledger.mark_failed(store, c.record.id, fatal.message)
            report.outcomes.append(Outcome(pack, "failed", fatal.message))
    _await_other_runs(store, report, config.mail.timeout)
    return report


def _settled(store: Store, pack: Pack, resend: bool) -> Outcome | None:
    """The pack's outcome when the ledger already decides it (sent before, in
    flight, in doubt: see ``ledger.refusal``); None when this run is to send it."""
    row = ledger.lookup(store, pack.period, pack.recipient, pack.pack_hash)
    reason = ledger.refusal(row, resend=resend) if row is not None else ""
    return _not_claimed(pack, row, reason) if row is not None and reason else None


def _not_claimed(pack: Pack, r: ledger.SendRecord, reason: str) -> Outcome:
    """What a pack this run did not send is, as the ledger row says."""
    if reason == "sent":
        return Outcome(pack, "skipped", f"already sent {_when(r.sent_at)}", subject=r.subject)
    if reason == "in_flight":
        return Outcome(
            pack,
            "in_flight",
            f"{r.owner} has been sending it since {_when(r.last_attempt_at)} and has not "
            "recorded the outcome: not confirmed",
            subject=r.subject,
        )
    if r.status == ledger.UNKNOWN:
        return Outcome(
            pack,
            "unknown",
            f"in doubt since {_when(r.last_attempt_at)}: {r.error}",
            subject=r.subject,
        )
    return Outcome(
        pack,
        "unknown",
        f"a run ({r.owner}) stopped while sending it at {_when(r.last_attempt_at)}; "
        "it may or may not have arrived",
        subject=r.subject,
    )


def _await_other_runs(store: Store, report: SendReport, timeout: float) -> None:
    """Wait (up to ``timeout`` seconds) for the packs other runs are sending, and
    report each as its run left it: sent, failed, in doubt, or still in flight."""
    import time

    waiting = {i for i, o in enumerate(report.outcomes) if o.status == "in_flight"}
    deadline = time.monotonic() + timeout
    while waiting:
        for i in sorted(waiting):
            o = report.outcomes[i]
            row = ledger.lookup(store, o.pack.period, o.pack.recipient, o.pack.pack_hash)
            if row is None or (row.status == ledger.SENDING and not row.stuck()):
                continue
            waiting.discard(i)
            if row.status == ledger.SENT:
                o.status, o.detail = "skipped", f"sent by {row.owner} {_when(row.sent_at)}"
                o.subject = row.subject
            elif row.status == ledger.FAILED:
                o.status, o.detail = "failed", f"{row.owner} could not deliver it: {row.error}"
                o.subject = row.subject
            else:
                report.outcomes[i] = _not_claimed(o.pack, row, "unknown")
        if not waiting or time.monotonic() >= deadline:
            return
        time.sleep(0.2)


def _eml_name(pack: Pack) -> str:
    who = re.sub(r"[^A-Za-z0-9.@_-]+", "_", parseaddr(pack.recipient)[1] or pack.recipient)
    return f"{pack.period}-{_slug(pack.group)}-{who}.eml"


def write_outbox(
    store: Store, packs: Sequence[Pack], outbox: Path, *, progress: Progress | None = None
) -> SendReport:
    """Dry run: write each pack as an .eml file; record nothing in the ledger.

    Each outcome's detail says what a real send would do with it now.
    """
    for pack in packs:  # a template error stops it before the outbox is touched
        pack.render()
    outbox.mkdir(parents=True, exist_ok=True)
    report = SendReport(dry_run=True)
    for number, pack in enumerate(packs, 1):
        path = outbox / _eml_name(pack)
        if progress:
            progress(f"writing the message to {pack.recipient}", number, len(packs))
        path.write_bytes(pack.as_bytes())
        row = ledger.lookup(store, pack.period, pack.recipient, pack.pack_hash)
        if row is None:
            detail = "a real send would deliver it"
        elif row.status == "sent":
            detail = f"already sent {_when(row.sent_at)}; a real send would skip it"
        elif row.status == "failed":
            detail = "failed before; a real send would retry it"
        else:
            detail = f"{row.outcome}: a real send would not touch it without --resend"
        report.outcomes.append(Outcome(pack, "written", detail, path))
    return report
