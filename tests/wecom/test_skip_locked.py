"""Claims on PostgreSQL use ``FOR UPDATE SKIP LOCKED``: a row another replica's transaction is
claiming right now is skipped, never waited for, and never lets a later message of the same user
jump ahead. Each test holds one claim open in a transaction while a second claimer runs; without
SKIP LOCKED the second one blocks until the first commits (the ``wait_for`` fails).
On SQLite (one writer) the second writer waits by design: these run in the PostgreSQL half."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from notifications.sweeper import claim_due
from orders import inbox, rate_slots
from orders.app import App
from orders.clock import ManualClock
from orders.due import DueItem
from orders.inbox import InboxMessage
from orders.job_lock import exclusive
from tests.wecom.test_claims import _store

LEASE = timedelta(minutes=5)
QUICK = 3.0  # seconds; a blocked claimer waits for the other transaction, i.e. forever here


@pytest.fixture(autouse=True)
def _postgresql_only(app: App) -> None:
    if app.db.is_sqlite:
        pytest.skip("SQLite has one writer: a second claimer waits for the lock by design")


async def test_inbox_rows_being_claimed_are_skipped_and_the_users_later_rows_wait(app: App,
                                                                                  clock: ManualClock) -> None:
    a1, a2, a3 = await _store(app, "cs01", 3)
    (b1,) = await _store(app, "cs02", 1)
    async with app.db.session() as first:  # replica A is claiming cs01's first message, not committed yet
        got = await inbox.claim_many(first, [a1], clock.now(), LEASE, by="replica-a")
        assert [r.id for r in got] == [a1]
        async with app.db.session() as s:  # replica B, at the same moment
            got = await asyncio.wait_for(inbox.claim_many(s, [a2, a3, b1], clock.now(), LEASE, by="replica-b"), QUICK)
        assert [r.id for r in got] == [b1]  # a2, a3 wait behind a1: per-user order holds
    async with app.db.session() as s:
        st = {r.id: (r.status, r.claimed_by, r.attempts) for r in (await s.scalars(select(InboxMessage))).all()}
        assert await inbox.waiting(s, ["cs01"]) == [a2, a3]  # what A takes next, when it finishes a1
    assert st[a1] == ("processing", "replica-a", 1) and st[b1] == ("processing", "replica-b", 1)
    assert st[a2] == ("pending", None, 0) and st[a3] == ("pending", None, 0)


async def test_due_rows_being_claimed_are_skipped(app: App, clock: ManualClock) -> None:
    now = clock.now()
    async with app.db.session() as s:
        s.add_all([DueItem(kind="escalate_lead", ref=f"step:{i}:lead", due_at=now - timedelta(minutes=1),
                           state="due", data={}, created_at=now, done_by="") for i in range(3)])
    async with app.db.session() as first:
        mine = await claim_due(first, ("escalate_lead",), now, "replica-a")
        async with app.db.session() as s:
            theirs = await asyncio.wait_for(claim_due(s, ("escalate_lead",), now, "replica-b"), QUICK)
    assert len(mine) == 3 and theirs == []
    async with app.db.session() as s:  # committed: a later sweep finds nothing either
        assert await claim_due(s, ("escalate_lead",), now, "replica-c") == []


async def test_a_sweep_claims_nothing_while_another_is_claiming(app: App, clock: ManualClock) -> None:
    """Rows that fall due while one sweep's claim is open are not split off by a second sweep (its
    recipients would get two messages for one sweep): the second claims nothing, the next sweep
    takes them."""
    now = clock.now()

    def due(i: int) -> DueItem:
        return DueItem(kind="escalate_lead", ref=f"step:{i}:lead", due_at=now - timedelta(minutes=1), state="due",
                       data={}, created_at=now, done_by="")

    async with app.db.session() as s:
        s.add_all([due(i) for i in range(3)])
    async with app.db.session() as first:
        mine = await claim_due(first, ("escalate_lead",), now, "replica-a")
        async with app.db.session() as s:  # committed while the first sweep is still open
            s.add(due(3))
        async with app.db.session() as s:
            theirs = await asyncio.wait_for(claim_due(s, ("escalate_lead",), now, "replica-b"), QUICK)
    assert len(mine) == 3 and theirs == []
    async with app.db.session() as s:
        assert [d.ref for d in await claim_due(s, ("escalate_lead",), now, "replica-c")] == ["step:3:lead"]


async def test_concurrent_senders_take_different_rate_slots(app: App, clock: ManualClock) -> None:
    now = clock.now()
    wins = {"u:cs01": [(timedelta(minutes=1), 2)]}
    async with app.db.session() as s:
        assert await rate_slots.take(s, wins, now - timedelta(hours=1)) is None  # its first slot
    async with app.db.session() as first:
        assert await rate_slots.take(first, wins, now) is None
        async with app.db.session() as second:  # the other slot, without waiting for the first
            assert await asyncio.wait_for(rate_slots.take(second, wins, now), QUICK) is None
            async with app.db.session() as third:  # both slots in use: held back, not blocked
                wait = await asyncio.wait_for(rate_slots.take(third, wins, now), QUICK)
                assert wait is not None and wait > now
    async with app.db.session() as s:  # both committed: the window is full until a minute later
        assert await rate_slots.take(s, wins, now + timedelta(seconds=30)) == now + timedelta(minutes=1)


async def test_one_replica_at_a_time_runs_a_job(app: App) -> None:
    async with exclusive(app.db, "sweep") as a:
        async with exclusive(app.db, "sweep") as b, exclusive(app.db, "inbox-replay") as other:
            assert (a, b, other) == (True, False, True)
    async with exclusive(app.db, "sweep") as again:  # released with its transaction
        assert again
