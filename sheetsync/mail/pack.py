"""Building the packs of one day: which pack each recipient gets, and its ``pack_hash``.

A pack's ``pack_hash`` is a SHA-256 over what the pack is made of, known before
anything is rendered (see :class:`PackBuilder`). The Message-ID is derived from
the hash and the recipient. Also here: choosing the recipient groups and
recipients of a send.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Sequence
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from ..config import Config, RecipientGroup
from ..errors import ConfigError, UsageError
from ..plan import PlanAsOf, PlanBasis, plan_as_of, plan_basis, plan_digest
from ..progress import Progress
from ..report.templates import files_digest, template_dirs_for
from ..store import Store
from .content import PackContents
from .message import Pack, PackContent, period_key


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


class PackBuilder(PackContents):
    """Builds the packs of one as-of day.

    A pack's ``pack_hash`` comes from what it is made of, found without
    rendering: the plan the day reads (``sheetsync.plan.plan_digest``: which
    record versions, which reads), the settings (``_settings_digest``), every
    file of the template search path, the group's scope (reports, teams,
    workbook), the day and sheetsync's version. So the send ledger can say that
    a pack was already sent without its PDFs being made. Its content is made
    when first asked for, once per group, each (report, teams) PDF once (the
    rendering half, :class:`sheetsync.mail.content.PackContents`).
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
            from .. import __version__

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
