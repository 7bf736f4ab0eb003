"""What every channel adapter shares: its config (status and field mappings from
``config/channels.yaml``), the status resolver, money and time parsing, and errors."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orders.intake.canonical import HOLD_PREFIX, REFUNDING
from orders.intake.files import UnusableFile
from orders.money import MoneyError, yuan_to_fen

SKIP = "skip"
NONE = "-"


class AdapterError(ValueError):
    """A payload or row the adapter cannot map: which field and why (English, for rejects files)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class FileFormatError(UnusableFile):
    """The whole file is unusable (wrong channel's format, broken or truncated container)."""


@dataclass(frozen=True)
class FileSpec:
    """One file of an export: its name in the platform's back end, the headers that identify it
    (an entry ``A|B`` accepts either: headers differ between back-end versions) and file header ->
    canonical field label (several headers may feed one field; the first present wins)."""

    name: str
    columns: dict[str, str]
    required: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], default_name: str) -> FileSpec:
        return cls(name=str(data.get("name") or default_name),
                   columns={str(k): str(v) for k, v in (data.get("columns") or {}).items()},
                   required=tuple(str(r) for r in data.get("required") or ()))

    def missing(self, header: list[str]) -> list[str]:
        have = set(header)
        return [r for r in self.required if not any(alt in have for alt in r.split("|"))]


@dataclass(frozen=True)
class ExportSpec:
    main: FileSpec  # one row per order (rows: order) or per item (rows: item)
    items: FileSpec | None  # a second file with one row per item, joined on the order id (Taobao)
    rows: str  # "order" or "item" (rows sharing the order id are one order)
    sum: tuple[str, ...]  # canonical keys summed over an order's rows (rows: item)
    discounts: dict[str, dict[str, str]]  # file header -> ledger row template (offered by)
    bearers: dict[str, str]  # file header -> party bearing that much of the line's discounts
    derived: dict[str, str] | None  # ledger row for (lines - goods payable) when only that is given
    status: dict[str, Any]  # export status text -> mapping value (falls back to the API map)
    money: str = "yuan"

    @property
    def columns(self) -> dict[str, str]:
        return self.main.columns

    @property
    def required(self) -> tuple[str, ...]:
        return self.main.required

    @classmethod
    def from_dict(cls, exp: Mapping[str, Any]) -> ExportSpec:
        items = exp.get("items")
        return cls(main=FileSpec.from_dict(exp, "订单导出"),
                   items=FileSpec.from_dict(items, "商品明细") if items else None,
                   rows=str(exp.get("rows", "order")), sum=tuple(str(x) for x in exp.get("sum") or ()),
                   discounts={str(k): dict(v) for k, v in (exp.get("discounts") or {}).items()},
                   bearers={str(k): str(v) for k, v in (exp.get("bearers") or {}).items()},
                   derived=dict(exp["derived_discount"]) if exp.get("derived_discount") else None,
                   status={norm_text(k): v for k, v in (exp.get("status") or {}).items()},
                   money=str(exp.get("money", "yuan")))


def norm_text(value: Any) -> str:
    """Full-width forms folded (Excel and IMEs mix '，' and ','), outer spaces dropped."""
    return unicodedata.normalize("NFKC", str(value)).strip()


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    label: str
    maps: dict[str, dict[str, Any]]  # platform field -> {code: state | flag | skip | - | [..]}
    extra: dict[str, Any] = field(default_factory=dict)
    export: ExportSpec | None = None

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> ChannelConfig:
        exp = data.get("export")
        spec = ExportSpec.from_dict(exp) if exp else None
        maps = {str(f): {str(k): v for k, v in (m or {}).items()} for f, m in (data.get("maps") or {}).items()}
        extra = {k: v for k, v in data.items() if k not in ("maps", "export", "label")}
        return cls(name=name, label=str(data.get("label", name)), maps=maps, extra=extra, export=spec)


@dataclass
class Resolved:
    state: str | None = None
    flags: list[str] = field(default_factory=list)
    skip: bool = False


def resolve_status(cfg: ChannelConfig, codes: list[tuple[str, str]],
                   override: Mapping[str, Any] | None = None) -> Resolved:
    """Map (platform field, code) pairs through the channel's maps, in order: a hub state (later
    fields win), ``退款中`` (overlay), ``暂停:…`` (hold flag), ``skip`` (not taken in), ``-`` nothing.
    ``override`` is tried first for the first pair (an export's status text). A code missing from
    its map (and no ``*`` default there) is an AdapterError."""
    out = Resolved()
    for i, (fld, code) in enumerate(codes):
        table = cfg.maps.get(fld, {})
        value = override.get(str(code)) if (i == 0 and override) else None
        if value is None:
            value = table.get(str(code), table.get("*"))
        if value is None:
            raise AdapterError(fld, f"unknown status code {code!r} for {cfg.name}")
        for v in value if isinstance(value, list) else [value]:
            v = str(v)
            if v == SKIP:
                out.skip = True
            elif v == NONE:
                continue
            elif v == REFUNDING or v.startswith(HOLD_PREFIX):
                if v not in out.flags:
                    out.flags.append(v)
            else:
                out.state = v
    return out


