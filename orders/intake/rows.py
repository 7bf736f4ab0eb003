"""New orders as plain tuples for one bulk write per table (orders, lines, discount ledger,
timeline), the same values the ORM would store: search keys (#11), buyer keys (#18), sealed
values encrypted in one pass (#13), flags and amount check. JSON repeated across orders (flags,
the ``imported`` timeline detail) is serialised once per distinct value."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orders.crypto import encrypt_many
from orders.finance.tracing import MISMATCH_FLAG
from orders.intake.canonical import CanonOrder
from orders.models import reversed_key
from orders.money import fen_to_yuan
from orders.privacy import buyer_columns, buyer_id_seal, hash_buyer_id

Row = tuple[Any, ...]
ORDER_COLS = (
    "id", "order_no", "order_no_rev", "channel", "channel_order_id", "channel_order_id_rev", "shop", "status",
    "status_since", "flags", "created_at", "paid_at", "updated_at", "buyer_name", "phone_masked", "phone_hash",
    "phone_sealed", "phone_last4", "name_hash", "nick_hash", "province", "city", "district", "address_detail",
    "goods_total_fen", "shipping_fen", "discount_total_fen", "paid_fen", "owner_id", "note", "version",
    "platform_status", "amount_diff_fen", "buyer_id_hash", "buyer_id_sealed")
LINE_COLS = ("id", "order_id", "sku", "name", "qty", "price_fen")
DISCOUNT_COLS = ("order_id", "line_id", "kind", "source", "label", "promotion_id", "offered_by", "borne_by",
                 "amount_fen")
EVENT_COLS = ("order_id", "at", "actor", "source", "kind", "from_state", "to_state", "detail")


def event_row(order_id: int, at: Any, actor: str, source: str, *, kind: str, from_state: str | None = None,
              to_state: str | None = None, detail: str | None = None) -> Row:
    """One timeline row in ``EVENT_COLS`` order (the kind by keyword, so tests/test_labels.py sees it)."""
    return (order_id, at, actor, source, kind, from_state, to_state, detail)


@dataclass
class NewRows:
    orders: list[Row] = field(default_factory=list)
    lines: list[Row] = field(default_factory=list)
    discounts: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    phones: list[tuple[int, str, datetime]] = field(default_factory=list)  # (id, phone hash, created) for brushing
    mismatched: list[tuple[int, CanonOrder, int]] = field(default_factory=list)  # (order id, order, diff fen)

    def extend(self, more: NewRows) -> None:
        for name in ("orders", "lines", "discounts", "events", "phones", "mismatched"):
            getattr(self, name).extend(getattr(more, name))


def amount_check(o: CanonOrder) -> tuple[int, int, int]:
    """(lines total, ledger total, difference in fen: 0 = adds up), as ``orders.finance.tracing``:
    paid = lines − ledger + shipping; when that holds but the goods total disagrees with the lines,
    the goods total's difference."""
    lines_total = sum(it.price * it.qty for it in o.items)
    disc = sum(d.amount for d in o.discounts)
    diff = o.paid - (lines_total - disc + o.shipping)
    if not diff and o.goods_total != lines_total:
        diff = lines_total - o.goods_total
    return lines_total, disc, diff


