"""Inbox claims name their process: a gone process's claims are free at once, a live peer's are
not, and one user's messages are only ever claimed in arrival order."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from orders import inbox, processes
from orders.app import App
from orders.clock import ManualClock
from orders.inbox import InboxMessage

LEASE = timedelta(minutes=5)


async def _store(app: App, user: str, n: int) -> list[int]:
    now = app.clock.now()
    async with app.db.session() as s:
        ids = await inbox.store_many(s, [{"dedupe_key": f"{user}-{i}", "msg_id": str(i), "user_id": user,
                                          "kind": "text", "xml": "<xml/>", "received_at": now} for i in range(n)])
    return sorted(ids.values())


async def _status(app: App) -> dict[int, tuple[str, str | None]]:
    async with app.db.session() as s:
        return {r.id: (r.status, r.claimed_by) for r in (await s.scalars(select(InboxMessage))).all()}


async def test_a_live_peer_keeps_its_claim_and_the_users_later_messages_wait(app: App, clock: ManualClock) -> None:
    me = processes.current()
    peer = processes.Identity("otherhost:77:peer", "otherhost", 77)
    a1, a2, a3 = await _store(app, "cs01", 3)
    (b1,) = await _store(app, "cs02", 1)
    async with app.db.session() as s:
        await processes.register(s, clock.now(), peer)
        got = await inbox.claim_many(s, [a1], clock.now(), LEASE, by=peer.id)
        assert [r.id for r in got] == [a1]
    async with app.db.session() as s:  # cs01's later messages must wait for the peer; cs02's go ahead
        got = await inbox.claim_many(s, [a2, a3, b1], clock.now(), LEASE, by=me.id,
                                     gone=await processes.gone(s, clock.now()))
    assert [r.id for r in got] == [b1]
    st = await _status(app)
    assert st[a1] == ("processing", peer.id) and st[a2] == ("pending", None) and st[a3] == ("pending", None)
    clock.advance(processes.TIMEOUT + timedelta(seconds=1))  # the peer stopped beating: gone
    async with app.db.session() as s:
        gone = await processes.gone(s, clock.now())
        assert peer.id in gone
        assert await inbox.unfinished(s, clock.now(), LEASE, gone) == [a1, a2, a3]
        got = await inbox.claim_many(s, [a3], clock.now(), LEASE, by=me.id, gone=gone)
    assert [r.id for r in got] == [a1, a2, a3]  # the earlier ones come along, in order


async def test_a_dead_process_on_this_host_frees_its_claims_without_waiting(app: App, clock: ManualClock) -> None:
    me = processes.current()
    dead = processes.Identity(f"{me.host}:1:dead", me.host, 2 ** 22 + 4321)  # no such pid
    stopped = processes.Identity(f"{me.host}:2:stopped", me.host, me.pid)
    (a1,) = await _store(app, "cs01", 1)
    (b1,) = await _store(app, "cs02", 1)
    async with app.db.session() as s:
        await processes.register(s, clock.now(), dead)
        await processes.register(s, clock.now(), stopped)
        await processes.register(s, clock.now(), me)
        await inbox.claim_many(s, [a1], clock.now(), LEASE, by=dead.id)
        await inbox.claim_many(s, [b1], clock.now(), LEASE, by=stopped.id)
        await processes.stopped(s, clock.now(), stopped)
    async with app.db.session() as s:
        gone = await processes.gone(s, clock.now())
        assert gone == {dead.id, stopped.id}
        got = await inbox.claim_many(s, [a1, b1], clock.now(), LEASE, by=me.id, gone=gone)
    assert [r.id for r in got] == [a1, b1]
    assert all(r.claimed_by == me.id and r.attempts == 2 for r in got)
