"""Building and reading the customer value pool: load the window's orders and cases in two
queries, compute (``orders.reports.customers``, off the event loop), replace the pool table and
record the day's segment sizes. Nightly through the scheduler's minute sweep (a ``due_items``
marker "customer_pool:<local date>" written with the pool makes it once a day, whatever runs
twice), and on demand (``rebuild``)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Executable, String, delete, exists, func, insert, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.complaints import Complaint
from orders.aftersales.models import AfterSalesCase
from orders.app import App, AppKey
from orders.db import Database
from orders.due import DueItem
from orders.intake.bulk import pg_ts, sqlite_ts, write_tuples
from orders.models import Order
from orders.reports.customers import (
    CASE_COLUMNS,
    HIGH_POTENTIAL,
    ORDER_COLUMNS,
    SEGMENT_ORDER,
    PoolConfig,
    compute_pool,
    segment_sizes,
)
from orders.reports.models import CustomerPoolRow, PoolSize

log = logging.getLogger(__name__)
POOL_CONFIG: AppKey[PoolConfig] = AppKey("customer_pool_config", PoolConfig)
KEEP_SIZES = timedelta(days=60)
POOL_TABLE = CustomerPoolRow.metadata.tables["customer_pool"]


def pool_config(app: App) -> PoolConfig:
    return app.cached(POOL_CONFIG, lambda: PoolConfig.from_dict(app.config.load("customers")))


def _fetch(sc: Connection, stmt: Executable) -> list[Any]:
    """Rows as the driver returns them: the statement is compiled by SQLAlchemy (portable SQL),
    the rows skip its per-row result processing (five times faster for a million rows)."""
    return list(sc.execute(stmt).cursor.fetchall())


async def _frame(s: AsyncSession, stmt: Executable, columns: tuple[str, ...]) -> pd.DataFrame:
    conn = await s.connection()
    return pd.DataFrame(await conn.run_sync(_fetch, stmt), columns=list(columns))


async def load_frames(s: AsyncSession, since: datetime, cfg: PoolConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The window's orders (one row each) and their after-sales cases, as plain columns. Times
    come back as the driver gives them (SQLite: text, PostgreSQL: datetimes) and are parsed once,
    vectorised."""
    at = func.coalesce(Order.paid_at, Order.created_at)
    where = [at >= since]
    if cfg.exclude_states:
        where.append(Order.status.not_in(cfg.exclude_states))
    q = select(Order.id, Order.channel, Order.phone_hash, Order.buyer_id_hash, type_coerce(at, String),
               Order.paid_fen).where(*where)
    orders = await _frame(s, q, ORDER_COLUMNS)
    complained = exists().where(Complaint.order_id == AfterSalesCase.order_id)  # a 投诉 on the case's order
    cq = (select(AfterSalesCase.order_id, AfterSalesCase.status, AfterSalesCase.reason, AfterSalesCase.reject_reason,
                 complained)
          .join(Order, Order.id == AfterSalesCase.order_id).where(*where))
    cases = await _frame(s, cq, CASE_COLUMNS)
    return orders, cases


@dataclass(frozen=True)
class Built:
    buyers: int
    sizes: dict[str, int]
    load_s: float
    compute_s: float
    store_s: float


async def build(db: Database, cfg: PoolConfig, now: datetime, tz: str, *, marker: str | None = None,
                worker: str = "") -> Built | None:
    """Rebuild the pool now. With ``marker`` the pool is stored together with that due-items
    marker; None when another process already stored it."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with db.session() as s:
        orders, cases = await load_frames(s, now - timedelta(days=cfg.window_days), cfg)
    t1 = loop.time()
    pool = await asyncio.to_thread(compute_pool, orders, cases, now, cfg)
    t2 = loop.time()
    sizes = segment_sizes(pool)
    day = now.astimezone(ZoneInfo(tz)).date().isoformat()
    try:
        async with db.session() as s:
            if marker is not None:
                s.add(DueItem(kind="customer_pool", ref=marker, due_at=now, state="done", data={}, created_at=now,
                              done_at=now, done_by=worker))
                await s.flush()
            await store(s, pool, sizes, now, day)
    except IntegrityError:
        log.info("customer pool %s already built by another process", marker)
        return None
    built = Built(len(pool), sizes, t1 - t0, t2 - t1, loop.time() - t2)
    log.info("customer pool built: %d buyers (load %.2fs, compute %.2fs, store %.2fs)", built.buyers,
             built.load_s, built.compute_s, built.store_s)
    return built


def _tuples(pool: pd.DataFrame, built_at: Any) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The pool as plain Python tuples (``tolist`` unboxes in C; NaN becomes None), sorted as the
    segment index is: its B-tree is then filled in order (half the work of random order)."""
    p = pool.reset_index().sort_values(["segment", "amount_fen"], kind="stable")
    cols: list[list[Any]] = []
    for name in p.columns:
        values = p[name].tolist()
        if p[name].dtype.kind == "f":
            values = [None if v != v else v for v in values]
        cols.append(values)
    cols.append([built_at] * len(p))
    return (*(str(c) for c in p.columns), "built_at"), list(zip(*cols, strict=True))


