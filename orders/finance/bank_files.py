"""Settlement files as banks and platforms send them (``config/banks.yaml``): the layout whose
columns the file has, its lines as (row, order ref, label, amount in fen, channel codes), amounts
in 元 with thousands separators or 借/贷 columns, channel names in Chinese or English."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import ConfigDir
from orders.intake.files import TableFile, UnusableFile, sniff
from orders.money import MoneyError, yuan_to_fen

UNKNOWN = "?"  # a channel name the config does not know
TOTALS = {"合计", "总计", "小计", "本页合计", "累计"}


@dataclass(frozen=True)
class Layout:
    name: str
    order: tuple[str, ...]
    amount: tuple[str, ...] = ()
    credit: tuple[str, ...] = ()
    debit: tuple[str, ...] = ()
    ref: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    order_pattern: re.Pattern[str] | None = None

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> Layout:
        def cols(k: str) -> tuple[str, ...]:
            return tuple(str(x) for x in d.get(k) or ())

        pat = d.get("order_pattern")
        return cls(name, cols("order"), cols("amount"), cols("credit"), cols("debit"), cols("ref"), cols("channel"),
                   re.compile(str(pat)) if pat else None)

    def needs(self) -> tuple[str, ...]:
        """Header alternatives that must all be present (``A|B``: either)."""
        money = self.amount or self.credit
        return ("|".join(self.order), "|".join(money))


@dataclass
class BankConfig:
    layouts: list[Layout]
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, config: ConfigDir | None = None) -> BankConfig:
        data = (config or ConfigDir()).load("banks")
        layouts = [Layout.from_dict(str(n), d or {}) for n, d in (data.get("layouts") or {}).items()]
        names = {fold(k): tuple(str(c) for c in v) for k, v in (data.get("channel_names") or {}).items()}
        return cls(layouts, names)

    def channels(self, name: str) -> tuple[str, ...]:
        """Hub channel codes a 渠道 cell stands for; () for a blank cell, (UNKNOWN,) if not known."""
        if not name.strip():
            return ()
        return self.names.get(fold(name), (UNKNOWN,))


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


@dataclass
class Line:
    row: int
    ref: str  # the order reference
    label: str  # what to show for it (the line's serial, else the ref)
    amount: int | None  # fen; None = unreadable
    channel: str


@dataclass
class BankFile:
    table: TableFile
    layout: Layout

    def describe(self) -> str:
        return f"{self.table.describe()}, layout {self.layout.name}"


def open_bank_file(path: Path, cfg: BankConfig, bank: str | None = None) -> BankFile:
    """The layout (named, or the first that fits) and the file's header. UnusableFile otherwise."""
    layouts = [x for x in cfg.layouts if bank is None or x.name == bank]
    if not layouts:
        raise UnusableFile(f"unknown bank layout {bank!r} (known: {', '.join(x.name for x in cfg.layouts)})")
    errors = []
    for layout in layouts:
        try:
            return BankFile(sniff(path, header_has=layout.needs()), layout)
        except UnusableFile as e:
            if "no header row" not in str(e):
                raise
            errors.append(f"{layout.name} needs {' and '.join(layout.needs())}")
    raise UnusableFile("no known settlement layout fits the header: " + "; ".join(errors))


def _cell(row: dict[str, Any], names: tuple[str, ...]) -> str:
    for n in names:
        if n in row and str(row[n]).strip():
            return str(row[n]).strip()
    return ""


def money(text: str) -> int | None:
    """'1,234.50', '￥1,234.50', '+12.80', '12.8元', '(12.80)'; None when it is not an amount."""
    t = unicodedata.normalize("NFKC", text).replace(",", "").replace("¥", "").replace("元", "").replace(" ", "")
    neg = t.startswith("(") and t.endswith(")")
    t = t.strip("()").lstrip("+")
    if not t:
        return 0
    try:
        v = yuan_to_fen(t)
    except MoneyError:
        return None
    return -v if neg else v


def lines(bf: BankFile) -> list[Line]:
    lay = bf.layout
    out = []
    for no, row in bf.table.rows():
        first = next(iter(row.values()), "")
        if str(first).startswith("#") or str(first).strip() in TOTALS:
            continue  # 支付宝's title and footer lines, a statement's total line
        raw_ref = _cell(row, lay.order)
        if lay.order_pattern is not None and raw_ref:
            m = lay.order_pattern.search(unicodedata.normalize("NFKC", raw_ref))
            raw_ref = m.group(1) if m else ""
        if lay.amount:
            amount = money(_cell(row, lay.amount))
        else:
            credit, debit = money(_cell(row, lay.credit)), money(_cell(row, lay.debit))
            amount = None if credit is None or debit is None else credit - debit
        if "__truncated__" in row:
            amount = None
        if not raw_ref and not amount and not _cell(row, lay.ref):
            continue  # blank or summary line
        out.append(Line(no, raw_ref, _cell(row, lay.ref) or raw_ref, amount, _cell(row, lay.channel)))
    return out
