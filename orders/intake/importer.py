"""Bulk intake of canonical orders: validate, upsert by (channel, order id), timeline rows.

New orders go in with one bulk write per table (orders, lines, discount ledger, timeline; COPY on
PostgreSQL). A re-import of
the same order changes nothing; a new platform status moves the order through the workflow (source
``import``); holds and the refunding overlay are flags beside the state. Orders whose amounts don't
add up are flagged 金额不一致; brushing is checked for every batch of new orders."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from orders import numbers, timeline
from orders.base import table
from orders.clock import Clock
from orders.db import Database
from orders.finance.tracing import MISMATCH_FLAG
from orders.intake import brushing, interpreter, rows
from orders.intake.bulk import pg_ts, reserve_ids, sqlite_ts, write_tuples
from orders.intake.canonical import CanonOrder, first_error, is_platform_flag
from orders.intake.files import UnusableFile, decode
from orders.models import Discount, Order, OrderLine, TimelineEvent
from orders.money import fen_to_yuan
from orders.privacy import hash_text
from orders.progression import move_along
from orders.service import Actor, OrderService
from orders.users import RoleBook
from orders.warehouse import holds
from orders.warehouse.config import DEFAULT, WarehouseConfig
from orders.workflow import Workflow, WorkflowRegistry

log = logging.getLogger(__name__)
BATCH = 2000
AHEAD_SLICE = 256  # orders built ahead between two looks at the event loop (the batch in flight moves on)
SQLITE_CACHE_KB = 65536
DEFAULT_STATUS = "支付成功"
IMPORT_ACTOR = Actor.system(source="import", name="导入")
ORDERS = table(Order)
LINES = table(OrderLine)


class Reject(NamedTuple):
    """A row that did not land: its row (line) number in the file, the field, and why."""

    row: int
    field: str
    reason: str


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    moved: int = 0
    updated: int = 0
    skipped: int = 0  # e.g. unpaid orders the hub does not take in yet
    flagged_brushing: int = 0
    flagged_amount: int = 0
    rejects: list[Reject] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[int, str]]:
        return [(r.row, f"{r.field}: {r.reason}") for r in self.rejects]

    @property
    def failed(self) -> int:
        return len(self.rejects)

    def summary(self) -> str:
        return (f"added {self.added}, moved {self.moved}, updated {self.updated}, unchanged {self.unchanged}, "
                f"skipped {self.skipped}, failed {self.failed}; flagged 疑似刷单 {self.flagged_brushing}, "
                f"{MISMATCH_FLAG} {self.flagged_amount}")


Parsed = tuple[int, "CanonOrder | Reject | None"]  # None = skipped on purpose (counted)


@dataclass
class Ahead:
    """A batch's rows, built while the batch before it was on the database (orders.intake.rows.build_ahead)."""

    orders: list[CanonOrder]
    default: str
    rows: rows.NewRows


@dataclass
class Lookahead:
    """What the last batch's transaction saw, for building the next batch's rows ahead."""

    default: str | None = None  # the workflow's paid state
    mostly_new: bool = True  # known orders are moved one by one, not built: then nothing is built ahead


def _setting(event: asyncio.Event) -> Callable[[object], None]:
    """A done callback that sets ``event``."""
    return lambda _: event.set()


def parse_lines(lines: Iterable[str]) -> Iterator[Parsed]:
    """(line number, order) or (line number, Reject) for each non-blank JSON line."""
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            yield no, Reject(no, "(line)", f"broken JSON: {e.msg} at column {e.colno}")
            continue
        if not isinstance(data, dict):
            yield no, Reject(no, "(line)", "a line must be a JSON object")
            continue
        try:
            yield no, CanonOrder.model_validate(data)
        except ValidationError as e:
            yield no, Reject(no, *first_error(e))


def jsonl_text(raw: bytes) -> str:
    text, encoding = decode(raw)
    if encoding.startswith("UTF-8"):
        return text
    raise UnusableFile(f"JSON Lines must be UTF-8, but this file is {encoding}-encoded: save it as UTF-8")


