"""What the console shows besides the caller's own replies: the outbox rows queued while a line
was handled (notices to other people, cards with buttons, card updates, group-robot posts),
rendered as ``→ 孙仓管(wh01)：…``; and the console's stand-in for WeCom's media/get."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from bot.types import Button, Card, Reply
from orders.app import App
from orders.models import User
from orders.outbox import OutboxMessage


class ConsoleMedia:
    """Files sent with ``/语音 FILE`` or ``/图片 FILE``, served by media_id like WeCom's media/get
    (the handlers fetch them through the same MediaFetcher protocol)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def add(self, kind: str, data: bytes) -> str:
        media_id = f"console-{kind}-{len(self.files) + 1}"
        self.files[media_id] = data
        return media_id

    async def fetch_media(self, media_id: str) -> bytes:
        if media_id not in self.files:
            raise RuntimeError(f"media/get: unknown media_id {media_id}")
        return self.files[media_id]


def card_from_wecom(d: dict[str, Any]) -> Card:
    """A ``button_interaction`` template card (as queued) back into a Card."""
    title = d.get("main_title") or {}
    return Card(task_id=str(d.get("task_id", "")), title=str(title.get("title", "")),
                desc=str(title.get("desc", "")),
                fields=tuple((str(h.get("keyname", "")), str(h.get("value", "")))
                             for h in d.get("horizontal_content_list") or []),
                buttons=tuple(Button(str(b.get("key", "")), str(b.get("text", "")), int(b.get("style", 1)))
                              for b in d.get("button_list") or []),
                quote=str((d.get("quote_area") or {}).get("quote_text", "")))


@dataclass
class Notice:
    """One queued message as the console shows it; ``cards``: (user, card) pairs it delivered."""

    text: str
    cards: list[tuple[str, Card]] = field(default_factory=list)
    updates: list[tuple[str, str]] = field(default_factory=list)  # (user, task_id) greyed out


async def last_outbox_id(app: App) -> int:
    async with app.db.session() as s:
        return int(await s.scalar(select(func.max(OutboxMessage.id))) or 0)


async def notices_since(app: App, after: int) -> tuple[list[Notice], int]:
    """Outbox rows queued after id ``after``, rendered; and the newest id seen."""
    async with app.db.session() as s:
        rows = list((await s.scalars(select(OutboxMessage).where(OutboxMessage.id > after)
                                     .order_by(OutboxMessage.id))).all())
        ids = {u for r in rows if r.channel == "app" for u in r.target.split("|")}
        names = dict((await s.execute(select(User.user_id, User.name).where(User.user_id.in_(ids)))).all()) \
            if ids else {}
    return [render_row(r, names) for r in rows], (rows[-1].id if rows else after)


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def render_row(r: OutboxMessage, names: dict[str, str]) -> Notice:
    if r.channel == "webhook":
        who = f"群机器人「{r.target}」"
        users: list[str] = []
    else:
        users = [u for u in r.target.split("|") if u]
        who = "、".join(f"{names.get(u, u)}({u})" for u in users)
    p = r.payload or {}
    if r.msgtype == "template_card":
        card = card_from_wecom(p.get("template_card") or {})
        return Notice(f"→ {who}：\n  " + _indent(Reply(card=card).as_text()), cards=[(u, card) for u in users])
    if r.msgtype == "update_card":
        task = str(p.get("task_id") or "")
        new = p.get("template_card")
        if isinstance(new, dict):  # a whole new card (same task_id): its buttons stay pressable
            card = card_from_wecom(new)
            return Notice(f"→ {who}：卡片 {task or '(刚按的卡片)'} 更新为：\n  " + _indent(Reply(card=card).as_text()),
                          cards=[(u, card) for u in users])
        return Notice(f"→ {who}：卡片 {task or '(刚按的卡片)'} 按钮变为「{p.get('replace_name', '')}」",
                      updates=[(u, task) for u in users])
    if r.msgtype == "image":
        return Notice(f"→ {who}：[图片 {p.get('path', '')}]")
    if r.msgtype == "voice":
        return Notice(f"→ {who}：[语音 {p.get('path', '')}]")
    body = str(p.get("content", "")) or str(p)
    return Notice(f"→ {who}：" + _indent(body))
