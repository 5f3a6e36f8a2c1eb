"""Locale-aware formatting of money, percentages, dates and periods (Babel).

The one home of number and date formatting: reports, the email and ``status``
all format through :class:`Formatter`. Babel is imported lazily.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from .errors import ConfigError

DASH = "—"  # what None shows as
_ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


class _Numbers:
    """Money, percentages, multiples and plain numbers in the formatter's locale."""

    DASH = DASH
    locale: Any
    currency: str
    bounds: tuple[float, ...]
    _money_pattern: str

    def money(self, v: float | None) -> str:
        from babel.numbers import format_currency

        if v is None:
            return self.DASH
        return format_currency(
            round(v), self.currency, format=self._money_pattern, locale=self.locale,
            currency_digits=False,
        )  # fmt: skip

    def money_short(self, v: float | None) -> str:
        from babel.numbers import format_compact_currency

        if v is None:
            return self.DASH
        digits = 1 if abs(v) >= 1000 else 0
        return format_compact_currency(v, self.currency, locale=self.locale, fraction_digits=digits)

    def pct(self, v: float | None, digits: int = 0) -> str:
        from babel.numbers import format_percent

        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return self.DASH
        base = self.locale.percent_formats[None].pattern.split(";")[0]
        fmt = base.replace("#,##0", "#,##0." + "0" * digits) if digits else base
        return format_percent(v, format=fmt, locale=self.locale)

    def pct_at(self, v: float | None) -> str:
        """A percentage read against the RAG thresholds: as many decimals as it takes
        for the text to stay on the value's side of each (94.8%, never 95% in Amber)."""
        from .metrics import pct_shown

        if v is None:
            return self.pct(v)
        shown, digits = pct_shown(v, self.bounds)
        return self.pct(shown, digits)

    def times(self, v: float | None) -> str:
        """A multiple: ``2.7×``."""
        return self.DASH if v is None else f"{self.num(v, 1)}×"

    def pp(self, v: float | None) -> str:
        """A change in percentage points: ``+4.2 pp``."""
        from babel.numbers import format_decimal

        if v is None:
            return self.DASH
        sign = "+" if v > 0 else "−" if v < 0 else "±"
        return f"{sign}{format_decimal(abs(v) * 100, format='#,##0.0', locale=self.locale)} pp"

    def num(self, v: float | None, digits: int | None = None) -> str:
        """A plain number; ``digits`` None picks 2 below 10, 1 below 1,000, else 0."""
        from babel.numbers import format_decimal

        if v is None:
            return self.DASH
        if digits is None:
            digits = 2 if abs(v) < 10 else 1 if abs(v) < 1000 else 0
        fmt = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(v, format=fmt, locale=self.locale)

    def signed_money(self, v: float | None) -> str:
        if v is None:
            return self.DASH
        return ("+" if v > 0 else "−" if v < 0 else "") + self.money(abs(v))


class _Dates:
    """Days, months and period labels in the formatter's locale."""

    DASH = DASH
    locale: Any

    def day(self, d: date | None) -> str:
        """The one date style of every report and email: the locale's medium date,
        always with its year ("Nov 30, 2026", "30 Nov 2026"), so that two years in
        view are never confused."""
        from babel.dates import format_date

        return self.DASH if d is None else format_date(d, "medium", locale=self.locale)

    def dates_in(self, text: str) -> str:
        """``text`` (a rule's reason, written with ISO dates) with each date in the one style."""
        return _ISO_DAY.sub(lambda mt: self.day(date.fromisoformat(mt.group())), text)

    def month(self, d: date | None) -> str:
        from babel.dates import format_skeleton

        return self.DASH if d is None else format_skeleton("yMMMM", d, locale=self.locale)

    def month_short(self, d: date) -> str:
        from babel.dates import format_skeleton

        return format_skeleton("MMM", d, locale=self.locale)

    def period_name(self, label: str) -> str:
        """``2026-11`` → "November 2026"; other labels as they are."""
        if re.fullmatch(r"\d{4}-\d{2}", label or ""):
            return self.month(date(int(label[:4]), int(label[5:]), 1))
        return label


class Formatter(_Numbers, _Dates):
    """Locale-aware formatting (Babel) for one report. ``None`` shows as "—"."""

    def __init__(self, locale: str, currency: str, bounds: Sequence[float] = ()) -> None:
        """``bounds``: the RAG thresholds a percentage is read against (see :meth:`pct_at`)."""
        from babel import Locale, UnknownLocaleError

        self.bounds = tuple(bounds)

        try:
            self.locale = Locale.parse(locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError) as e:
            raise ConfigError(f"report.locale: {locale!r} is not a known locale ({e})") from None
        self.currency = currency
        pattern = self.locale.currency_formats["standard"].pattern
        self._money_pattern = re.sub(r"\.0+", "", pattern.split(";")[0])

    @classmethod
    def for_config(cls, config: Any) -> Formatter:
        """The formatter of a config's ``[report]`` locale and currency and ``[rag]`` thresholds."""
        return cls(*cls.settings(config))

    @staticmethod
    def settings(config: Any) -> tuple[str, str, tuple[float, float]]:
        """What a config's formatter is made of: (locale, currency, RAG thresholds)."""
        rag = config.rag
        return config.report.locale, config.report.currency, (rag.green_at, rag.amber_at)

    def value(self, v: Any, kind: str) -> str:
        if kind == "money":
            return self.money(v)
        if kind == "percent":
            return self.pct(v)
        if kind == "pace":
            return self.pct_at(v)
        if kind == "times":
            return self.times(v)
        if kind == "count":
            return self.num(v, 0)
        return self.DASH if v is None else str(v)

    def filters(self) -> dict[str, Callable[..., str]]:
        return {
            "money": self.money,
            "money_short": self.money_short,
            "signed_money": self.signed_money,
            "pct": self.pct,
            "pct_at": self.pct_at,
            "times": self.times,
            "pp": self.pp,
            "num": self.num,
            "day": self.day,
            "month": self.month,
            "period_name": self.period_name,
            "fmt": self.value,
        }
