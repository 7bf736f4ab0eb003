"""The outbox worker: delivers due rows through the WeCom API or a group robot.

Each pass takes, for every recipient, only the oldest undelivered row (so one user's messages go
out in order) and holds back what would break WeCom's per-member or per-robot limits. A row is
claimed (pending -> sending, naming this process, with a short lease) only when its request is
about to go out, and is marked sent with WeCom's ``msgid`` as soon as the answer arrives; a failure
is retried with exponential backoff and jitter, or the row is dead (a permanent error or too many
attempts; the admins get one alert).

After a crash: a row still 'sending' whose process is gone (orders.processes: at once on restart)
or whose lease ran out may or may not have reached WeCom, and WeCom offers no lookup by msgid. It
is sent again: one possible duplicate is preferred over a loss. Where WeCom can tell, it does: a
template card's ``task_id`` is unique, so a resent card answered 42014 was delivered the first time
and is marked sent. Such rows are not dead and raise no admin alert; ``orderbot outbox
--retry-dead`` never touches a row that was delivered (it has a msgid) or may have been.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.ratelimit import Limits, RateLimiter
from notifications.robots import RobotBook
from notifications.sent_marks import SentMarks
from notifications.wecom_api import WeComClient, WeComError, WeComUnavailable
from orders import outbox, processes, rate_slots
from orders.app import App
from orders.outbox import OutboxMessage, enqueue_text, scrubbed
from orders.users import users_with_role

log = logging.getLogger(__name__)
COUNTED = frozenset({"text", "markdown", "image", "voice", "template_card"})  # update_card is not a new message
ALERT_PREFIX = "outbox-dead:"
CARD_TASK_USED = 42014  # template card task_id already used
INTERRUPTED = "interrupted while sending; sent again (a duplicate is possible)"
CLAIM_ROUNDS = 4  # rows claimed at once: this many rounds of ``concurrency`` requests (a lease each)


class Permanent(Exception):
    """A row that can never be delivered as it is (bad path, unknown robot, bad payload)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 20
    base: float = 2.0  # seconds before the 2nd attempt
    cap: float = 900.0  # longest wait between attempts
    lease: timedelta = timedelta(seconds=30)  # > the client timeout; a gone process frees its rows at once

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        raw = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=raw * (0.5 + rng.random() / 2))  # jitter: 50-100 % of the step


@dataclass
class PassResult:
    sent: int = 0
    failed: int = 0
    next_at: datetime | None = None  # when something held back or backed off becomes due
    stalled: bool = False  # the API looked down: wait before the next pass


class Addressed(Protocol):
    """What picking a row needs: an outbox row, or its light scan row (``_open_rows``)."""

    id: int
    channel: str
    target: str
    msgtype: str
    status: str
    next_attempt_at: datetime
    claimed_by: str | None


_OPEN = (select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.target, OutboxMessage.msgtype,
                OutboxMessage.status, OutboxMessage.next_attempt_at, OutboxMessage.claimed_by)
         .where(OutboxMessage.status.in_(("pending", "sending"))).order_by(OutboxMessage.id)
         .limit(bindparam("n")))


def lanes(row: Addressed) -> set[str]:
    """The ordering/limit keys of a row: each recipient of an app message, or the robot."""
    if row.channel == "webhook":
        return {f"r:{row.target}"}
    return {f"u:{u}" for u in row.target.split("|") if u}


def counted(row: Addressed) -> bool:
    """Whether a row counts against WeCom's limits (a robot post, or a new app message)."""
    return row.channel == "webhook" or row.msgtype in COUNTED


