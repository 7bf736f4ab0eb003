"""CPU per message on the message path, in process (steadier than the latency benches, whose
figures move with the load generator sharing the machine): `查` inbox rows from 200 users run
through the inbox processor (claim, dispatch, the reply and bookkeeping written; each message
handed over parsed, as the acknowledgement hands it), then the outbox
worker delivers the replies to the fake WeCom API on loopback (claims, shared rate slots, send,
sent marks). CPU is the process's (the event loop and aiosqlite's thread); the median of
``--runs`` fresh databases. ``--quick``: 2 runs of 400 messages."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.common import callback_xml, figure
from bot.cli.common import dispatcher
from bot.wecom.messages import parse
from bot.wecom.processor import InboxProcessor
from bot.wecom.runner import client_for
from config import load_settings
from notifications.worker import OutboxWorker
from orders import inbox
from orders.app import build_app
from orders.models import Order
from orders.seed import seed_demo
from orders.users import upsert_user
from tests.fakes.wecom_api import CORP_ID, SECRET, FakeWeCom

os.environ.setdefault("ORDERBOT_SECRET_KEY", "orderbot-bench-secret")
USERS = 200


async def one_run(n: int) -> tuple[float, float, float, float]:
    """(processing ms of CPU per message, outbox ms of CPU per reply sent, write turns per
    message, ms in write turns per message)."""
    tmp = Path(tempfile.mkdtemp(prefix="orderbot-bench-"))
    fake = await FakeWeCom().start()
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp / 'bench.db'}", data_dir=tmp / "var",
                             wecom_corp_id=CORP_ID, wecom_secret=SECRET, wecom_token="benchToken",
                             wecom_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", wecom_agent_id=1000002,
                             wecom_api_base=fake.base_url)
    app = await build_app(settings)
    await seed_demo(app, n=USERS)
    users = [f"u{i:04d}" for i in range(USERS)]
    async with app.db.session() as s:
        for u in users:
            await upsert_user(s, app.roles, user_id=u, name="压测", roles=["cs"], department="客服部",
                              now=app.clock.now())
        nos = list((await s.scalars(select(Order.order_no).limit(USERS))).all())
    client = client_for(app)
    worker = OutboxWorker(app, client)
    await worker.run_until_idle()  # the seed's own messages first
    rows: list[dict[str, Any]] = [
        dict(dedupe_key=f"k{i}", msg_id=str(10**17 + i), user_id=users[i % USERS], kind="text",
             xml=callback_xml(users[i % USERS], f"查 {nos[i % len(nos)]}", 10**17 + i, 1769047200, CORP_ID),
             received_at=app.clock.now()) for i in range(n)]
    async with app.db.write_session() as s:
        ids = await inbox.store_many(s, rows)
    parsed = {ids[r["dedupe_key"]]: parse(r["xml"], received_at=r["received_at"]) for r in rows}  # as the ack did
    processor = InboxProcessor(app, dispatcher(app))
    before = len(fake.sent())
    turns0 = (app.db.turns.count, app.db.turns.held_s)
    c0 = time.process_time()
    for row_id in ids.values():
        processor.submit(row_id, parsed[row_id])
    await processor.drain()
    c1 = time.process_time()
    await worker.run_until_idle()
    c2 = time.process_time()
    sent = len(fake.sent()) - before
    turns = (app.db.turns.count - turns0[0], app.db.turns.held_s - turns0[1])
    assert sent == n, f"{sent} replies sent for {n} messages"
    await client.close()
    await app.close()
    await fake.close()
    return (c1 - c0) * 1000 / n, (c2 - c1) * 1000 / sent, turns[0] / n, turns[1] * 1000 / n


async def main(n: int, runs: int) -> None:
    results = [await one_run(n) for _ in range(runs)]
    figure("messages", n, "查 callbacks from 200 users")
    figure("processing_cpu_per_message", statistics.median(r[0] for r in results), "ms")
    figure("outbox_cpu_per_send", statistics.median(r[1] for r in results), "ms")
    figure("cpu_per_message", statistics.median(r[0] + r[1] for r in results), "ms (processing + send, no ack)")
    figure("write_turns_per_message", statistics.median(r[2] for r in results),
           "(inbox claims and writes, outbox claims and sent marks: SQLite's one writer, in turn)")
    figure("write_turn_ms_per_message", statistics.median(r[3] for r in results),
           "ms holding the write lock (in place: CPU; what bounds serve --workers on one file)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="2 runs of 400 messages (under a minute)")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(400 if args.quick else args.messages, 2 if args.quick else args.runs))
