"""Processing inbox rows after WeCom got its 200: dispatch, then queue the replies in the same
transaction that marks the row done. One user's messages are handled in arrival order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.dispatch import Dispatcher
from bot.types import Incoming, Reply
from bot.wecom import inbox
from bot.wecom.messages import parse
from bot.wecom.replies import enqueue_replies
from notifications.outbox import enqueue_text
from orders.users import get_user, users_with_role

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
FAILED = "抱歉，处理您的消息时出错了，请稍后再试；如果一直出错请联系管理员。"
UNSUPPORTED = "暂不支持{label}消息。可以发送文字命令、语音或图片，发送「帮助」查看可用命令。"
UNKNOWN_ALERT = ("⚠️ 未开通的企业微信账号「{uid}」在 {at} 给 orderbot 发了消息。"
                 "如需开通：orderbot users add {uid} --name 姓名 --role 角色")


class _Lost(Exception):
    """The row was finished elsewhere (its claim had expired): roll our replies back."""


class InboxProcessor:
    """Runs inbox rows through the dispatcher in background tasks."""

    def __init__(self, app: App, dispatcher: Dispatcher, *, on_outbox: Callable[[], None] | None = None,
                 concurrency: int = 32) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.on_outbox = on_outbox
        self._sem = asyncio.Semaphore(concurrency)
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, row_id: int, user_id: str) -> None:
        """Process a stored row in the background (the HTTP answer does not wait for it)."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        self._waiting[user_id] = self._waiting.get(user_id, 0) + 1
        task = asyncio.create_task(self._run(row_id, user_id, lock), name=f"inbox-{row_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, row_id: int, user_id: str, lock: asyncio.Lock) -> None:
        try:
            async with lock, self._sem:
                await self.process(row_id)
        except Exception:
            log.exception("inbox row %d: processing crashed; it will be retried at the next start", row_id)
        finally:
            self._waiting[user_id] -= 1
            if not self._waiting[user_id]:
                del self._waiting[user_id]
                self._locks.pop(user_id, None)

    async def process(self, row_id: int) -> bool:
        """Process one row if it can be claimed; True when this call processed it."""
        app = self.app
        async with app.db.session() as s:
            row = await inbox.claim(s, row_id, app.clock.now(), LEASE)
            if row is None:
                return False
            xml, user_id = row.xml, row.user_id
        error = ""
        replies: list[Reply]
        incoming: Incoming | None = None
        try:
            parsed = parse(xml, received_at=row.received_at)
            incoming = parsed.incoming
            if incoming is None:
                replies = [Reply(text=UNSUPPORTED.format(label=parsed.unsupported))]
            else:
                replies = await self.dispatcher.handle(incoming)
        except Exception as e:
            log.exception("inbox row %d (%s from %s) failed", row_id, row.kind, user_id)
            error = f"{type(e).__name__}: {e}"
            replies = [Reply(text=FAILED)]
        try:
            async with app.db.session() as s:
                now = app.clock.now()
                await self._unknown_user(s, user_id)
                n = await enqueue_replies(s, replies, user_id, now=now, data_dir=app.settings.data_dir)
                if not await inbox.finish(s, row_id, now, error=error):
                    raise _Lost
        except _Lost:
            log.warning("inbox row %d was finished by another worker; these replies are dropped", row_id)
            return False
        log.info("inbox row %d (%s from %s): %d outgoing", row_id, row.kind, user_id, n)
        if n and self.on_outbox is not None:
            self.on_outbox()
        return True

    async def _unknown_user(self, s: AsyncSession, user_id: str) -> None:
        """Tell the admins about a user not in the users table, at most once a day per user."""
        if await get_user(s, user_id) is not None:
            return
        now = self.app.clock.now()
        local = now.astimezone(ZoneInfo(self.app.settings.tz))
        admins = [u.user_id for u in await users_with_role(s, "admin")]
        text = UNKNOWN_ALERT.format(uid=user_id[:64], at=local.strftime("%m-%d %H:%M"))
        await enqueue_text(s, admins, text, now, dedupe_key=f"unknown-user:{user_id[:120]}:{local.date().isoformat()}")
