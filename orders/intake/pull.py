"""Incremental pulls per shop by modified time, with a persisted cursor.

Each shop's ``pull_cursors`` row says up to where every window was pulled completely
(``cursor_at``) and when the next pull is due (``due_at``). A pull claims the row atomically
(``UPDATE … WHERE due_at <= now``), then walks windows of at most the platform's limit from the
cursor to now − lag; inside a window it reads the total, then pages from the last page back to the
first (as the platforms advise, so orders that change while paging are not missed), imports them,
and only then moves the cursor past that window. An API error, a bad signature answer or a timeout
stops the pull with the cursor at the last complete window: the next run resumes there, and the
upsert makes re-reading a window's first pages harmless."""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import update

from orders.clock import Clock
from orders.db import Database, dialect_insert
from orders.intake.canonical import CanonOrder
from orders.intake.channels import Channels
from orders.intake.importer import Importer, ImportReport, Parsed, Reject
from orders.intake.models import PullCursor
from orders.intake.pull_clients import CLIENTS, Credentials, PlatformError, PullClient
from orders.sheets import SafeCsvWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopConfig:
    name: str
    channel: str
    base_url: str
    app_key: str = ""
    secret: str = ""
    session: str = ""
    every: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(minutes=30)
    lag: timedelta = timedelta(minutes=3)
    start: datetime | None = None
    page_size: int = 100
    timeout_s: float = 30.0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShopConfig:
        def env(key: str) -> str:
            name = d.get(f"{key}_env")
            return str(d.get(key) or (os.environ.get(str(name), "") if name else ""))

        start = d.get("start")
        return cls(name=str(d["name"]), channel=str(d["channel"]), base_url=str(d["base_url"]),
                   app_key=env("app_key"), secret=env("secret"), session=env("session"),
                   every=timedelta(minutes=float(d.get("every_minutes", 15))),
                   window=timedelta(minutes=float(d.get("window_minutes", 30))),
                   lag=timedelta(minutes=float(d.get("lag_minutes", 3))),
                   start=datetime.fromisoformat(str(start)) if start else None,
                   page_size=int(d.get("page_size", 100)), timeout_s=float(d.get("timeout_s", 30)))

    def credentials(self) -> Credentials:
        return Credentials(self.base_url, self.app_key, self.secret, self.session)


@dataclass
class PullResult:
    shop: str
    windows: int = 0
    pages: int = 0
    report: ImportReport | None = None
    cursor_at: datetime | None = None
    error: str = ""

    def text(self) -> str:
        head = f"{self.shop}: {self.windows} windows, {self.pages} pages, cursor {self.cursor_at}"
        body = f"; {self.report.summary()}" if self.report else ""
        return head + body + (f"; FAILED: {self.error}" if self.error else "")


async def pull_due(db: Database, clock: Clock, channels: Channels, importer: Importer, shops: list[ShopConfig],
                   *, force: bool = False, http: aiohttp.ClientSession | None = None,
                   rejects_dir: Path | None = None) -> list[PullResult]:
    out = []
    for shop in shops:
        if await _claim(db, clock, shop, force):
            out.append(await pull_shop(db, clock, channels, importer, shop, http=http, rejects_dir=rejects_dir))
    return out


async def _claim(db: Database, clock: Clock, shop: ShopConfig, force: bool) -> bool:
    now = clock.now()
    async with db.session() as s:
        # a shop's first run: create its cursor; a peer process doing the same at once is no error
        await s.execute(dialect_insert(s, PullCursor).values(
            shop=shop.name, channel=shop.channel, cursor_at=shop.start or (now - shop.window), due_at=now,
            last_run_at=None, last_error="", failures=0, pulled=0).on_conflict_do_nothing(index_elements=["shop"]))
        q = update(PullCursor).where(PullCursor.shop == shop.name)
        if not force:
            q = q.where(PullCursor.due_at <= now)
        res = await s.execute(q.values(due_at=now + shop.every, last_run_at=now))
        return bool(getattr(res, "rowcount", 0))


