"""The outbox worker: delivers due rows through the WeCom API or a group robot.

Each pass takes, for every recipient, only the oldest undelivered row (so one user's messages go
out in order), holds back what would break WeCom's per-member or per-robot limits, claims the rows
atomically (pending -> sending with a lease, so two processes never send the same row), sends
them concurrently and records the outcome: sent, retry later with exponential backoff and
jitter, or dead (a permanent error or too many attempts; the admins get one alert). A row found
still 'sending' after its lease (the process died mid-send) may or may not have arrived: it is
marked dead for a person to look at (``orderbot outbox --retry``), never sent twice on its own."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.ratelimit import Limits, RateLimiter
from notifications.robots import RobotBook
from notifications.wecom_api import WeComClient, WeComError, WeComUnavailable
from orders.app import App
from orders.outbox import OutboxMessage, enqueue_text
from orders.users import users_with_role

log = logging.getLogger(__name__)
COUNTED = frozenset({"text", "markdown", "image", "voice", "template_card"})  # update_card is not a new message
ALERT_PREFIX = "outbox-dead:"


class Permanent(Exception):
    """A row that can never be delivered as it is (bad path, unknown robot, bad payload)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 20
    base: float = 2.0  # seconds before the 2nd attempt
    cap: float = 900.0  # longest wait between attempts
    lease: timedelta = timedelta(minutes=2)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        raw = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=raw * (0.5 + rng.random() / 2))  # jitter: 50-100 % of the step


@dataclass
class PassResult:
    sent: int = 0
    failed: int = 0
    next_at: datetime | None = None  # when something held back or backed off becomes due
    stalled: bool = False  # the API looked down: wait before the next pass


def lanes(row: OutboxMessage) -> set[str]:
    """The ordering/limit keys of a row: each recipient of an app message, or the robot."""
    if row.channel == "webhook":
        return {f"r:{row.target}"}
    return {f"u:{u}" for u in row.target.split("|") if u}


def counted(row: OutboxMessage) -> bool:
    """Whether a row counts against WeCom's limits (a robot post, or a new app message)."""
    return row.channel == "webhook" or row.msgtype in COUNTED


