"""enter_agent (the user opened the app): a short greeting, at most once a day per user, naming
the commands this user reaches for first. Queued with a dedupe key, so WeCom's repeats and a
second process never greet twice."""

from __future__ import annotations

from bot.dispatch import Request, may_run
from bot.types import Reply
from handlers.registry import registry
from orders.outbox import enqueue_text
from orders.warehouse.tasks import local_day

FIRST = ("任务", "查", "售后", "待办", "日报")  # shown when the user may run them, in this order


@registry.kind("event:enter_agent")
async def welcome(req: Request) -> list[Reply]:
    app, user = req.app, req.user
    now = app.clock.now()
    day = local_day(now, app.settings.tz)
    mine = [f"「{registry.commands[w].example}」" for w in FIRST
            if w in registry.commands and may_run(app, user, registry.commands[w])]
    text = f"{user.name}，您好！" + (f"常用：{'、'.join(mine[:2])}。" if mine else "") + "发送「帮助」查看全部命令。"
    async with app.db.session() as s:
        await enqueue_text(s, [user.user_id], text, now, dedupe_key=f"welcome:{user.user_id}:{day}")
    return []
