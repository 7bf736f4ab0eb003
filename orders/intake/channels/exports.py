"""Back-office export files (CSV or XLSX), one order per row, mapped to canonical orders through
the channel's ``export`` section of ``config/channels.yaml`` (file header -> canonical field label)."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from orders.intake.channels.base import (
    AdapterError,
    ChannelConfig,
    FileFormatError,
    discount,
    fen,
    local_time,
    resolve_status,
    whole,
    yuan,
)

ADDRESS = ("province", "city", "district", "detail")
ITEM = ("sku", "name", "qty", "price")


def read_rows(path: Path) -> Iterator[tuple[int, list[str] | None, dict[str, Any]]]:
    """(row number, header (first row only, else None), {header: value}). A short row (a truncated
    file) comes back with the key ``__truncated__``."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _xlsx(path)
    else:
        yield from _csv(path)


def _csv(path: Path) -> Iterator[tuple[int, list[str] | None, dict[str, Any]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise FileFormatError("file is neither UTF-8 nor GBK text") from None
    reader = csv.reader(text.splitlines(), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileFormatError("file is empty") from None
    except csv.Error as e:
        raise FileFormatError(f"header row unreadable: {e}") from None
    yield 1, header, {}
    no = 1
    while True:
        no += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield no, None, {"__truncated__": f"row unreadable ({e}); file truncated?"}
            return
        if not any(c.strip() for c in cells):
            continue
        row: dict[str, Any] = dict(zip(header, (c.strip() for c in cells), strict=False))
        if len(cells) < len(header):
            row["__truncated__"] = f"row has {len(cells)} of {len(header)} columns; file truncated?"
        yield no, None, row


def _xlsx(path: Path) -> Iterator[tuple[int, list[str] | None, dict[str, Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise FileFormatError(f"not a readable XLSX file (truncated or damaged?): {e}") from None
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise FileFormatError("file is empty")
        header = [str(h).strip() if h is not None else "" for h in first]
        yield 1, header, {}
        for no, cells in enumerate(rows, 2):
            if not any(c not in (None, "") for c in cells):
                continue
            yield no, None, {h: ("" if c is None else c) for h, c in zip(header, cells, strict=False) if h}
    finally:
        wb.close()


def check_header(cfg: ChannelConfig, header: list[str]) -> None:
    spec = cfg.export
    if spec is None:
        raise FileFormatError(f"channel {cfg.name} has no export format configured")
    missing = [h for h in spec.required if h not in header]
    if missing:
        raise FileFormatError(f"header lacks {', '.join(missing)}: not a {cfg.name} ({cfg.label}) export file?")


def map_row(cfg: ChannelConfig, labels: Mapping[str, str], row: dict[str, Any], tz: ZoneInfo,
            shop: str) -> dict[str, Any] | None:
    """One export row -> a canonical order dict (None = skipped, e.g. unpaid). AdapterError names
    the file's column."""
    spec = cfg.export
    assert spec is not None
    if "__truncated__" in row:
        raise AdapterError("(row)", str(row["__truncated__"]))
    v: dict[str, Any] = {}
    header_of: dict[str, str] = {}
    for header, label in spec.columns.items():
        key = labels.get(label, label)
        header_of[key] = header
        if header in row:
            v[key] = row[header]

    def get(key: str, required: bool = True) -> Any:
        val = v.get(key, "")
        if required and (val is None or str(val).strip() == ""):
            raise AdapterError(header_of.get(key, key), "required field missing")
        return val

    def amount(val: Any, header: str) -> int:
        return yuan(val, header) if spec.money == "yuan" else fen(val, header)

    def money(key: str, required: bool = True) -> int:
        return amount(get(key, required), header_of.get(key, key))

    def when(key: str, required: bool = True) -> datetime | None:
        val = get(key, required)
        return None if val in (None, "") else local_time(val, header_of.get(key, key), tz)

    status_text = str(get("platform_status"))
    first_field = next(iter(cfg.maps), "status")
    try:
        st = resolve_status(cfg, [(first_field, status_text)], override=spec.status)
    except AdapterError as e:
        raise AdapterError(header_of.get("platform_status", "status"), e.reason) from None
    if st.skip:
        return None
    qty = whole(get("qty"), header_of.get("qty", "qty"))
    price = money("price")
    discounts = []
    for header, tmpl in spec.discounts.items():
        raw = row.get(header, "")
        if raw in (None, ""):
            continue
        amt = amount(raw, header)
        if amt:
            discounts.append(discount(tmpl.get("kind", "other"), header, tmpl.get("label", header), amt,
                                      offered_by=tmpl.get("offered_by", "unknown"),
                                      borne_by=tmpl.get("borne_by", "unknown")))
    goods = money("goods_total", False) if v.get("goods_total") not in (None, "") else None
    created = when("created_at")
    return {
        "channel": cfg.name, "order_id": str(get("order_id")).strip(), "shop": str(v.get("shop") or shop),
        "created_at": created, "paid_at": when("paid_at", False), "status": st.state,
        "platform_status": status_text[:32], "flags": st.flags,
        "buyer_name": str(v.get("buyer_name") or ""), "phone": str(v.get("phone") or ""),
        "address": {k: str(v.get(k) or "") for k in ADDRESS},
        "items": [{"sku": str(get("sku")), "name": str(get("name")), "qty": qty, "price": price}],
        "goods_total": goods if goods is not None else price * qty,
        "discounts": discounts, "shipping": money("shipping", False) if v.get("shipping") else 0,
        "paid": money("paid"), "note": str(v.get("note") or "")[:255],
    }


def header_for(cfg: ChannelConfig, labels: Mapping[str, str], key: str) -> str:
    """The file column that feeds canonical ``key`` (for rejects), or the key itself."""
    if cfg.export:
        for header, label in cfg.export.columns.items():
            if labels.get(label, label) == key:
                return header
    return key