async def pull_shop(db: Database, clock: Clock, channels: Channels, importer: Importer, shop: ShopConfig,
                    *, http: aiohttp.ClientSession | None = None, rejects_dir: Path | None = None) -> PullResult:
    client = CLIENTS.get(shop.channel)
    result = PullResult(shop.name, report=ImportReport())
    if client is None:
        result.error = f"no pull client for channel {shop.channel}"
        log.error("pull %s: %s", shop.name, result.error)
        return result
    window = min(shop.window, client.max_window)
    own = http is None
    session = http or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=shop.timeout_s))
    try:
        async with db.session() as s:
            cur = await s.get(PullCursor, shop.name)
            assert cur is not None
            cursor = cur.cursor_at
        limit = clock.now() - shop.lag
        while cursor < limit:
            end = min(cursor + window, limit)
            payloads = await _window(session, client, shop, cursor, end, result)
            assert result.report is not None
            before = len(result.report.rejects)
            await importer.import_parsed(latest_only(channels.parse_payloads(shop.channel, payloads, shop.name)),
                                         report=result.report)
            if rejects_dir is not None and len(result.report.rejects) > before:
                _write_rejects(rejects_dir / f"pull-{shop.name}.csv", cursor, end, payloads,
                               result.report.rejects[before:])
            async with db.session() as s:
                await s.execute(update(PullCursor).where(PullCursor.shop == shop.name).values(
                    cursor_at=end, last_error="", failures=0, pulled=PullCursor.pulled + len(payloads)))
            cursor = end
            result.windows += 1
        result.cursor_at = cursor
        log.info("pull %s done: %s", shop.name, result.text())
    except (PlatformError, aiohttp.ClientError, TimeoutError, ValueError) as e:
        result.error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        result.cursor_at = cursor
        log.warning("pull %s failed at window from %s (will resume there): %s", shop.name, cursor, result.error)
        async with db.session() as s:
            retry = clock.now() + min(shop.every, timedelta(minutes=5))
            await s.execute(update(PullCursor).where(PullCursor.shop == shop.name).values(
                last_error=result.error[:1000], failures=PullCursor.failures + 1, due_at=retry))
    finally:
        if own:
            await session.close()
    return result


ID_KEYS = ("tid", "order_sn", "order_id", "orderId")


def _payload_id(p: Any) -> str:
    if not isinstance(p, dict):
        return ""
    for k in ID_KEYS:
        if p.get(k):
            return str(p[k])
    info = (p.get("full_order_info") or {}).get("order_info") or {}
    return str(info.get("tid") or "")


def _write_rejects(path: Path, start: datetime, end: datetime, payloads: list[dict[str, Any]],
                   rejects: list[Reject]) -> None:
    """Append a window's rejected orders (platform id, field, reason; no personal data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", encoding="utf-8-sig", newline="") as fh:  # BOM once: Excel reads it as UTF-8
        w = SafeCsvWriter(fh)
        if new:
            w.writerow(["window_start", "window_end", "row", "platform_order_id", "field", "reason"])
        for r in rejects:
            pid = _payload_id(payloads[r.row - 1]) if 0 < r.row <= len(payloads) else ""
            w.writerow([start.isoformat(), end.isoformat(), r.row, pid, r.field, r.reason])


def latest_only(parsed: Iterable[Parsed]) -> list[Parsed]:
    """An order that changed while the window was paged shows up twice: keep its newest version."""
    out: list[Parsed] = []
    where: dict[tuple[str, str], int] = {}
    for no, item in parsed:
        if isinstance(item, CanonOrder):
            key = (item.channel, item.order_id)
            if key in where:
                old = out[where[key]][1]
                assert isinstance(old, CanonOrder)
                if (item.modified_at or item.created_at) >= (old.modified_at or old.created_at):
                    out[where[key]] = (no, item)
                continue
            where[key] = len(out)
        out.append((no, item))
    return out


async def _window(http: aiohttp.ClientSession, client: PullClient, shop: ShopConfig, start: datetime, end: datetime,
                  result: PullResult) -> list[dict[str, Any]]:
    """Every order modified in [start, end): total first, then the last page back to the first."""
    cred = shop.credentials()
    first = await client.page(http, cred, start, end, client.first_page, shop.page_size)
    result.pages += 1
    pages = max(1, math.ceil(first.total / shop.page_size))
    if pages == 1:
        return first.orders
    got: list[dict[str, Any]] = []
    for i in range(pages - 1, -1, -1):
        page = await client.page(http, cred, start, end, client.first_page + i, shop.page_size)
        result.pages += 1
        got.extend(page.orders)
        await asyncio.sleep(0)
    return got
