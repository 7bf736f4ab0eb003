"""The message path's unit of work: a handled inbox row's bookkeeping writes (usage count, the 查
look-up record, the user's focus) are written in the transaction that marks it done and queues
its replies; a user's next message sees them; a failing one never costs the reply."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.types import Reply
from bot.wecom.processor import LEASE, Finished
from orders import deferred, inbox
from orders.inbox import InboxMessage
from orders.models import CommandUsage, Order, UserFocus
from orders.outbox import OutboxMessage
from orders.reports.models import OrderAsk
from tests.wecom.harness import Harness


async def test_query_bookkeeping_rides_with_the_reply_in_message_order(wecom: Harness) -> None:
    for no in ("BG260122-0001", "BG260122-0002", "BG260122-0003"):
        assert (await wecom.say("cs01", f"查 {no}")).status == 200
    await wecom.settle()
    texts = wecom.fake.texts_to("cs01")
    assert [t.split("\n")[0].split(" ")[1] for t in texts] == ["BG260122-0001", "BG260122-0002", "BG260122-0003"]
    async with wecom.app.db.session() as s:
        assert await s.scalar(select(CommandUsage.count).where(CommandUsage.user_id == "cs01",
                                                               CommandUsage.command == "查")) == 3
        assert await s.scalar(select(func.count()).select_from(OrderAsk).where(OrderAsk.user_id == "cs01")) == 3
        focus = await s.get(UserFocus, "cs01")
        assert focus is not None
        assert await s.scalar(select(Order.order_no).where(Order.id == focus.order_id)) == "BG260122-0003"
        assert {r.status for r in (await s.scalars(select(InboxMessage))).all()} == {"done"}


async def test_a_callback_is_parsed_once_and_nothing_of_it_is_kept(wecom: Harness,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The acknowledgement hands its parse to the processor; a replayed row (no hand-over) is parsed from its XML."""
    import bot.wecom.processor as processor_module

    again: list[str] = []
    real = processor_module.parse

    def counted(xml: str, **kw: Any) -> Any:
        again.append(xml)
        return real(xml, **kw)

    monkeypatch.setattr(processor_module, "parse", counted)
    for no in ("BG260122-0001", "BG260122-0002"):
        assert (await wecom.say("cs01", f"查 {no}")).status == 200
    await wecom.settle()
    assert len(wecom.fake.texts_to("cs01")) == 2 and again == []
    assert wecom.processor._parsed == {} and not wecom.processor._inflight
    async with wecom.app.db.session() as s:  # a row left by a crash: no parse in memory, read from the row
        row = await s.scalar(select(InboxMessage).where(InboxMessage.user_id == "cs01").limit(1))
        assert row is not None
        row.status = "pending"
    await wecom.processor.replay()
    await wecom.settle()
    assert len(again) == 1 and len(wecom.fake.texts_to("cs01")) == 3


async def _claimed(wecom: Harness, users: list[str]) -> list[InboxMessage]:
    now = wecom.app.clock.now()
    async with wecom.app.db.session() as s:
        ids = await inbox.store_many(s, [{"dedupe_key": f"k-{u}", "msg_id": f"m-{u}", "user_id": u, "kind": "text",
                                          "xml": "<xml/>", "received_at": now} for u in users])
        return await inbox.claim_many(s, sorted(ids.values()), now, LEASE, by=wecom.processor.me)


def _finished(row: InboxMessage, text: str, writes: list[deferred.Write]) -> Finished:
    return Finished(row, [Reply(text=text)], "", writes, asyncio.get_running_loop().create_future())


async def test_a_failing_bookkeeping_write_costs_only_itself(wecom: Harness) -> None:
    a, b = await _claimed(wecom, ["cs01", "cs02"])

    async def broken(s: AsyncSession) -> None:
        raise RuntimeError("constraint")

    async def count(s: AsyncSession) -> None:
        s.add(CommandUsage(user_id="cs02", command="查", count=7, last_at=wecom.app.clock.now()))

    wecom.processor._finished = [_finished(a, "甲", [broken]), _finished(b, "乙", [count])]
    await wecom.processor._flush_loop()
    async with wecom.app.db.session() as s:
        rows = {r.user_id: r.status for r in (await s.scalars(select(InboxMessage))).all()}
        assert rows == {"cs01": "done", "cs02": "done"}
        out = sorted(r.target for r in (await s.scalars(select(OutboxMessage))).all())
        assert out == ["cs01", "cs02"]  # both replies queued once
        assert await s.scalar(select(CommandUsage.count).where(CommandUsage.user_id == "cs02")) == 7


async def test_a_row_finished_elsewhere_drops_its_replies_and_its_writes(wecom: Harness) -> None:
    (a,) = await _claimed(wecom, ["cs01"])
    async with wecom.app.db.session() as s:  # a peer finished it meanwhile
        assert await inbox.finish_many(s, [a.id], wecom.app.clock.now()) == {a.id}

    async def count(s: AsyncSession) -> None:
        s.add(CommandUsage(user_id="cs01", command="查", count=1, last_at=wecom.app.clock.now()))

    wecom.processor._finished = [_finished(a, "甲", [count])]
    await wecom.processor._flush_loop()
    async with wecom.app.db.session() as s:
        assert (await s.scalars(select(OutboxMessage))).all() == []
        assert await s.get(CommandUsage, ("cs01", "查")) is None
