"""What every channel adapter shares: its config (status and field mappings from
``config/channels.yaml``), the status resolver, money and time parsing, and errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from orders.intake.canonical import HOLD_PREFIX, REFUNDING
from orders.money import MoneyError, yuan_to_fen

SKIP = "skip"
NONE = "-"


class AdapterError(ValueError):
    """A payload or row the adapter cannot map: which field and why (English, for rejects files)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class FileFormatError(ValueError):
    """The whole file is unusable (wrong channel's format, broken or truncated container)."""


@dataclass(frozen=True)
class ExportSpec:
    columns: dict[str, str]  # file header -> canonical field label (see FIELD_LABELS)
    required: tuple[str, ...]  # headers that identify this channel's export
    discounts: dict[str, dict[str, str]]  # file header -> ledger row template
    status: dict[str, Any]  # export status text -> mapping value (falls back to the API map)
    money: str = "yuan"


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
        spec = None
        if exp:
            spec = ExportSpec(columns={str(k): str(v) for k, v in (exp.get("columns") or {}).items()},
                              required=tuple(exp.get("required") or ()),
                              discounts={str(k): dict(v) for k, v in (exp.get("discounts") or {}).items()},
                              status={str(k): v for k, v in (exp.get("status") or {}).items()},
                              money=str(exp.get("money", "yuan")))
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
    try:
        return yuan_to_fen(str(value))  # str(float) is the shortest repr: 12.8 -> "12.8"
    except MoneyError as e:
        raise AdapterError(fld, str(e)) from None


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


def local_time(value: Any, fld: str, tz: ZoneInfo) -> datetime:
    """'2026-01-22 10:42:00' (platform local time), ISO with offset, unix seconds, or a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    text = str(value or "").strip()
    if not text:
        raise AdapterError(fld, "missing time")
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        dt = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise AdapterError(fld, f"not a time: {text!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


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
