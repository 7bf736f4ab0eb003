"""The shared send-limit slots (orders.rate_slots): created as sends need them, never more than a
window's cap, reused once their window has passed, and given back when a later window of the same
message is full (the transaction goes on with other messages)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from orders import rate_slots
from orders.app import App
from orders.clock import ManualClock
from orders.rate_slots import RateSlot

MINUTE = (timedelta(minutes=1), 3)
HOUR = (timedelta(hours=1), 4)


async def _slots(app: App, family: str) -> list[tuple[int, object]]:
    async with app.db.session() as s:
        return [(r.slot, r.used_at) for r in (await s.execute(
            select(RateSlot.slot, RateSlot.used_at).where(RateSlot.family == family).order_by(RateSlot.slot))).all()]


async def test_slots_are_added_up_to_the_cap_then_the_window_holds(app: App, clock: ManualClock) -> None:
    now = clock.now()
    async with app.db.session() as s:
        for i in range(3):
            assert await rate_slots.take(s, {"u:kf": [MINUTE]}, now + timedelta(seconds=i)) is None
        assert await rate_slots.take(s, {"u:kf": [MINUTE]}, now + timedelta(seconds=5)) == now + timedelta(minutes=1)
    assert [slot for slot, _ in await _slots(app, "60:u:kf")] == [0, 1, 2]  # never a 4th
    async with app.db.session() as s:  # the oldest slot is free a minute after it was used: reused, not added
        assert await rate_slots.take(s, {"u:kf": [MINUTE]}, now + timedelta(minutes=1)) is None
    used = await _slots(app, "60:u:kf")
    assert len(used) == 3 and used[0][1] == now + timedelta(minutes=1)


async def test_a_full_later_window_gives_back_the_earlier_ones(app: App, clock: ManualClock) -> None:
    now = clock.now()
    async with app.db.session() as s:
        for i in range(4):  # the hour is full after 4 (one a minute keeps the minute window free)
            assert await rate_slots.take(s, {"u:kf": [MINUTE, HOUR]}, now + timedelta(minutes=i)) is None
    before = await _slots(app, "60:u:kf")
    async with app.db.session() as s:
        wait = await rate_slots.take(s, {"u:kf": [MINUTE, HOUR]}, now + timedelta(minutes=10))
        assert wait == now + timedelta(hours=1)
        assert await rate_slots.take(s, {"u:other": [MINUTE, HOUR]}, now + timedelta(minutes=10)) is None
    assert await _slots(app, "60:u:kf") == before  # the minute slot taken first was given back
    async with app.db.session() as s:
        n = await s.scalar(select(func.count()).select_from(RateSlot).where(RateSlot.family.like("%:u:other")))
    assert n == 2  # the same transaction went on for another recipient


async def test_a_slot_added_then_given_back_is_removed(app: App, clock: ManualClock) -> None:
    now = clock.now()
    async with app.db.session() as s:
        for i in range(4):
            assert await rate_slots.take(s, {"u:kf": [HOUR]}, now + timedelta(minutes=i)) is None
    async with app.db.session() as s:  # the minute family is new (added), the hour is full: nothing stays
        assert await rate_slots.take(s, {"u:kf": [HOUR], "u:new": [MINUTE]}, now + timedelta(minutes=5)) is not None
        assert await rate_slots.take(s, {"u:new": [MINUTE], "u:kf": [HOUR]}, now + timedelta(minutes=5)) is not None
    assert await _slots(app, "60:u:new") == []


async def test_take_many_decides_as_take_one_by_one(app: App, clock: ManualClock) -> None:
    """A batch (the outbox's claim of a chunk) gets the same answers and leaves the same slots as
    the same messages taken one at a time: random recipients, times and window pairs."""
    rng = random.Random(7)
    start = clock.now()
    held = taken = 0
    for step in range(40):
        now = start + timedelta(seconds=step * rng.choice((1, 7, 31)))
        batch = [{f"u:{rng.choice('abc')}": [MINUTE, HOUR] if rng.random() < 0.7 else [MINUTE]}
                 for _ in range(rng.randint(1, 6))]
        async with app.db.session() as s:
            many = await rate_slots.take_many(s, [{f"m{k}": w for k, w in m.items()} for m in batch], now)
        async with app.db.session() as s:
            one = [await rate_slots.take(s, {f"o{k}": w for k, w in m.items()}, now) for m in batch]
        assert many == one, step
        held += sum(w is not None for w in one)
        taken += sum(w is None for w in one)
    for fam in ("60:{}u:a", "3600:{}u:a", "60:{}u:b", "3600:{}u:c"):
        assert await _slots(app, fam.format("m")) == await _slots(app, fam.format("o")), fam
        assert len(await _slots(app, fam.format("m"))) <= (3 if fam.startswith("60:") else 4)
    assert held > 20 and taken > 20  # both kinds of answer were compared


async def test_take_many_reads_families_in_parts_and_big_families_by_their_oldest(app: App, clock: ManualClock) -> None:
    """More recipients than one read takes (512), and a family with many slots: the same answers
    as taking one by one (a full family waits for its oldest slot, a reusable one reuses it)."""
    now = clock.now()
    big = (timedelta(hours=1), 300)
    async with app.db.session() as s:
        for i in range(300):  # "u:full" holds 300 slots used over the last 50 minutes; "u:old" 300 used 2 h ago
            assert await rate_slots.take(s, {"u:full": [big]}, now - timedelta(seconds=3000 - 10 * i)) is None
            assert await rate_slots.take(s, {"u:old": [big]}, now - timedelta(hours=2, seconds=-i)) is None
    wanted = [{f"u:r{i:03d}": [MINUTE]} for i in range(600)] + [{"u:full": [big]}, {"u:old": [big]}, {"u:old": [big]}]
    async with app.db.session() as s:
        got = await rate_slots.take_many(s, wanted, now)
    assert got[:600] == [None] * 600
    assert got[600] == now - timedelta(seconds=3000) + timedelta(hours=1)  # when the full family's oldest frees
    assert got[601:] == [None, None]  # the two oldest slots reused
    old = await _slots(app, "3600:u:old")
    assert len(old) == 300 and [used for _, used in old[:2]] == [now, now]
    assert len(await _slots(app, "60:u:r599")) == 1
