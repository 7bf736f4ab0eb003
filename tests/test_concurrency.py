"""Two people advancing the same order at once: exactly one transition is recorded."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.testing import ChatBot
from orders.app import App
from orders.models import Order, TimelineEvent


@pytest.mark.parametrize("n", range(1, 6))  # five orders: the interleaving differs run to run
async def test_two_concurrent_advances_record_one_transition(bot: ChatBot, app: App, n: int) -> None:
    no = f"BG260122-000{n}"
    a, b = await asyncio.gather(bot.say("cs01", f"推进 {no}"), bot.say("cs02", f"推进 {no}"))
    ok = [x for x in (a, b) if "✅" in x]
    loser = [x for x in (a, b) if "✅" not in x]
    assert len(ok) == 1 and len(loser) == 1, (a, b)
    assert "刚被其他人更新，当前状态：仓库分单" in loser[0] or "不能把订单推进到「拣货中」" in loser[0]
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.order_no == no))
        assert o is not None and o.status == "仓库分单" and o.version > 1  # the auto-assign hook may bump it again
        moves = (await s.scalars(select(TimelineEvent).where(
            TimelineEvent.order_id == o.id, TimelineEvent.kind == "state_changed"))).all()
    assert len(moves) == 1
