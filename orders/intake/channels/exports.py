"""Back-office export files mapped to canonical orders through the channel's ``export`` section of
``config/channels.yaml``: file header -> canonical field label. Three shapes: one row per order
(items in the same row), one row per item (rows sharing the order id are one order: 抖店's
子订单), and an order file plus an item file joined on the order id (千牛's 订单报表 + 宝贝报表).

Unit prices come from line totals where only those exist; a combined address string is split by
the address parser (postcode dropped); each discount column becomes a ledger row with its source
column, who offered it and who bears it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from orders.address import parse_address
from orders.errors import DomainError
from orders.intake.channels.base import (
    AdapterError,
    ChannelConfig,
    ExportSpec,
    FileSpec,
    discount,
    fen,
    local_time,
    norm_text,
    resolve_status,
    sheet_yuan,
    whole,
)

log = logging.getLogger(__name__)
ADDRESS = ("province", "city", "district", "detail")
POSTCODE = re.compile(r"[\s(（]*\d{6}[)）]?\s*$")
Row = dict[str, Any]
Numbered = tuple[int, Row]


def clean(value: Any) -> Any:
    """A cell as the platform meant it: Excel text guards removed (``="2026..."``, a leading ``'``
    or tab that keep long ids from turning into 1.23E+17)."""
    if not isinstance(value, str):
        return value
    v = value.strip().strip("\t").strip()
    if v.startswith('="') and v.endswith('"'):
        v = v[2:-1]
    return v.lstrip("'").strip()


class Fields:
    """One row read through a file spec: canonical key -> value, and the header each came from."""

    def __init__(self, spec: FileSpec, labels: Mapping[str, str], row: Row) -> None:
        self.values: dict[str, Any] = {}
        self.header_of: dict[str, str] = {}
        for header, key in pairs(spec, labels):
            if header not in row:
                self.header_of.setdefault(key, header)
                continue
            val = clean(row[header])
            if key not in self.values or (self.values[key] in (None, "") and val not in (None, "")):
                self.values[key] = val
                self.header_of[key] = header

    def has(self, key: str) -> bool:
        return self.values.get(key) not in (None, "")

    def where(self, key: str) -> str:
        return self.header_of.get(key, key)

    def get(self, key: str, required: bool = True) -> Any:
        val = self.values.get(key, "")
        if required and (val is None or str(val).strip() == ""):
            raise AdapterError(self.where(key), "required field missing")
        return val

    def text(self, key: str) -> str:
        val = self.values.get(key)
        return "" if val is None else str(val).strip()


_PAIRS: dict[tuple[int, int], tuple[FileSpec, list[tuple[str, str]]]] = {}


def pairs(spec: FileSpec, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(file header, canonical key) of a spec, worked out once per spec and label table."""
    hit = _PAIRS.get((id(spec), id(labels)))
    if hit is None or hit[0] is not spec:
        hit = (spec, [(h, labels.get(label, label)) for h, label in spec.columns.items()])
        _PAIRS[(id(spec), id(labels))] = hit
    return hit[1]


def header_for(cfg: ChannelConfig, labels: Mapping[str, str], key: str) -> str:
    """The file column that feeds canonical ``key`` (for rejects), or the key itself."""
    if cfg.export:
        for header, label in cfg.export.columns.items():
            if labels.get(label, label) == key:
                return header
    return key


def group(rows: Iterator[Numbered], spec: FileSpec, labels: Mapping[str, str],
          bad: list[tuple[int, str, str]]) -> dict[str, list[Numbered]]:
    """Rows by their order id, in first-seen order (rows of one order need not be adjacent)."""
    out: dict[str, list[Numbered]] = {}
    id_headers = [h for h, key in pairs(spec, labels) if key == "order_id"]
    for no, row in rows:
        if "__truncated__" in row:
            bad.append((no, "(row)", str(row["__truncated__"])))
            continue
        oid = next((v for v in (str(clean(row.get(h, ""))) for h in id_headers) if v), "")
        if not oid:
            bad.append((no, next((h for h in id_headers if h in row), "order_id"), "required field missing"))
            continue
        out.setdefault(oid, []).append((no, row))
    return out


