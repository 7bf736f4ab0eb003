"""Bulk intake of canonical orders: validate, upsert by (channel, order id), timeline rows.
Re-importing the same order changes nothing; a new status moves the order (source ``import``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from orders.canonical import CanonOrder, describe_errors
from orders.clock import Clock
from orders.db import Database
from orders.models import Discount, Order, OrderCounter, OrderLine, TimelineEvent
from orders.privacy import hash_phone, mask_phone
from orders.workflow import WorkflowRegistry

log = logging.getLogger(__name__)
BATCH = 1000
DEFAULT_STATUS = "支付成功"
ORDER_PREFIX = "BG"


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    moved: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        return f"added {self.added}, moved {self.moved}, unchanged {self.unchanged}, failed {self.failed}"


def parse_lines(lines: Iterable[str]) -> Iterator[tuple[int, CanonOrder | str]]:
    """(line number, order) or (line number, reason) for each non-blank line."""
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            yield no, f"broken JSON: {e.msg} at column {e.colno}"
            continue
        if not isinstance(data, dict):
            yield no, "a line must be a JSON object"
            continue
        try:
            yield no, CanonOrder.model_validate(data)
        except ValidationError as e:
            yield no, describe_errors(e)


class Importer:
    def __init__(self, db: Database, clock: Clock, workflows: WorkflowRegistry, tz: str) -> None:
        self.db = db
        self.clock = clock
        self.workflows = workflows
        self.tz = ZoneInfo(tz)

    async def import_file(self, path: Path, progress: Callable[[int], None] | None = None) -> ImportReport:
        with path.open(encoding="utf-8") as fh:
            return await self.import_parsed(parse_lines(fh), progress)

    async def import_parsed(
        self, parsed: Iterable[tuple[int, CanonOrder | str]], progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        report = ImportReport()
        batch: list[tuple[int, CanonOrder]] = []
        for no, item in parsed:
            if isinstance(item, str):
                report.errors.append((no, item))
                log.warning("import line %d rejected: %s", no, item)
            else:
                batch.append((no, item))
            if len(batch) >= BATCH:
                await self._write(batch, report)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            await self._write(batch, report)
            if progress:
                progress(len(batch))
        return report

    async def import_orders(self, orders: Iterable[CanonOrder]) -> ImportReport:
        return await self.import_parsed((i, o) for i, o in enumerate(orders, 1))

    async def _write(self, batch: list[tuple[int, CanonOrder]], report: ImportReport) -> None:
        async with self.db.session() as s:
            wf = await self.workflows.current(s)
            names = set(wf.definition.all_names)
            default = DEFAULT_STATUS if DEFAULT_STATUS in names else wf.definition.initial
            keys = list({(o.channel, o.order_id) for _, o in batch})
            existing: dict[tuple[str, str], Order] = {}
            for i in range(0, len(keys), 400):
                rows = await s.scalars(select(Order).where(
                    tuple_(Order.channel, Order.channel_order_id).in_(keys[i:i + 400])))
                existing.update({(o.channel, o.channel_order_id): o for o in rows})
            new: list[tuple[int, CanonOrder]] = []
            seen: set[tuple[str, str]] = set()
            now = self.clock.now()
            for no, o in batch:
                status = o.status or default
                if status not in names:
                    reason = f"status: unknown state {status!r} (known: {', '.join(sorted(names))})"
                    report.errors.append((no, reason))
                    log.warning("import line %d rejected: %s", no, reason)
                    continue
                key = (o.channel, o.order_id)
                if key in seen:
                    report.unchanged += 1
                    continue
                seen.add(key)
                old = existing.get(key)
                if old is None:
                    new.append((no, o))
                elif o.status and old.status != o.status:
                    s.add(TimelineEvent(order_id=old.id, at=now, actor="import", source="import",
                                        kind="state_changed", from_state=old.status, to_state=o.status,
                                        detail={"actor_name": "导入"}))
                    old.status, old.status_since, old.updated_at = o.status, now, now
                    report.moved += 1
                else:
                    report.unchanged += 1
            if new:
                await self._insert(s, new, default, now)
                report.added += len(new)

    async def _insert(self, s: AsyncSession, new: list[tuple[int, CanonOrder]], default: str, now: datetime) -> None:
        numbers = await self._allocate(s, [o.created_at for _, o in new])
        rows: list[dict[str, Any]] = []
        for (_, o), order_no in zip(new, numbers, strict=True):
            disc = sum(d.amount for d in o.discounts)
            rows.append(dict(
                order_no=order_no, order_no_rev=order_no[::-1], channel=o.channel, channel_order_id=o.order_id,
                shop=o.shop, status=o.status or default, status_since=o.paid_at or o.created_at, flags=o.flags,
                created_at=o.created_at, paid_at=o.paid_at, updated_at=now, buyer_name=o.buyer_name,
                phone_masked=mask_phone(o.phone), phone_hash=hash_phone(o.phone), province=o.address.province,
                city=o.address.city, district=o.address.district, address_detail=o.address.detail,
                goods_total_fen=o.goods_total, shipping_fen=o.shipping, discount_total_fen=disc, paid_fen=o.paid,
                owner_id=o.owner, note=o.note, version=1,
            ))
        ids = (await s.scalars(insert(Order).returning(Order.id, sort_by_parameter_order=True), rows)).all()
        line_rows, line_keys = [], []
        for oid, (_, o) in zip(ids, new, strict=True):
            for it in o.items:
                line_rows.append(dict(order_id=oid, sku=it.sku, name=it.name, qty=it.qty, price_fen=it.price))
                line_keys.append((oid, it.sku))
        line_ids = (await s.scalars(insert(OrderLine).returning(OrderLine.id, sort_by_parameter_order=True),
                                    line_rows)).all()
        by_sku = dict(zip(line_keys, line_ids, strict=True))
        disc_rows, events = [], []
        for oid, (_, o) in zip(ids, new, strict=True):
            for d in o.discounts:
                disc_rows.append(dict(order_id=oid, line_id=by_sku.get((oid, d.sku)) if d.sku else None,
                                      kind=d.kind, source=d.source, label=d.label, promotion_id=d.promotion_id,
                                      offered_by=d.offered_by, borne_by=d.borne_by, amount_fen=d.amount))
            events.append(dict(order_id=oid, at=o.paid_at or o.created_at, actor="import", source="import",
                               kind="imported", from_state=None, to_state=o.status or default,
                               detail={"actor_name": "导入", "channel": o.channel}))
        if disc_rows:
            await s.execute(insert(Discount), disc_rows)
        await s.execute(insert(TimelineEvent), events)

    async def _allocate(self, s: AsyncSession, created: list[datetime]) -> list[str]:
        days = [c.astimezone(self.tz).strftime("%y%m%d") for c in created]
        counters: dict[str, int] = {}
        for day in set(days):
            row = await s.get(OrderCounter, day)
            counters[day] = row.last if row else 0
        out = []
        for day in days:
            counters[day] += 1
            out.append(f"{ORDER_PREFIX}{day}-{counters[day]:04d}")
        for day, last in counters.items():
            row = await s.get(OrderCounter, day)
            if row is None:
                s.add(OrderCounter(day=day, last=last))
            else:
                row.last = last
        return out
