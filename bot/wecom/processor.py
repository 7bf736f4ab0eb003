"""Processing inbox rows after WeCom got its 200: dispatch, then queue the replies in the same
transaction that marks the rows done. Rows are taken in batches (one claim and one finish
transaction per batch); one user's messages are handled one after another, in arrival order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.dispatch import Dispatcher
from bot.types import Reply
from bot.wecom import inbox
from bot.wecom.inbox import InboxMessage
from bot.wecom.messages import parse
from bot.wecom.replies import enqueue_replies
from notifications.outbox import enqueue_text
from orders.models import User
from orders.users import users_with_role

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_BATCH = 200
FAILED = "抱歉，处理您的消息时出错了，请稍后再试；如果一直出错请联系管理员。"
UNSUPPORTED = "暂不支持{label}消息。可以发送文字命令、语音或图片，发送「帮助」查看可用命令。"
UNKNOWN_ALERT = ("⚠️ 未开通的企业微信账号「{uid}」在 {at} 给 orderbot 发了消息。"
                 "如需开通：orderbot users add {uid} --name 姓名 --role 角色")


class InboxProcessor:
    """Runs inbox rows through the dispatcher in a background task."""

    def __init__(self, app: App, dispatcher: Dispatcher, *, on_outbox: Callable[[], None] | None = None,
                 concurrency: int = 8) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.on_outbox = on_outbox
        self.concurrency = concurrency
        self._pending: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, row_id: int, user_id: str = "") -> None:
        """Process a stored row in the background (the HTTP answer does not wait for it)."""
        self._pending.append(row_id)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inbox-processor")

    async def replay(self) -> int:
        """Queue rows left unprocessed by a crash or stop; returns how many."""
        async with self.app.db.session() as s:
            rows = await inbox.unfinished(s, self.app.clock.now(), LEASE)
        for row_id, user_id in rows:
            self.submit(row_id, user_id)
        if rows:
            log.info("replaying %d unprocessed inbox messages", len(rows))
        return len(rows)

    async def drain(self) -> None:
        """Wait until every submitted row is processed."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                await self.process(batch)
            except Exception:
                log.exception("inbox batch of %d crashed; the rows are retried at the next start", len(batch))

    async def process(self, ids: list[int]) -> int:
        """Process the rows that can be claimed; returns how many this call finished."""
        app = self.app
        async with app.db.session() as s:
            rows = await inbox.claim_many(s, sorted(set(ids)), app.clock.now(), LEASE)
        if not rows:
            return 0
        by_user: dict[str, list[InboxMessage]] = {}
        for r in rows:
            by_user.setdefault(r.user_id, []).append(r)
        results: dict[int, tuple[list[Reply], str]] = {}
        sem = asyncio.Semaphore(self.concurrency)

        async def one_user(user_rows: list[InboxMessage]) -> None:
            async with sem:
                for r in user_rows:
                    results[r.id] = await self._handle(r)

        await asyncio.gather(*(one_user(v) for v in by_user.values()))
        async with app.db.session() as s:
            now = app.clock.now()
            done = await inbox.finish_many(s, [r.id for r in rows if not results[r.id][1]], now)
            for r in rows:
                if results[r.id][1] and await inbox.finish(s, r.id, now, error=results[r.id][1]):
                    done.add(r.id)
            await self._unknown_users(s, {r.user_id for r in rows if r.id in done})
            n = 0
            for r in rows:
                if r.id in done:
                    n += await enqueue_replies(s, results[r.id][0], r.user_id, now=now,
                                               data_dir=app.settings.data_dir)
                else:
                    log.warning("inbox row %d was finished by another worker; its replies are dropped", r.id)
        log.info("inbox: %d messages processed, %d outgoing", len(done), n)
        if n and self.on_outbox is not None:
            self.on_outbox()
        return len(done)

    async def _handle(self, row: InboxMessage) -> tuple[list[Reply], str]:
        """The replies to one row, and an error text when processing failed."""
        try:
            parsed = parse(row.xml, received_at=row.received_at)
            if parsed.incoming is None:
                return [Reply(text=UNSUPPORTED.format(label=parsed.unsupported))], ""
            return await self.dispatcher.handle(parsed.incoming), ""
        except Exception as e:
            log.exception("inbox row %d (%s from %s) failed", row.id, row.kind, row.user_id)
            return [Reply(text=FAILED)], f"{type(e).__name__}: {e}"

    async def _unknown_users(self, s: AsyncSession, user_ids: set[str]) -> None:
        """Tell the admins about users not in the users table, at most once a day per user."""
        if not user_ids:
            return
        known = set((await s.scalars(select(User.user_id).where(User.user_id.in_(user_ids),
                                                                 User.active.is_(True)))).all())
        unknown = sorted(user_ids - known)
        if not unknown:
            return
        now = self.app.clock.now()
        local = now.astimezone(ZoneInfo(self.app.settings.tz))
        admins = [u.user_id for u in await users_with_role(s, "admin")]
        for uid in unknown:
            text = UNKNOWN_ALERT.format(uid=uid[:64], at=local.strftime("%m-%d %H:%M"))
            await enqueue_text(s, admins, text, now, dedupe_key=f"unknown-user:{uid[:120]}:{local.date().isoformat()}")
