"""The canonical order shape (one JSON object per line in ``orderbot import``).
Channel adapters map each platform's payload into this same shape."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from orders.money import MoneyError, yuan_to_fen

FEN_CONTEXT = {"money": "fen"}  # model_validate(..., context=FEN_CONTEXT): ints are already fen
# What the schema stores: money columns are 32-bit integers (PostgreSQL INTEGER), so every amount
# and every sum of them stays within ±MAX_FEN (21,474,836.47 yuan). Times outside EARLIEST..LATEST
# are typos or probes (9999-12-31), refused like any other bad value.
MAX_FEN = 2**31 - 1
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _fen(v: Any, info: ValidationInfo) -> int:
    if type(v) is int and info.context is not None and info.context.get("money") == "fen":
        return _in_range(v)
    if isinstance(v, float):
        raise ValueError("money must be a decimal string like \"12.80\", not a float")
    if isinstance(v, str | int | Decimal) and not isinstance(v, bool):
        try:
            return _in_range(yuan_to_fen(v))
        except MoneyError as e:
            raise ValueError(str(e)) from None
    raise ValueError("money must be a decimal string like \"12.80\"")


def _in_range(fen: int) -> int:
    if abs(fen) > MAX_FEN:
        raise ValueError(f"amount {str(fen)[:-2] or '0'} yuan is beyond what the hub stores (at most "
                         f"{MAX_FEN // 100} yuan)")
    return fen


Fen = Annotated[int, BeforeValidator(_fen)]


class CanonAddress(BaseModel):
    model_config = ConfigDict(extra="forbid")
    province: str = Field(max_length=32)
    city: str = Field(max_length=32)
    district: str = Field("", max_length=32)
    detail: str = Field(max_length=255)


class CanonItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    qty: int = Field(gt=0, le=100000, strict=True)
    price: Fen = Field(ge=0, le=MAX_FEN)


class CanonDiscount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=32)
    source: str = Field("", max_length=64)
    label: str = Field("", max_length=128)
    amount: Fen = Field(ge=-MAX_FEN, le=MAX_FEN)
    promotion_id: str = Field("", max_length=64)
    offered_by: str = Field("unknown", max_length=16)
    borne_by: str = Field("unknown", max_length=16)
    sku: str | None = None  # the order line it belongs to, if any


class CanonOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(min_length=1, max_length=20)
    order_id: str = Field(min_length=1, max_length=64)
    shop: str = Field("", max_length=64)
    created_at: datetime
    paid_at: datetime | None = None
    status: str | None = None  # hub workflow state; None = the workflow's paid state
    platform_status: str = Field("", max_length=32)  # the platform's own code, kept for re-imports
    modified_at: datetime | None = None
    buyer_name: str = Field("", max_length=64)
    buyer_nick: str = Field("", max_length=64)  # platform nickname: kept only as a search hash
    phone: str = Field("", max_length=32)
    buyer_id: str = Field("", max_length=64)  # the platform's buyer id (kept only as a hash)
    address: CanonAddress
    items: list[CanonItem] = Field(min_length=1)
    goods_total: Fen = Field(ge=0, le=MAX_FEN)
    discounts: list[CanonDiscount] = Field(default_factory=list)
    shipping: Fen = Field(0, ge=0, le=MAX_FEN)
    paid: Fen = Field(ge=0, le=MAX_FEN)
    flags: list[str] = Field(default_factory=list)
    owner: str | None = None
    note: str = Field("", max_length=255)

    @field_validator("created_at", "paid_at", "modified_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return v
        if v.tzinfo is None:
            raise ValueError("timestamp needs a UTC offset, e.g. 2026-01-22T10:42:00+08:00")
        # a year strictly inside is inside whatever the offset; only the edge years need the aware
        # comparison (1.7 µs with a ZoneInfo, three per order)
        if not EARLIEST.year < v.year < LATEST.year - 1 and not EARLIEST <= v < LATEST:
            raise ValueError(f"time {v.isoformat()} is outside {EARLIEST.year}..{LATEST.year - 1}")
        return v

    @model_validator(mode="after")
    def _sums_fit(self) -> CanonOrder:
        lines = sum(it.price * it.qty for it in self.items)
        ledger = sum(d.amount for d in self.discounts)
        if lines > MAX_FEN or abs(ledger) > MAX_FEN:
            raise ValueError(f"amounts too large: lines add up to {lines} fen (at most {MAX_FEN})")
        return self


# Flags the platform controls (replaced on every re-import); every other flag belongs to the hub.
HOLD_PREFIX = "暂停:"
REFUNDING = "退款中"


def is_platform_flag(flag: str) -> bool:
    return flag.startswith(HOLD_PREFIX) or flag == REFUNDING


def first_error(exc: Any) -> tuple[str, str]:
    """Pydantic ValidationError -> (field, reason) of the first problem, for a rejects file."""
    e = exc.errors()[0]
    loc = ".".join(str(x) for x in e["loc"]) or "(line)"
    return loc, str(e["msg"]).removeprefix("Value error, ")