class OutboxWorker:
    def __init__(self, app: App, client: WeComClient, *, robots: RobotBook | None = None,
                 limits: Limits | None = None, policy: RetryPolicy | None = None, rng: random.Random | None = None,
                 concurrency: int = 16, scan: int = 2000, poll: float = 1.0,
                 before_send: Callable[[], Awaitable[None]] | None = None) -> None:
        self.app = app
        self.client = client
        self.robots = robots or RobotBook.load(app.config)
        self.limiter = RateLimiter(limits)
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.scan = scan
        self.poll = poll
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._loaded = False
        self.me = processes.current().id
        self.marks = SentMarks(app)
        self.before_send = before_send  # e.g. callbacks being answered go first (bot.wecom.acks)

    def wake(self) -> None:
        """Something was queued: run a pass now rather than at the next poll."""
        self._wake.set()

    async def load_history(self) -> None:
        """Seed the rate limiter with the last hour of sends (limits survive a restart)."""
        now = self.app.clock.now()
        async with self.app.db.session() as s:
            rows = (await s.scalars(select(OutboxMessage).where(
                OutboxMessage.status == "sent", OutboxMessage.sent_at > now - timedelta(hours=1))
                .order_by(OutboxMessage.sent_at))).all()
        for r in rows:
            if r.sent_at is not None and counted(r):
                self.limiter.record(lanes(r), r.sent_at)
        self._loaded = True

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; a pass in flight is finished first."""
        if not self._loaded:
            await self.load_history()
        log.info("outbox worker started")
        while not stop.is_set():
            try:
                res = await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
                res = PassResult(stalled=True)
            if res.sent and not res.stalled:
                continue
            wait = self.poll
            if res.next_at is not None and not res.stalled:
                wait = min(wait, max(0.0, (res.next_at - self.app.clock.now()).total_seconds()))
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=max(wait, 0.01), return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
        log.info("outbox worker stopped")

    async def run_until_idle(self, max_passes: int = 1000) -> int:
        """Passes until nothing more is due now (tests drive a ManualClock around this)."""
        if not self._loaded:
            await self.load_history()
        total = 0
        for _ in range(max_passes):
            res = await self.run_once()
            total += res.sent
            if not res.sent and not res.failed:
                break
        return total

    async def run_once(self) -> PassResult:
        now = self.app.clock.now()
        result = PassResult()
        rows = await self._open_rows()
        sending = [r for r in rows if r.status == "sending"]
        if sending and await self._release(sending, now):  # interrupted sends: due again at once
            rows = await self._open_rows()
        blocked: set[str] = set()
        picked: list[Addressed] = []
        for r in rows:
            keys = lanes(r)
            if keys & blocked:
                blocked |= keys
                continue
            blocked |= keys
            if r.status == "sending":
                continue
            due = r.next_attempt_at
            if counted(r):
                due = max(due, self.limiter.ready_at(keys, now))
            if due > now:
                result.next_at = due if result.next_at is None else min(result.next_at, due)
                continue
            picked.append(r)
        if not picked:
            return result
        # claimed rows go out at once (their lease holds), ``concurrency`` requests at a time; a claim
        # is a write turn with a fixed cost, so it takes several rounds of requests' worth of rows
        gate = asyncio.Semaphore(self.concurrency)

        async def deliver(r: OutboxMessage) -> int:
            async with gate:
                if self.before_send is not None:
                    await self.before_send()
                return await self._deliver(r, result)

        step = self.concurrency * CLAIM_ROUNDS
        for i in range(0, len(picked), step):
            claimed = await self._claim(picked[i:i + step], result)
            result.sent += sum(await asyncio.gather(*(deliver(r) for r in claimed)))
        return result

    async def _claim(self, rows: list[Addressed], result: PassResult) -> list[OutboxMessage]:
        """pending -> sending for this process, all in one transaction just before their requests go
        out, each with its send-limit slots shared by every process (orders.rate_slots). A row a peer
        took is left out; a row another process's sends hold back is given back as it was
        (``result.next_at`` says when to look again). Returns the claimed rows, in order."""
        now = self.app.clock.now()
        async with self.app.db.write_session() as s:
            rounds = -(-len(rows) // self.concurrency)  # each round's requests within one lease (> the timeout)
            got = await outbox.claim(s, [r.id for r in rows], now, self.me, now + self.policy.lease * rounds)
            limited = [r for r in rows if r.id in got and counted(r)]
            waits = await rate_slots.take_many(
                s, [{k: self.limiter.windows(k) for k in sorted(lanes(r))} for r in limited], now)
            held: list[Addressed] = []
            for r, wait in zip(limited, waits, strict=True):
                if wait is not None:
                    held.append(r)
                    result.next_at = wait if result.next_at is None else min(result.next_at, wait)
            await outbox.give_back(s, [(r.id, r.next_attempt_at) for r in held])
            back = {r.id for r in held}
            mine = [r.id for r in rows if r.id in got and r.id not in back]
            full = await outbox.whole(s, mine)  # the scan read no payloads (see _open_rows): the claimed rows whole
        return [full[i] for i in mine]

    async def _sent(self, row: OutboxMessage, msgid: str, note: str = "", code: str = "") -> None:
        """Mark delivered with WeCom's msgid; the message itself is scrubbed from the row (a card
        keeps the response_code WeCom gave, so a decision typed as text can grey it later)."""
        note = note or (INTERRUPTED if row.last_error == INTERRUPTED else "")  # kept: a possible duplicate
        kept = scrubbed({**(row.payload or {}), **({"response_code": code} if code else {})})
        await self.marks.mark({"id": row.id, "status": "sent", "sent_at": self.app.clock.now(),  # group-committed
                               "attempts": row.attempts + 1,  # the claim holds the row: nobody else counts
                               "last_error": note, "msgid": msgid[:128], "claimed_by": None, "payload": kept})

    async def _deliver(self, row: OutboxMessage, result: PassResult) -> int:
        try:
            answer = await self._send(row)
        except WeComUnavailable as e:
            result.stalled = True
            await self._retry(row, str(e), result)
            return 0
        except WeComError as e:
            if e.errcode == CARD_TASK_USED and row.msgtype == "template_card":
                # the card's unique task_id was taken: this very row reached WeCom before a crash
                await self._sent(row, "", "delivered before an interruption (task_id already used: 42014)")
                log.info("outbox %d: card already delivered before an interruption", row.id)
                return 1
            if e.retryable:
                await self._retry(row, str(e), result)
            else:
                await self._dead(row, str(e))
                result.failed += 1
            return 0
        except Permanent as e:
            await self._dead(row, str(e))
            result.failed += 1
            return 0
        except Exception as e:  # a bug: keep the row, back off, tell the log
            log.exception("outbox %d: unexpected error", row.id)
            await self._retry(row, f"{type(e).__name__}: {e}", result)
            return 0
        if counted(row):
            self.limiter.record(lanes(row), self.app.clock.now())
        await self._sent(row, str(answer.get("msgid") or ""), code=str(answer.get("response_code") or ""))
        # per message: the row keeps it (status, sent_at, msgid); failures and retries log at INFO and up
        log.debug("outbox %d sent (%s %s to %s)", row.id, row.channel, row.msgtype, row.target[:60])
        return 1

    async def _send(self, row: OutboxMessage) -> dict[str, Any]:
        """Send one row; WeCom's answer (empty for robots and card updates: no msgid)."""
        p: dict[str, Any] = row.payload or {}
        if row.channel == "webhook":
            key = self.robots.key(row.target)
            if key is None:
                raise Permanent(f"unknown group robot {row.target!r} (no key configured)")
            if row.msgtype == "image":
                await self.client.webhook_send(key, "image", {"bytes": await self._file(p)})
            elif row.msgtype in ("text", "markdown"):
                await self.client.webhook_send(key, row.msgtype, {"content": self._content(p)})
            else:
                raise Permanent(f"group robots cannot send {row.msgtype}")
            return {}
        to = row.target
        answer: dict[str, Any] = {}
        if row.msgtype in ("text", "markdown"):
            answer = await self.client.send(to, row.msgtype, {"content": self._content(p)})
        elif row.msgtype == "image":
            answer = await self.client.send_image(to, Path(str(p.get("path"))).name, await self._file(p))
        elif row.msgtype == "voice":  # a kept AMR (an exception report's audio) played back to a lead
            answer = await self.client.send_voice(to, Path(str(p.get("path"))).name, await self._file(p))
        elif row.msgtype == "template_card":
            card = p.get("template_card")
            if not isinstance(card, dict):
                raise Permanent("template_card payload without a card")
            answer = await self.client.send_template_card(to, card)
        elif row.msgtype == "update_card":
            code = str(p.get("response_code") or "") or await self._card_code(str(p.get("task_id") or ""))
            if not code:
                raise Permanent("update_card without response_code")
            await self.client.update_template_card(to.split("|"), code, replace_name=p.get("replace_name"),
                                                   template_card=p.get("template_card"))
        else:
            raise Permanent(f"unknown msgtype {row.msgtype!r}")
        return answer

    async def _card_code(self, task_id: str) -> str:
        """The response code WeCom gave back when the card ``task_id`` was sent (dedupe key
        ``card:<task_id>``), for updates that come from a typed command rather than a button."""
        if not task_id:
            return ""
        async with self.app.db.session() as s:
            payload = await s.scalar(select(OutboxMessage.payload).where(OutboxMessage.dedupe_key == f"card:{task_id}",
                                                                        OutboxMessage.status == "sent"))
        return str((payload or {}).get("response_code") or "")

    @staticmethod
    def _content(p: dict[str, Any]) -> str:
        content = p.get("content")
        if not isinstance(content, str) or not content:
            raise Permanent("payload without content")
        return content

    async def _file(self, p: dict[str, Any]) -> bytes:
        base = self.app.settings.data_dir.resolve()
        path = (base / str(p.get("path") or "")).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            raise Permanent(f"file missing or outside the data dir: {p.get('path')!r}")
        return await asyncio.to_thread(path.read_bytes)

    async def _retry(self, row: OutboxMessage, error: str, result: PassResult) -> None:
        attempts = row.attempts + 1
        if attempts >= self.policy.max_attempts:
            await self._dead(row, f"gave up after {attempts} attempts: {error}")
            result.failed += 1
            return
        at = self.app.clock.now() + self.policy.delay(attempts, self.rng)
        async with self.app.db.session() as s:
            await s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                            .values(status="pending", attempts=attempts, next_attempt_at=at, last_error=error[:2000],
                                    claimed_by=None))
        result.next_at = at if result.next_at is None else min(result.next_at, at)
        log.warning("outbox %d: attempt %d failed (%s); next try at %s", row.id, attempts, error[:200],
                    at.isoformat(timespec="seconds"))

    async def _dead(self, row: OutboxMessage, error: str) -> None:
        now = self.app.clock.now()
        async with self.app.db.session() as s:
            await s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                            .values(status="dead", attempts=OutboxMessage.attempts + 1, last_error=error[:2000],
                                    claimed_by=None))
            await self._alert(s, row, error, now)
        log.error("outbox %d dead (%s %s to %s): %s", row.id, row.channel, row.msgtype, row.target[:60], error[:300])

    async def _alert(self, s: AsyncSession, row: OutboxMessage, error: str, now: datetime) -> None:
        if (row.dedupe_key or "").startswith(ALERT_PREFIX):
            return  # never alert about an undeliverable alert
        admins = [u.user_id for u in await users_with_role(s, "admin")]
        text = (f"⚠️ 消息发送失败，已停止重试：#{row.id}（{row.msgtype}，发给 {row.target[:60]}）\n"
                f"原因：{error[:200]}\n查看：orderbot outbox；重发：orderbot outbox --retry {row.id}")
        await enqueue_text(s, admins, text, now, dedupe_key=f"{ALERT_PREFIX}{row.id}")

    async def _open_rows(self) -> list[Addressed]:
        """Open rows in order, as light rows (no ORM objects, no encrypted payloads: decoding every
        held-back row on every pass cost more than the sends); ``_claim`` reads the claimed ones whole."""
        async with self.app.db.session() as s:
            return cast(list[Addressed], list((await s.execute(_OPEN, {"n": self.scan})).all()))

    async def _release(self, rows: list[Addressed], now: datetime) -> int:
        """Rows left 'sending' by a process that is gone (or whose lease ran out): pending again,
        due now, no alert. Their request may have reached WeCom: a possible duplicate, never a loss."""
        async with self.app.db.session() as s:
            gone = await processes.gone(s, now)
            ids = [r.id for r in rows if r.claimed_by != self.me and (r.claimed_by in gone or r.next_attempt_at <= now)]
            if not ids:
                return 0
            got = (await s.scalars(update(OutboxMessage)
                                   .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending",
                                          OutboxMessage.msgid == "")
                                   .values(status="pending", next_attempt_at=now, claimed_by=None,
                                           last_error=INTERRUPTED)
                                   .returning(OutboxMessage.id))).all()
        if got:
            log.warning("outbox: %d rows interrupted while sending are sent again (a duplicate is possible): %s",
                        len(got), ", ".join(map(str, got[:20])))
        return len(got)
