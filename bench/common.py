"""Shared bench helpers: figures printed as `figure: value unit`, percentiles, a fresh
migrated SQLite app with the demo users and orders, a migrated temporary SQLite file that
big synthetic data sets are bulk-loaded into (Core executemany in batches, one transaction), and
the callback benches' pieces (a WeCom text message's XML, the signed callback, a free port, latency lines)."""

from __future__ import annotations

import os
import resource
import socket
import statistics
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, event, insert

from bot.dispatch import Dispatcher
from bot.wecom.crypto import CallbackCrypto
from config import load_settings
from orders.app import App, build_app
from orders.clock import ManualClock
from orders.db import Database, _sqlite_pragmas
from orders.intake.importer import Importer
from orders.seed import DEMO_USERS, demo_orders
from orders.users import upsert_user


async def fresh_app(n_orders: int, folder: Path | None = None) -> tuple[App, Dispatcher]:
    folder = folder or Path(tempfile.mkdtemp(prefix="orderbot-bench-"))
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}", data_dir=folder / "var")
    clock = ManualClock()
    app = await build_app(settings, clock=clock)
    async with app.db.session() as s:
        for uid, name, dept, roles in DEMO_USERS:
            await upsert_user(s, app.roles, user_id=uid, name=name, roles=roles, department=dept, now=clock.now())
    if n_orders:
        await Importer(app.db, app.clock, app.workflows, app.settings.tz).import_orders(
            demo_orders(n_orders, clock.now()))
    from handlers import registry

    return app, Dispatcher(app, registry)


BATCH = 20_000
Rows = Iterable[dict[str, Any]]


def batches(rows: Rows, size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    """``rows`` in lists of ``size`` (the last one shorter)."""
    batch: list[dict[str, Any]] = []
    for r in rows:
        batch.append(r)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@asynccontextmanager
async def temp_db() -> AsyncIterator[tuple[Path, str]]:
    """A SQLite file migrated to head in a temporary folder, removed on exit: ``(path, async url)``.
    Nothing holds a connection to it when the body starts (load it with ``bulk_load``)."""
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        db = Database(url)
        try:
            await db.migrate()
        finally:
            await db.dispose()
        yield path, url


@contextmanager
def bulk_load(path: Path) -> Iterator[Callable[[Any, Rows], int]]:
    """``put(Model, rows)`` inserts rows (dicts of column values, any iterable, consumed lazily) in
    batches of ``BATCH`` with Core executemany, all in one transaction; ``ANALYZE`` on exit.
    Returns the number of rows inserted."""
    eng = create_engine(f"sqlite:///{path}")
    event.listen(eng, "connect", _sqlite_pragmas)
    try:
        with eng.begin() as c:

            def put(model: Any, rows: Rows) -> int:
                n = 0
                for b in batches(rows):
                    c.execute(insert(model), b)
                    n += len(b)
                return n

            yield put
            c.exec_driver_sql("ANALYZE")
    finally:
        eng.dispose()


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figure(name: str, value: float | int | str, unit: str = "") -> None:
    v = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name}: {v} {unit}".rstrip(), flush=True)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def callback_xml(user: str, text: str, msg_id: int, ts: int, corp_id: str) -> str:
    """A WeCom text message as the callback carries it (before encryption)."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def signed_callback(crypto: CallbackCrypto, xml: str, nonce: str, timestamp: str = "1769047200") -> tuple[str, bytes]:
    """A callback as WeCom posts it: the target (path with signature, timestamp and nonce) and the
    encrypted body."""
    body, sig = crypto.encrypt(xml, nonce, timestamp)
    return "/wecom/callback?" + urlencode({"msg_signature": sig, "timestamp": timestamp, "nonce": nonce}), body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def print_latencies(acks: Iterable[list[float]], e2es: Iterable[list[float]]) -> None:
    """Ack and end-to-end p50/p99 in ms, each the median over rounds (one list of seconds a round)."""
    acks, e2es = list(acks), list(e2es)
    for name, rounds in (("ack", acks), ("end_to_end", e2es)):
        for p in (50, 99):
            print(f"{name}_p{p}: {statistics.median(pct(r, p) for r in rounds) * 1000:.1f} ms")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its live descendants
    (Linux /proc; reaped children count in their parent's figures)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, grew = {pid}, True
    while grew:
        more = {p for p, (ppid, _) in stats.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(stats[p][1] for p in tree if p in stats)

