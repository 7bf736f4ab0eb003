"""Processing inbox rows after WeCom got its 200: dispatch, then queue the replies in the same
transaction that marks the rows done. Rows are taken in batches (one claim and one finish
transaction per batch); one user's messages are handled one after another, in arrival order."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.dispatch import Dispatcher
from bot.types import Reply
from bot.wecom.acks import AckGate
from bot.wecom.messages import Parsed, parse
from bot.wecom.replies import enqueue_all
from orders import deferred, inbox, processes, versions
from orders.app import App
from orders.inbox import InboxMessage

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)  # for claimers not in the processes table; a registered one that is gone frees at once
MAX_BATCH = 200
FAILED = "抱歉，处理您的消息时出错了，请稍后再试；如果一直出错请联系管理员。"
UNSUPPORTED = "暂不支持{label}消息。可以发送文字命令、语音或图片，发送「帮助」查看可用命令。"


@dataclass
class Finished:
    """A handled row waiting for its closing transaction."""

    row: InboxMessage
    replies: list[Reply]
    error: str
    writes: list[deferred.Write]
    done: asyncio.Future[None]  # set once written (or given up)


class InboxProcessor:
    """Runs inbox rows through the dispatcher in background tasks.

    Claims are taken in batches; each user's messages run one after another (a per-user lock),
    different users concurrently; finished rows are written in shared transactions (the replies
    and the "done" mark together), so a slow message (voice) never holds up anyone else's."""

    def __init__(self, app: App, dispatcher: Dispatcher, *, on_outbox: Callable[[], None] | None = None,
                 concurrency: int = 8, ahead: int | None = None, acks: AckGate | None = None) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.on_outbox = on_outbox
        self.me = processes.current().id
        self.acks = acks or AckGate()  # the callback handler counts itself in: acknowledgements go first
        self._sem = asyncio.Semaphore(concurrency)
        # claimed rows not yet written, at most ``ahead``: under a backlog the rest stay pending
        # (a peer's replay may take them) and the event loop is not crowded with waiting messages
        self.ahead = ahead or 4 * concurrency
        self.low = min(concurrency, self.ahead)  # claim more only when fewer than this are claimed
        self._claimed = 0
        self._room = asyncio.Event()
        self._pending: list[int] = []
        self._inflight: set[int] = set()  # submitted and not yet written: a replay never takes them twice
        self._parsed: dict[int, Parsed] = {}  # rows the acknowledgement parsed already (inflight ones only)
        self._finished: list[Finished] = []
        self._locks: dict[str, asyncio.Lock] = {}
        self._seq = 0  # messages handled so far; _last_done: the user's latest one's number
        self._last_done: dict[str, int] = {}
        self._waiting: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._claimer: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    def submit(self, row_id: int, parsed: Parsed | None = None) -> None:
        """Process a stored row in the background (the HTTP answer does not wait for it).
        ``parsed``: the row's message as the acknowledgement parsed it (else parsed again here)."""
        if row_id in self._inflight:
            return
        self._inflight.add(row_id)
        if parsed is not None:
            self._parsed[row_id] = parsed
        self._pending.append(row_id)
        if self._claimer is None or self._claimer.done():
            self._claimer = self._spawn(self._claim_loop(), "inbox-claim")

    async def replay(self) -> int:
        """Queue rows left unprocessed by a crash or stop; returns how many."""
        async with self.app.db.session() as s:
            now = self.app.clock.now()
            rows = await inbox.unfinished(s, now, LEASE, await processes.gone(s, now))
        for row_id in rows:
            self.submit(row_id)
        if rows:
            log.info("replaying %d unprocessed inbox messages", len(rows))
        return len(rows)

    async def drain(self) -> None:
        """Wait until every submitted row is processed and written."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _forget(self, row_ids: Iterable[int]) -> None:
        for i in row_ids:
            self._inflight.discard(i)
            self._parsed.pop(i, None)

    async def _claim_loop(self) -> None:
        while self._pending:
            room = min(MAX_BATCH, self.ahead - self._claimed)
            # with enough claimed to keep every slot busy, wait and claim a bigger batch later:
            # each claim is a write turn with a fixed cost (~2 ms of CPU)
            if room <= 0 or self._claimed >= self.low:
                self._room.clear()
                await self._room.wait()
                continue
            batch, self._pending = self._pending[:room], self._pending[room:]
            mark = self._seq  # messages handled up to here are in the counters read below
            try:
                async with self.app.db.write_session() as s:
                    now = self.app.clock.now()
                    rows = await inbox.claim_many(s, sorted(set(batch)), now, LEASE, by=self.me,
                                                  gone=await processes.gone(s, now))
                    counters = await versions.read(s) if rows else None  # cached users/workflow hold for the batch
            except Exception:
                log.exception("claiming %d inbox rows failed; the inbox sweep retries them", len(batch))
                self._forget(batch)
                continue
            self._forget(set(batch) - {r.id for r in rows})  # a peer has them
            self._claimed += len(rows)
            by_user: dict[str, list[InboxMessage]] = {}
            for r in rows:
                by_user.setdefault(r.user_id, []).append(r)
            for user_id, user_rows in by_user.items():
                self._waiting[user_id] = self._waiting.get(user_id, 0) + 1
                self._spawn(self._user(user_id, user_rows, counters, mark), f"inbox-{user_id}")

    async def _user(self, user_id: str, rows: list[InboxMessage], counters: versions.Versions | None,
                    mark: int) -> None:
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        try:
            async with lock:
                for r in rows:
                    # a message of this user's handled after the counters were read (an admin changing
                    # their own role, say) may have moved them: then read them again
                    fresh = counters if self._last_done.get(user_id, -1) < mark else None
                    # a message's reads may run without yielding the loop (orders.sqlite_driver.inline_reads):
                    # callbacks in progress get to their inbox write (and WeCom its 200) first
                    await self.acks.wait()
                    async with self._sem:
                        with deferred.collect() as writes, versions.batch(fresh):
                            replies, error = await self._handle(r)
                    self._seq += 1
                    self._last_done[user_id] = self._seq
                    done = asyncio.get_running_loop().create_future()
                    self._finished.append(Finished(r, replies, error, writes, done))
                    if self._flusher is None or self._flusher.done():
                        self._flusher = self._spawn(self._flush_loop(), "inbox-flush")
                    await done  # the user's next message sees this one's writes (focus, usage)
        finally:
            self._waiting[user_id] -= 1
            if not self._waiting[user_id]:
                del self._waiting[user_id]
                self._locks.pop(user_id, None)

    async def _flush_loop(self) -> None:
        while self._finished:
            batch, self._finished = self._finished, []
            try:
                await self._write(batch)
            except Exception:
                log.exception("writing %d processed inbox rows failed; writing them one by one", len(batch))
                for f in batch:
                    await self._write_alone(f)
            finally:
                self._forget([f.row.id for f in batch])
                self._claimed -= len(batch)
                self._room.set()
                for f in batch:
                    if not f.done.done():
                        f.done.set_result(None)

    async def _write_alone(self, f: Finished) -> None:
        try:
            await self._write([f])
            return
        except Exception:
            log.exception("inbox row %d: its bookkeeping writes failed; writing its replies without them", f.row.id)
        try:
            await self._write([dataclasses.replace(f, writes=[])])
        except Exception:
            log.exception("writing inbox row %d failed; the inbox sweep retries it after its lease", f.row.id)

    async def _write(self, batch: list[Finished]) -> None:
        """Mark rows done, run their deferred writes and queue their replies in one transaction."""
        app = self.app
        async with app.db.write_session() as s:
            now = app.clock.now()
            done = await inbox.finish_many(s, [f.row.id for f in batch if not f.error], now)
            for f in batch:
                if f.error and await inbox.finish(s, f.row.id, now, error=f.error):
                    done.add(f.row.id)
            # a peer may have given back these users' later messages while this process held an earlier one
            later = [i for i in await inbox.waiting(s, {f.row.user_id for f in batch}) if i not in self._inflight]
            # the batch's bookkeeping together: one executemany per statement (orders.deferred.Rows)
            await deferred.run(s, [w for f in batch if f.row.id in done and not f.error for w in f.writes])
            for f in batch:
                if f.row.id not in done:
                    log.warning("inbox row %d was finished by another worker; its replies are dropped", f.row.id)
            n = await enqueue_all(s, [(f.replies, f.row.user_id) for f in batch if f.row.id in done], now=now,
                                  data_dir=app.settings.data_dir)
        log.info("inbox: %d messages processed, %d outgoing", len(done), n)
        for row_id in later:
            self.submit(row_id)
        if n and self.on_outbox is not None:
            self.on_outbox()

    async def _handle(self, row: InboxMessage) -> tuple[list[Reply], str]:
        """The replies to one row, and an error text when processing failed."""
        try:
            parsed = self._parsed.pop(row.id, None) or parse(row.xml, received_at=row.received_at)
            if parsed.incoming is None:  # an unknown user gets "ask an admin" whatever they sent
                refused = await self.dispatcher.refuse_unknown(parsed.sender, parsed.kind, "wecom")
                return refused or [Reply(text=UNSUPPORTED.format(label=parsed.unsupported))], ""
            return await self.dispatcher.handle(parsed.incoming), ""
        except Exception as e:
            log.exception("inbox row %d (%s from %s) failed", row.id, row.kind, row.user_id)
            return [Reply(text=FAILED)], f"{type(e).__name__}: {e}"