def build(new: Sequence[CanonOrder], ids: Sequence[int], line_ids: Sequence[int], numbers: Sequence[str],
          now: datetime, default: str, ts: Callable[[datetime], Any]) -> NewRows:
    """Rows of ``new`` orders with ids ``ids`` (and ``line_ids`` for their lines, in order) and
    order numbers ``numbers``; ``ts`` turns an aware datetime into what the database takes."""
    out = NewRows()
    keys_of = [buyer_columns(o.phone, o.buyer_name, o.buyer_nick) for o in new]
    # encrypted columns in ORDER_COLS order: name, phone digest, street, buyer id digest
    sealed = encrypt_many([t for o, keys in zip(new, keys_of, strict=True) for t in (
        o.buyer_name, keys["phone_sealed"], o.address.detail, buyer_id_seal(o.channel, o.buyer_id))])
    dumps = json.dumps
    now_ts = ts(now)
    flags_json: dict[tuple[str, ...], str] = {}
    imported_json: dict[tuple[str, str, tuple[str, ...]], str] = {}
    li = iter(line_ids)
    for k, (oid, o, order_no, keys) in enumerate(zip(ids, new, numbers, keys_of, strict=True)):
        _, disc, diff = amount_check(o)
        flags = tuple(dict.fromkeys([*o.flags, MISMATCH_FLAG])) if diff else tuple(dict.fromkeys(o.flags))
        fj = flags_json.get(flags)
        if fj is None:
            fj = flags_json[flags] = dumps(list(flags))
        status = o.status or default
        created = ts(o.created_at)
        since = ts(o.paid_at) if o.paid_at else created
        name, phone_sealed, detail, buyer_sealed = sealed[4 * k:4 * k + 4]
        addr = o.address
        out.orders.append((
            oid, order_no, reversed_key(order_no), o.channel, o.order_id, reversed_key(o.order_id), o.shop, status,
            since, fj, created, since if o.paid_at else None, now_ts, name, keys["phone_masked"], keys["phone_hash"],
            phone_sealed, keys["phone_last4"], keys["name_hash"], keys["nick_hash"], addr.province, addr.city,
            addr.district, detail, o.goods_total, o.shipping, disc, o.paid, o.owner, o.note, 1, o.platform_status,
            diff, hash_buyer_id(o.channel, o.buyer_id), buyer_sealed))
        by_sku: dict[str, int] = {}
        for it in o.items:
            lid = next(li)
            by_sku[it.sku] = lid
            out.lines.append((lid, oid, it.sku, it.name, it.qty, it.price))
        for d in o.discounts:
            out.discounts.append((oid, by_sku.get(d.sku) if d.sku else None, d.kind, d.source, d.label,
                                  d.promotion_id, d.offered_by, d.borne_by, d.amount))
        ikey = (o.channel, o.platform_status, tuple(o.flags))
        ij = imported_json.get(ikey)
        if ij is None:
            ij = imported_json[ikey] = dumps({"actor_name": "导入", "channel": o.channel,
                                              "platform_status": o.platform_status, "flags": o.flags})
        out.events.append(event_row(oid, since, "import", "import", kind="imported", to_state=status, detail=ij))
        if diff:
            flag = dumps({"actor_name": "系统", "flag": MISMATCH_FLAG, "diff_fen": diff, "diff": fen_to_yuan(diff)})
            out.events.append(event_row(oid, now_ts, "system", "import", kind="flagged", detail=flag))
            out.mismatched.append((oid, o, diff))
        out.phones.append((oid, keys["phone_hash"], o.created_at))
    return out


def build_ahead(new: Sequence[CanonOrder], start: int, line_start: int, now: datetime, default: str,
                ts: Callable[[datetime], Any]) -> NewRows:
    """``build`` before the batch's transaction, when ids and order numbers are not taken yet: order
    ``new[k]`` gets the stand-in id ``start + k``, its lines stand-in ids from ``line_start`` on (in
    order, as ``build`` numbers them) and no order number; :func:`place` puts the real ones in."""
    n_lines = sum(len(o.items) for o in new)
    return build(new, range(start, start + len(new)), range(line_start, line_start + n_lines), [""] * len(new),
                 now, default, ts)


def place(ahead: NewRows, keep: Sequence[int], ids: Sequence[int], line_ids: Sequence[int],
          numbers: Sequence[str]) -> NewRows:
    """The rows ``build`` makes for the orders of stand-in ids ``keep`` (increasing; the batch's others
    turned out known, duplicated or refused) with their real ``ids``, ``line_ids`` and order
    ``numbers``, from rows built ahead (:func:`build_ahead` over stand-in ids 0, 1, ...)."""
    real = dict(zip(keep, ids, strict=True))
    number = dict(zip(keep, numbers, strict=True))
    li = iter(line_ids)
    line_of = {r[0]: next(li) for r in ahead.lines if r[1] in real}
    out = NewRows()
    out.orders = [(real[r[0]], number[r[0]], reversed_key(number[r[0]]), *r[3:]) for r in ahead.orders if r[0] in real]
    out.lines = [(line_of[r[0]], real[r[1]], *r[2:]) for r in ahead.lines if r[1] in real]
    out.discounts = [(real[r[0]], None if r[1] is None else line_of[r[1]], *r[2:])
                     for r in ahead.discounts if r[0] in real]
    out.events = [(real[r[0]], *r[1:]) for r in ahead.events if r[0] in real]
    out.phones = [(real[k], h, at) for k, h, at in ahead.phones if k in real]
    out.mismatched = [(real[k], o, diff) for k, o, diff in ahead.mismatched if k in real]
    return out