async def store(s: AsyncSession, pool: pd.DataFrame, sizes: dict[str, int], now: datetime, day: str) -> None:
    """Replace the pool and the day's sizes (one transaction: readers see the old or the new).
    The rows go in driver-level: SQLite multi-row ``VALUES`` (bulk.write_tuples), PostgreSQL ``COPY``."""
    await s.execute(delete(CustomerPoolRow))
    pg = s.get_bind().dialect.name == "postgresql"
    names, rows = _tuples(pool, pg_ts(now) if pg else sqlite_ts(now))
    await write_tuples(s, POOL_TABLE, names, rows)
    old = (datetime.fromisoformat(day) - KEEP_SIZES).date().isoformat()
    await s.execute(delete(PoolSize).where((PoolSize.day == day) | (PoolSize.day < old)))
    await s.execute(insert(PoolSize), [{"day": day, "segment": k, "n": v} for k, v in sizes.items()])


async def rebuild(app: App) -> Built | None:
    return await build(app.db, pool_config(app), app.clock.now(), app.settings.tz)


async def sweep_pool(app: App, *, worker: str = "") -> bool:
    """The nightly rebuild: once a local day, at or after ``build_at``. True when built now."""
    cfg = pool_config(app)
    now = app.clock.now()
    local = now.astimezone(ZoneInfo(app.settings.tz))
    if local.time() < cfg.build_at:
        return False
    ref = f"customer_pool:{local.date().isoformat()}"
    async with app.db.session() as s:
        if await s.scalar(select(DueItem.id).where(DueItem.kind == "customer_pool", DueItem.ref == ref)):
            return False
    return await build(app.db, cfg, now, app.settings.tz, marker=ref, worker=worker) is not None


# -- reading -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Movement:
    day: str | None  # the build shown (None: never built)
    sizes: dict[str, int]
    week_ago_day: str | None
    week_ago: dict[str, int]


async def movement(s: AsyncSession, today: date) -> Movement:
    """The latest build's sizes, and those of the latest build at least 7 days before it."""
    day = await s.scalar(select(func.max(PoolSize.day)).where(PoolSize.day <= today.isoformat()))
    if day is None:
        return Movement(None, {}, None, {})
    before = (date.fromisoformat(day) - timedelta(days=7)).isoformat()
    prev = await s.scalar(select(func.max(PoolSize.day)).where(PoolSize.day <= before))

    async def sizes(d: str | None) -> dict[str, int]:
        if d is None:
            return {}
        rows = (await s.execute(select(PoolSize.segment, PoolSize.n).where(PoolSize.day == d))).all()
        return {r.segment: int(r.n) for r in rows}

    return Movement(day, await sizes(day), prev, await sizes(prev))


@dataclass(frozen=True)
class PoolBuyer:
    buyer_key: str
    phone_masked: str
    nick: str
    row: CustomerPoolRow


async def buyers(s: AsyncSession, segment: str, limit: int | None = None) -> list[PoolBuyer]:
    """A segment's buyers (or 高潜留存), largest amount first, with the latest order's masked
    phone and buyer name (the pool itself keeps neither)."""
    where = CustomerPoolRow.high_potential.is_(True) if segment == HIGH_POTENTIAL else (
        CustomerPoolRow.segment == segment)
    q = (select(CustomerPoolRow, Order.phone_masked, Order.buyer_name)
         .join(Order, Order.id == CustomerPoolRow.last_order_id)
         .where(where).order_by(CustomerPoolRow.amount_fen.desc(), CustomerPoolRow.recency_days,
                                CustomerPoolRow.buyer_key))
    if limit is not None:
        q = q.limit(limit)
    return [PoolBuyer(r.buyer_key, pm or "", nick or "", r) for r, pm, nick in (await s.execute(q)).all()]


def known_segment(name: str) -> bool:
    return name in SEGMENT_ORDER or name == HIGH_POTENTIAL