class OutboxWorker:
    def __init__(self, app: App, client: WeComClient, *, robots: RobotBook | None = None,
                 limits: Limits | None = None, policy: RetryPolicy | None = None, rng: random.Random | None = None,
                 concurrency: int = 16, scan: int = 2000, poll: float = 1.0) -> None:
        self.app = app
        self.client = client
        self.robots = robots or RobotBook.load(app.config)
        self.limiter = RateLimiter(limits)
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.scan = scan
        self.poll = poll
        self._sem = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._loaded = False

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
        stale = {r.id for r in rows if r.status == "sending" and r.next_attempt_at <= now}
        if stale:  # claimed by a process that died mid-send: dead, and the admins' alert goes out now
            await self._expire_leases(stale, now)
            rows = await self._open_rows()
        blocked: set[str] = set()
        picked: list[OutboxMessage] = []
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
        async with self.app.db.session() as s:
            claimed = set((await s.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for r in picked]), OutboxMessage.status == "pending",
                       OutboxMessage.next_attempt_at <= now)
                .values(status="sending", next_attempt_at=now + self.policy.lease)
                .returning(OutboxMessage.id))).all())
        outcomes = await asyncio.gather(*(self._deliver(r, result) for r in picked if r.id in claimed))
        sent = [oid for oid in outcomes if oid is not None]
        if sent:  # one transaction for the whole pass; a crash before it leaves them 'sending' (never resent)
            async with self.app.db.session() as s:
                await s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(sent))
                                .values(status="sent", sent_at=self.app.clock.now(),
                                        attempts=OutboxMessage.attempts + 1, last_error=""))
        result.sent = len(sent)
        return result

    async def _deliver(self, row: OutboxMessage, result: PassResult) -> int | None:
        async with self._sem:
            try:
                await self._send(row)
            except WeComUnavailable as e:
                result.stalled = True
                await self._retry(row, str(e), result)
                return None
            except WeComError as e:
                if e.retryable:
                    await self._retry(row, str(e), result)
                else:
                    await self._dead(row, str(e))
                    result.failed += 1
                return None
            except Permanent as e:
                await self._dead(row, str(e))
                result.failed += 1
                return None
            except Exception as e:  # a bug: keep the row, back off, tell the log
                log.exception("outbox %d: unexpected error", row.id)
                await self._retry(row, f"{type(e).__name__}: {e}", result)
                return None
            if counted(row):
                self.limiter.record(lanes(row), self.app.clock.now())
            log.info("outbox %d sent (%s %s to %s)", row.id, row.channel, row.msgtype, row.target[:60])
            return row.id

    async def _send(self, row: OutboxMessage) -> None:
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
            return
        to = row.target
        if row.msgtype in ("text", "markdown"):
            await self.client.send(to, row.msgtype, {"content": self._content(p)})
        elif row.msgtype == "image":
            await self.client.send_image(to, Path(str(p.get("path"))).name, await self._file(p))
        elif row.msgtype == "voice":  # a kept AMR (an exception report's audio) played back to a lead
            await self.client.send_voice(to, Path(str(p.get("path"))).name, await self._file(p))
        elif row.msgtype == "template_card":
            card = p.get("template_card")
            if not isinstance(card, dict):
                raise Permanent("template_card payload without a card")
            answer = await self.client.send_template_card(to, card)
            if answer.get("response_code"):  # kept so a decision typed as text can grey the card later
                async with self.app.db.session() as s:
                    await s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                                    .values(payload={**p, "response_code": str(answer["response_code"])}))
        elif row.msgtype == "update_card":
            code = str(p.get("response_code") or "") or await self._card_code(str(p.get("task_id") or ""))
            if not code:
                raise Permanent("update_card without response_code")
            await self.client.update_template_card(to.split("|"), code, replace_name=p.get("replace_name"),
                                                   template_card=p.get("template_card"))
        else:
            raise Permanent(f"unknown msgtype {row.msgtype!r}")

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
                            .values(status="pending", attempts=attempts, next_attempt_at=at, last_error=error[:2000]))
        result.next_at = at if result.next_at is None else min(result.next_at, at)
        log.warning("outbox %d: attempt %d failed (%s); next try at %s", row.id, attempts, error[:200],
                    at.isoformat(timespec="seconds"))

    async def _dead(self, row: OutboxMessage, error: str) -> None:
        now = self.app.clock.now()
        async with self.app.db.session() as s:
            await s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                            .values(status="dead", attempts=OutboxMessage.attempts + 1, last_error=error[:2000]))
            await self._alert(s, row, error, now)
        log.error("outbox %d dead (%s %s to %s): %s", row.id, row.channel, row.msgtype, row.target[:60], error[:300])

    async def _alert(self, s: AsyncSession, row: OutboxMessage, error: str, now: datetime) -> None:
        if (row.dedupe_key or "").startswith(ALERT_PREFIX):
            return  # never alert about an undeliverable alert
        admins = [u.user_id for u in await users_with_role(s, "admin")]
        text = (f"⚠️ 消息发送失败，已停止重试：#{row.id}（{row.msgtype}，发给 {row.target[:60]}）\n"
                f"原因：{error[:200]}\n查看：orderbot outbox；重发：orderbot outbox --retry {row.id}")
        await enqueue_text(s, admins, text, now, dedupe_key=f"{ALERT_PREFIX}{row.id}")

    async def _open_rows(self) -> list[OutboxMessage]:
        async with self.app.db.session() as s:
            return list((await s.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
                                         .order_by(OutboxMessage.id).limit(self.scan))).all())

    async def _expire_leases(self, ids: set[int], now: datetime) -> None:
        """Rows left 'sending' past their lease: dead, for a person to decide (never resent)."""
        async with self.app.db.session() as s:
            rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                                                 OutboxMessage.status == "sending",
                                                                 OutboxMessage.next_attempt_at <= now))).all()
            for row in rows:
                row.status = "dead"
                row.last_error = "interrupted while sending: delivery unknown, not resent automatically"
                await self._alert(s, row, row.last_error, now)
                log.error("outbox %d: interrupted while sending; marked dead", row.id)