class Mapper:
    """Builds one canonical order dict from an order's rows (raises AdapterError naming a column)."""

    def __init__(self, cfg: ChannelConfig, labels: Mapping[str, str], tz: ZoneInfo, shop: str) -> None:
        assert cfg.export is not None
        self.cfg, self.spec, self.labels, self.tz, self.shop = cfg, cfg.export, labels, tz, shop

    def money(self, val: Any, header: str) -> int:
        return sheet_yuan(val, header) if self.spec.money == "yuan" else fen(val, header)

    def amount(self, f: Fields, key: str, required: bool = True) -> int:
        return self.money(f.get(key, required), f.where(key)) if f.has(key) or required else 0

    def when(self, f: Fields, key: str, required: bool = True) -> datetime | None:
        if not f.has(key) and not required:
            return None
        return local_time(f.get(key), f.where(key), self.tz)

    def order(self, head: Row, lines: list[Row], line_spec: FileSpec) -> dict[str, Any] | None:
        spec = self.spec
        h = Fields(spec.main, self.labels, head)
        per_row = [h] if spec.rows != "item" else [h, *(Fields(spec.main, self.labels, r) for r in lines[1:])]
        status_text = norm_text(h.get("platform_status"))
        first_field = next(iter(self.cfg.maps), "status")
        try:
            st = resolve_status(self.cfg, [(first_field, status_text)], override=spec.status)
        except AdapterError as e:
            raise AdapterError(h.where("platform_status"), e.reason) from None
        if st.skip:
            return None
        items: list[dict[str, Any]] = []
        discounts: list[dict[str, Any]] = []
        for i, row in enumerate(lines):
            f = per_row[i] if spec.rows == "item" else Fields(line_spec, self.labels, row)
            items += self.item(f)
            if spec.rows == "item":
                discounts += self.discounts(row, sku=items[-1]["sku"])
        if spec.rows != "item":
            discounts += self.discounts(head)
        lines_total = sum(it["price"] * it["qty"] for it in items)
        if spec.derived and h.has("goods_payable"):
            rest = lines_total - self.amount(h, "goods_payable")
            if rest:
                d = spec.derived
                discounts.append(discount(d.get("kind", "other"), f"{h.where('goods_payable')}(差额)",
                                          d.get("label", "优惠"), rest, offered_by=d.get("offered_by", "unknown"),
                                          borne_by=d.get("borne_by", "unknown")))
        paid = self.amount(h, "paid")
        if spec.rows == "item" and "paid" in {self.labels.get(x, x) for x in spec.sum}:
            paid = sum(self.amount(f, "paid") for f in per_row)
        shipping = max((self.amount(f, "shipping", False) for f in per_row), default=0)
        return {
            "channel": self.cfg.name, "order_id": h.text("order_id"), "shop": h.text("shop") or self.shop,
            "created_at": self.when(h, "created_at"), "paid_at": self.when(h, "paid_at", False),
            "status": st.state, "platform_status": status_text[:32], "flags": st.flags,
            "buyer_name": h.text("buyer_name")[:64], "phone": h.text("phone")[:32], "address": self.address(h),
            "items": items, "goods_total": self.amount(h, "goods_total") if h.has("goods_total") and
            spec.rows == "order" and len(items) == 1 else lines_total,
            "discounts": discounts, "shipping": shipping, "paid": paid, "note": h.text("note")[:255],
        }

    def item(self, f: Fields) -> list[dict[str, Any]]:
        """One line, or two of the same SKU when a line total does not divide by the quantity
        (100.00 for 3: 33.33 × 2 + 33.34 × 1 keeps both the quantity and the total to the fen)."""
        qty = whole(f.get("qty"), f.where("qty"))
        if qty <= 0:
            raise AdapterError(f.where("qty"), f"quantity must be positive, got {qty}")
        sku = f.text("sku") or f.text("name")
        base = {"sku": sku[:64], "name": (f.text("name") or sku)[:128]}
        if not sku:
            raise AdapterError(f.where("sku"), "required field missing")
        if f.has("price"):
            return [{**base, "qty": qty, "price": self.amount(f, "price")}]
        total = self.amount(f, "line_total")
        unit, rest = divmod(total, qty)
        if not rest:
            return [{**base, "qty": qty, "price": unit}]
        return [{**base, "qty": qty - rest, "price": unit}, {**base, "qty": rest, "price": unit + 1}]

    def discounts(self, row: Row, sku: str | None = None) -> list[dict[str, Any]]:
        """Ledger rows from the discount columns (who offered); when the file also says who bears
        how much (抖店's 实际承担 columns) and the totals agree, each offer is split across bearers,
        its own party first."""
        offered: list[tuple[str, dict[str, str], int]] = []
        for header, tmpl in self.spec.discounts.items():
            raw = clean(row.get(header, ""))
            if raw not in (None, ""):
                amt = self.money(raw, header)
                if amt:
                    offered.append((header, tmpl, amt))
        borne = [(h, party, self.money(clean(row[h]), h)) for h, party in self.spec.bearers.items()
                 if clean(row.get(h, "")) not in (None, "")]
        borne = [b for b in borne if b[2]]
        if not borne or sum(b[2] for b in borne) != sum(o[2] for o in offered):
            return [discount(t.get("kind", "other"), h, t.get("label", h), a, offered_by=t.get("offered_by", "unknown"),
                             borne_by=t.get("borne_by", "unknown"), sku=sku) for h, t, a in offered]
        left = {party: amt for _, party, amt in borne}
        source_of = {party: h for h, party, _ in borne}
        out = []
        for h, t, amt in offered:
            by = t.get("offered_by", "unknown")
            for party in [by, *[p for p in left if p != by]]:
                take = min(amt, left.get(party, 0))
                if take <= 0:
                    continue
                left[party] -= take
                amt -= take
                label = t.get("label", h) + ("" if party == by else f"（{PARTY.get(party, party)}承担）")
                out.append(discount(t.get("kind", "other"), f"{h}/{source_of[party]}"[:64], label, take,
                                    offered_by=by, borne_by=party, sku=sku))
        return out

    def address(self, f: Fields) -> dict[str, str]:
        parts = {k: f.text(k) for k in ADDRESS}
        if parts["province"] or not f.has("address"):
            return parts
        text = POSTCODE.sub("", f.text("address"))
        try:
            a = parse_address(text)
        except DomainError:
            raise AdapterError(f.where("address"), "cannot split the address into province / city / street") \
                from None
        return {"province": a.province, "city": a.city, "district": a.district, "detail": a.detail[:255]}


PARTY = {"platform": "平台", "shop": "商家", "talent": "达人", "unknown": "未知"}


def check_main(spec: ExportSpec, header: list[str]) -> list[str]:
    return spec.main.missing(header)