class Importer:
    def __init__(self, db: Database, clock: Clock, workflows: WorkflowRegistry, tz: str, *,
                 service: OrderService | None = None, brushing_rule: brushing.BrushingRule | None = None,
                 warehouse: WarehouseConfig = DEFAULT) -> None:
        self.db = db
        self.clock = clock
        self.workflows = workflows
        self.tz = ZoneInfo(tz)
        self.service = service or OrderService(db, clock, workflows, RoleBook.from_dict({}))
        # No rule given (tests' fixtures, demo seeding): no brushing check. Callers that take in real
        # orders pass BrushingRule.from_config(channels.yaml "brushing").
        self.brushing = brushing_rule or brushing.BrushingRule(enabled=False)
        self.warehouse = warehouse  # a platform hold on a packed parcel tells its leads (orders.app.WAREHOUSE)

    @property
    def _ts(self) -> Callable[[datetime], object]:
        """An aware datetime as this database's UTCDateTime columns take it in a bulk write."""
        return sqlite_ts if self.db.is_sqlite else pg_ts

    async def import_file(self, path: Path, progress: Callable[[int], None] | None = None) -> ImportReport:
        """A canonical JSON Lines file (UTF-8). Raises UnusableFile naming the encoding found otherwise."""
        raw = await asyncio.to_thread(path.read_bytes)
        return await self.import_parsed(parse_lines(jsonl_text(raw).splitlines()), progress)

    async def import_parsed(self, parsed: Iterable[Parsed], progress: Callable[[int], None] | None = None,
                            report: ImportReport | None = None) -> ImportReport:
        """Import batches of ``parsed`` one after the other. Once a batch being written has built
        its rows, the next one is read (adapted and validated by the caller's iterator) in slices
        between the writer's database waits, so parsing overlaps the database's own work
        (SQLite's C code runs without the GIL; PostgreSQL is another process). Rows, report and
        log come out as if read and written strictly in turn. The interpreter is tuned for the
        import while it runs (orders.intake.interpreter)."""
        with interpreter.tuned_for_import():
            return await self._import(iter(parsed), progress, report or ImportReport())

    async def _import(self, items: Iterator[Parsed], progress: Callable[[int], None] | None,
                      report: ImportReport) -> ImportReport:
        writing: asyncio.Task[None] | None = None
        on_db = asyncio.Event()
        look = Lookahead()
        written = 0
        try:
            while True:
                if writing is not None:  # read on while the batch in flight waits on the database
                    await on_db.wait()
                batch, rejects, skipped, more = await self._next_batch(items, overlap=writing is not None)
                # its rows too, while the batch in flight is on the database (SQLite's C code runs without the GIL)
                ahead = await self._build_ahead(batch, look) if writing is not None else None
                if writing is not None:
                    await writing
                    writing = None
                    if progress:
                        progress(written)
                for r in rejects:
                    report.rejects.append(r)
                    log.warning("import row %d rejected: %s: %s", r.row, r.field, r.reason)
                report.skipped += skipped
                if batch:
                    on_db = asyncio.Event()  # set by the writer, or when it ends (done or failed)
                    writing = asyncio.ensure_future(self._write(batch, report, on_db, look, ahead))
                    writing.add_done_callback(_setting(on_db))
                    written = len(batch)
                if not more:
                    break
        finally:
            if writing is not None:  # let the batch in flight finish (committed, as in turn) before leaving
                await writing
                if progress:
                    progress(written)
        return report

    @staticmethod
    async def _next_batch(items: Iterator[Parsed], overlap: bool) -> tuple[list[tuple[int, CanonOrder]],
                                                                          list[Reject], int, bool]:
        """Up to BATCH orders from ``items`` with the rejects and skips met on the way; the last
        value says whether ``items`` may hold more. With ``overlap``, yields to the event loop
        every few rows so a batch being written moves on."""
        batch: list[tuple[int, CanonOrder]] = []
        rejects: list[Reject] = []
        skipped = 0
        for n, (no, item) in enumerate(items, 1):
            if isinstance(item, Reject):
                rejects.append(item)
            elif item is None:
                skipped += 1
            else:
                batch.append((no, item))
                if len(batch) >= BATCH:
                    return batch, rejects, skipped, True
            if overlap and n % 32 == 0:
                await asyncio.sleep(0)
        return batch, rejects, skipped, False

    async def _build_ahead(self, batch: list[tuple[int, CanonOrder]], look: Lookahead) -> Ahead | None:
        """The rows of ``batch`` as new orders, in slices between which the event loop runs; None when
        the last batch was mostly known orders (or none went in yet)."""
        if not batch or look.default is None or not look.mostly_new:
            return None
        orders = [o for _, o in batch]
        now = self.clock.now()
        built = rows.NewRows()
        line = 0
        for i in range(0, len(orders), AHEAD_SLICE):
            part = orders[i:i + AHEAD_SLICE]
            built.extend(rows.build_ahead(part, i, line, now, look.default, self._ts))
            line += sum(len(o.items) for o in part)
            await asyncio.sleep(0)
        return Ahead(orders, look.default, built)

    async def import_orders(self, orders: Iterable[CanonOrder]) -> ImportReport:
        return await self.import_parsed((i, o) for i, o in enumerate(orders, 1))

    async def _write(self, batch: list[tuple[int, CanonOrder]], report: ImportReport, on_db: asyncio.Event,
                     look: Lookahead, ahead: Ahead | None) -> None:
        """Write ``batch`` (its new orders' rows from ``ahead`` when built already); ``on_db`` is set
        once what is left is mostly the database's work (the next batch is read then: read earlier,
        it would hold up this one's own Python work). ``look`` learns what the next batch needs."""
        async with self.db.session() as s:
            if self.db.is_sqlite:  # the orders table's dozen indexes stay in memory while a batch goes in
                await s.execute(text(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}"))
            wf = await self.workflows.current(s)
            names = set(wf.definition.all_names)
            default = look.default = DEFAULT_STATUS if DEFAULT_STATUS in names else wf.definition.initial
            existing = await self._existing(s, {(o.channel, o.order_id) for _, o in batch})
            if existing:  # known orders move one by one, mostly waiting on the database
                on_db.set()
            new: list[tuple[int, CanonOrder]] = []
            seen: dict[tuple[str, str], tuple[int, CanonOrder]] = {}
            for no, o in batch:
                status = o.status or default
                if status not in names:
                    report.rejects.append(Reject(no, "status", f"unknown state {status!r} (known: "
                                                 f"{', '.join(sorted(names))})"))
                    log.warning("import line %d rejected: %s", no, report.rejects[-1].reason)
                    continue
                key = (o.channel, o.order_id)
                if key in seen:  # the same order twice: identical is a no-op, different is refused
                    first_no, first = seen[key]
                    if first == o:
                        report.unchanged += 1
                    else:
                        report.rejects.append(Reject(no, "order_id", f"duplicate of line {first_no} with "
                                                                     "different content"))
                    continue
                seen[key] = (no, o)
                old = existing.get(key)
                if old is None:
                    new.append((no, o))
                else:
                    await self._update(s, wf, old, o, report)
            look.mostly_new = 2 * len(new) >= len(batch)
            if new:
                await self._insert(s, new, default, report, on_db, ahead)

    @staticmethod
    async def _existing(s: AsyncSession, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Order]:
        """The batch's orders already stored: one indexed id lookup per 2,000 platform order ids,
        then the full rows of only those found."""
        ids = sorted({oid for _, oid in keys})
        found: list[int] = []
        for i in range(0, len(ids), 2000):
            rows = await s.execute(select(Order.id, Order.channel, Order.channel_order_id)
                                   .where(Order.channel_order_id.in_(ids[i:i + 2000])))
            found += [r.id for r in rows if (r.channel, r.channel_order_id) in keys]
        existing: dict[tuple[str, str], Order] = {}
        for i in range(0, len(found), 2000):
            for o in await s.scalars(select(Order).where(Order.id.in_(found[i:i + 2000]))):
                existing[(o.channel, o.channel_order_id)] = o
        return existing

    async def _update(self, s: AsyncSession, wf: Workflow, old: Order, o: CanonOrder, report: ImportReport) -> None:
        """A known order again: nothing when the platform says the same; else flags and state."""
        now = self.clock.now()
        changed = False
        nick = hash_text("nick", o.buyer_nick)
        if nick and nick != old.nick_hash:  # cleared by a key rotation (orders.rotation), or a new nickname
            old.nick_hash = nick
        hub_flags = [f for f in old.flags or [] if not is_platform_flag(f)]
        plat_old = sorted(f for f in old.flags or [] if is_platform_flag(f))
        plat_new = sorted(set(f for f in o.flags if is_platform_flag(f)))
        if plat_old != plat_new:
            old.flags = hub_flags + plat_new
            old.updated_at = now
            timeline.record(s, order_id=old.id, at=now, actor="import", source="import", kind="flags_changed",
                            detail={"actor_name": "导入", "added": sorted(set(plat_new) - set(plat_old)),
                                    "removed": sorted(set(plat_old) - set(plat_new))})
            changed = True
            await holds.changed(s, old, now, wh=self.warehouse, board=self.service.board)  # 退款中 / 暂停: at once
        status_news = (o.platform_status != old.platform_status) if o.platform_status else \
            (o.status is not None and o.status != old.status)
        if status_news:
            if o.platform_status:
                timeline.record(s, order_id=old.id, at=now, actor="import", source="import",
                                kind="platform_status", detail={"actor_name": "导入", "old": old.platform_status,
                                                                "new": o.platform_status})
                old.platform_status = o.platform_status
                old.updated_at = now
            steps = await move_along(self.service, s, wf, old, o.status, IMPORT_ACTOR,
                                     {"platform_status": o.platform_status}) if o.status else []
            if steps:
                report.moved += 1
                return
            if o.status and o.status != old.status:
                log.info("order %s stays in %s: the workflow does not lead to %s (platform status %s)",
                         old.order_no, old.status, o.status, o.platform_status or "-")
            changed = changed or bool(o.platform_status)
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1

    async def _insert(self, s: AsyncSession, new: list[tuple[int, CanonOrder]], default: str,
                      report: ImportReport, on_db: asyncio.Event, ahead: Ahead | None) -> None:
        """New orders, set-based: order numbers and ids reserved for the batch, then one bulk write
        per table (SQLite multi-row ``VALUES``, PostgreSQL ``COPY``) and one brushing check. Rows
        built ahead only get their ids and numbers here."""
        now = self.clock.now()
        orders = [o for _, o in new]
        numbers = await self._allocate(s, [o.created_at for o in orders])  # takes SQLite's write lock
        ids = await reserve_ids(s, ORDERS, len(orders))
        line_ids = await reserve_ids(s, LINES, sum(len(o.items) for o in orders))
        if ahead is not None and ahead.default == default:  # (the workflow may have changed meanwhile)
            at = {id(o): k for k, o in enumerate(ahead.orders)}
            built = rows.place(ahead.rows, [at[id(o)] for o in orders], ids, line_ids, numbers)
        else:
            built = rows.build(orders, ids, line_ids, numbers, now, default, self._ts)
        on_db.set()
        await write_tuples(s, ORDERS, rows.ORDER_COLS, built.orders)
        await write_tuples(s, LINES, rows.LINE_COLS, built.lines)
        await write_tuples(s, table(Discount), rows.DISCOUNT_COLS, built.discounts)
        await write_tuples(s, table(TimelineEvent), rows.EVENT_COLS, built.events)
        number = dict(zip(ids, numbers, strict=True))
        for oid, o, diff in built.mismatched:
            log.warning("order %s (%s %s): amounts do not add up, difference %s yuan",
                        number[oid], o.channel, o.order_id, fen_to_yuan(diff))
        report.flagged_amount += len(built.mismatched)
        report.added += len(new)
        report.flagged_brushing += await brushing.detect(s, self.brushing, built.phones, now)

    async def _allocate(self, s: AsyncSession, created: list[datetime]) -> list[str]:
        """Hub numbers for orders created at ``created``, in that order: each day's numbers taken
        at once (orders.numbers, days in sorted order), which also takes SQLite's write lock
        before ids are reserved."""
        days = [numbers.day_of(c.astimezone(self.tz)) for c in created]
        counters: dict[str, int] = {}
        for day, n in sorted(Counter(days).items()):
            counters[day] = await numbers.take(s, day, n) - n
        out = []
        for day in days:
            counters[day] += 1
            out.append(numbers.number(day, counters[day]))
        return out
