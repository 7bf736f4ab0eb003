"""Hub order numbers: a day's sequence taken atomically (orders.numbers), on both engines."""

from __future__ import annotations

import asyncio

from orders import numbers
from orders.app import App


async def test_two_takers_at_once_never_share_a_number(app: App) -> None:
    """The second taker waits for the first's transaction and counts on from what it committed
    (before: both read the counter, both wrote the same last value, and the second import failed
    on a duplicate order number on PostgreSQL)."""
    day = "991231"
    async with app.db.session() as a, app.db.session() as b:
        last_a = await numbers.take(a, day, 3)
        waiting = asyncio.ensure_future(numbers.take(b, day, 2))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # held by a's transaction
        await a.commit()
        last_b = await waiting
        await b.commit()
    assert (last_a, last_b) == (3, 5)
    async with app.db.session() as s:
        assert await numbers.take(s, day) == 6
        await s.rollback()
    assert numbers.number(day, 6) == "BG991231-0006"