def yuan(value: Any, fld: str) -> int:
    """A platform yuan amount (string or JSON number) as integer fen."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise AdapterError(fld, "money must be a number")
    if type(value) is int:
        return value * 100
    if type(value) is str and _PLAIN_YUAN.fullmatch(value):  # "199.00", "12.8", "5": no Decimal needed
        whole, _, part = value.partition(".")
        return int(whole) * 100 + int(part.ljust(2, "0") if part else 0)
    try:
        return yuan_to_fen(str(value))  # str(float) is the shortest repr: 12.8 -> "12.8"
    except MoneyError as e:
        raise AdapterError(fld, str(e)) from None


def sheet_yuan(value: Any, fld: str) -> int:
    """A spreadsheet yuan cell: '1,234.50', '￥12.80', '12.8元', full-width digits, or an XLSX float
    (rounded to the fen only when it is a fen amount up to float noise)."""
    if isinstance(value, float):
        cents = value * 100
        if abs(cents - round(cents)) > 1e-6:
            raise AdapterError(fld, f"more than two decimals: {value!r}")
        return round(cents)
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).replace(",", "").replace("¥", "").replace("元", "").strip()
    return yuan(value, fld)


def fen(value: Any, fld: str) -> int:
    """A platform fen integer."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise AdapterError(fld, f"expected whole fen, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise AdapterError(fld, f"expected whole fen, got {value!r}") from None


def whole(value: Any, fld: str) -> int:
    if isinstance(value, bool):
        raise AdapterError(fld, "expected a whole number")
    try:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise AdapterError(fld, f"expected a whole number, got {value!r}") from None


EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：](\d{1,2})"
                   r"(?:[:：](\d{1,2})(?:\.(\d{1,6}))?)?)?$")
_PLAIN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # what platform APIs send: fromisoformat reads it
_NUMBER = re.compile(r"\d+(\.\d+)?")
_PLAIN_YUAN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")


def local_time(value: Any, fld: str, tz: ZoneInfo) -> datetime:
    """A platform or spreadsheet time, read in ``tz`` when it has no offset: '2026-01-22 10:42:00',
    '2026/1/22 10:01' (Excel's re-save), ISO with offset, unix seconds, an Excel serial day number
    (46044.4167; XLSX cells without a date format), or a datetime (openpyxl's reading)."""
    try:
        return _local_time(value, fld, tz)
    except (OverflowError, OSError, ValueError) as e:
        if isinstance(e, AdapterError):
            raise
        raise AdapterError(fld, f"not a time: {str(value)[:40]!r}") from None


def _local_time(value: Any, fld: str, tz: ZoneInfo) -> datetime:
    if type(value) is str and len(value) == 19 and value.isascii() and _PLAIN.fullmatch(value):
        return datetime.fromisoformat(value).replace(tzinfo=tz)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, bool):
        raise AdapterError(fld, "not a time")
    if isinstance(value, int | float):
        return _number_time(float(value), fld, tz)
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        raise AdapterError(fld, "missing time")
    if _NUMBER.fullmatch(text):
        return _number_time(float(text), fld, tz)
    m = _DATE.match(text)
    if m:
        y, mo, d, h, mi, sec, frac = m.groups()
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0),
                      int((frac or "0").ljust(6, "0")))
        return dt.replace(tzinfo=tz)
    try:
        dt = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise AdapterError(fld, f"not a time: {text[:40]!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def _number_time(n: float, fld: str, tz: ZoneInfo) -> datetime:
    """Unix seconds (API payloads) or an Excel serial day number (days since 1899-12-30, local)."""
    if 20_000 <= n < 100_000:  # Excel serials: 1954..2173, to the second
        return (EXCEL_EPOCH + timedelta(seconds=round(n * 86400))).replace(tzinfo=tz)
    if n >= 100_000_000:
        return datetime.fromtimestamp(int(n), UTC)
    raise AdapterError(fld, f"not a time: {n!r}")


def opt_time(value: Any, fld: str, tz: ZoneInfo) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    return local_time(value, fld, tz)


def need(d: Mapping[str, Any], key: str, where: str = "") -> Any:
    if key not in d or d[key] is None or d[key] == "":
        raise AdapterError(f"{where}{key}", "required field missing")
    return d[key]


def discount(kind: str, source: str, label: str, amount: int, *, promotion_id: str = "", offered_by: str = "unknown",
             borne_by: str = "unknown", sku: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "source": source, "label": label, "amount": amount, "promotion_id": promotion_id,
            "offered_by": offered_by, "borne_by": borne_by, "sku": sku}
