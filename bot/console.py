"""The local chat console: chat as a WeCom user on stdin/stdout, through the same dispatcher.
Besides text it simulates what WeCom sends (button presses, scans, voice, images, opening the
app) and shows what the bot queues for other people as it is queued."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.console_notices import ConsoleMedia, last_outbox_id, notices_since
from bot.dispatch import Dispatcher
from bot.keys import MEDIA_FETCHER
from bot.types import Card, Incoming, Reply
from orders.users import get_user, list_users

PROMPT = "> "
CLICK = "/按"  # "/按 [task_id] <button>" presses a card button in the console (label or key)
SWITCH = "/切换"
MAX_FILE = 20 * 1024 * 1024
CONSOLE_HELP = ("控制台命令：/按 [卡片号] 按钮名 · /扫 <条码> · /语音 <文件> · /图片 <文件> · /进入（打开应用）"
                " · /切换 <账号> · /退出")


class ConsoleInputError(Exception):
    """A console line that cannot become a message (the text says why, in Chinese)."""


def _file(arg: str, what: str) -> bytes:
    if not arg:
        raise ConsoleInputError(f"用法：/{what} <文件路径>")
    path = Path(arg).expanduser()
    if not path.is_file():
        raise ConsoleInputError(f"找不到文件：{arg}")
    if path.stat().st_size > MAX_FILE:
        raise ConsoleInputError(f"文件太大（超过{MAX_FILE // 1024 // 1024}MB）：{arg}")
    return path.read_bytes()


def parse_line(user_id: str, line: str, cards: Mapping[str, Card] | None = None,
               media: ConsoleMedia | None = None) -> Incoming:
    """A console line as an Incoming: text, or a simulated card button press / scan / voice /
    image / app-open. ``cards``: the cards shown so far, so a button can be pressed by its label
    (``/按 <task_id> 扫码拣货``, or ``/按 扫码拣货`` for the newest card that has it). ``media``:
    where ``/语音`` and ``/图片`` put the file's bytes (without it they stay text)."""
    if line.startswith(CLICK):
        parts = line[len(CLICK):].split()
        if len(parts) == 1 and cards:
            newest = [c for c in reversed(list(cards.values())) if any(b.text == parts[0] for b in c.buttons)]
            if newest:
                parts = [newest[0].task_id, parts[0]]
        if len(parts) == 2:
            task_id, key = parts
            card = (cards or {}).get(task_id)
            if card is not None:
                key = next((b.key for b in card.buttons if b.text == key), key)
            return Incoming(user_id=user_id, kind="card_action", event="template_card_event",
                            task_id=task_id, event_key=key)
    if line.startswith("/扫 "):
        code = line[3:].strip()
        return Incoming(user_id=user_id, kind="scan", event="scancode_waitmsg", scan_result=code,
                        event_key="scan")
    word, _, arg = line.partition(" ")
    if media is not None and word in ("/语音", "/图片"):
        data = _file(arg.strip(), word[1:])
        if word == "/语音":
            return Incoming(user_id=user_id, kind="voice", media_id=media.add("voice", data))
        return Incoming(user_id=user_id, kind="image", media_id=media.add("image", data))
    if word == "/进入":
        return Incoming(user_id=user_id, kind="event", event="enter_agent")
    return Incoming(user_id=user_id, kind="text", text=line)


def render(replies: list[Reply]) -> str:
    return "\n".join(r.as_text() for r in replies)


class Console:
    """One console session: who is typing, the cards each user was shown, the outbox position."""

    def __init__(self, dispatcher: Dispatcher, user_id: str) -> None:
        self.dispatcher = dispatcher
        self.app = dispatcher.app
        self.user_id = user_id
        self.cards: dict[str, dict[str, Card]] = {}
        self.outbox_seen = 0
        media = self.app.get(MEDIA_FETCHER)
        self.media = media if isinstance(media, ConsoleMedia) else ConsoleMedia()
        if media is None:  # no WeCom client: files sent from the console are the media
            self.app[MEDIA_FETCHER] = self.media

    async def start(self) -> None:
        self.outbox_seen = await last_outbox_id(self.app)

    async def line(self, line: str) -> str:
        """Handle one typed line; returns what to print (replies, then notices queued)."""
        if line.startswith(SWITCH):
            return await self._switch(line[len(SWITCH):].strip())
        cards = self.cards.setdefault(self.user_id, {})
        try:
            incoming = parse_line(self.user_id, line, cards, self.media)
        except ConsoleInputError as e:
            return str(e)
        if incoming.kind == "text" and line.startswith(CLICK):
            return "用法：/按 [卡片号] 按钮名（按钮名要和卡片上的一致）"
        if incoming.kind == "text" and line.startswith("/"):
            return CONSOLE_HELP
        replies = await self.dispatcher.handle(incoming)
        cards.update((r.card.task_id, r.card) for r in replies if r.card is not None)
        out = [render(replies)] if replies else []
        notices, self.outbox_seen = await notices_since(self.app, self.outbox_seen)
        for n in notices:
            out.append(n.text)
            for uid, card in n.cards:
                self.cards.setdefault(uid, {})[card.task_id] = card
            for uid, task_id in n.updates:  # a greyed-out card has no buttons left to press
                old = self.cards.get(uid, {}).get(task_id)
                if old is not None:
                    self.cards[uid][task_id] = dataclasses.replace(old, buttons=())
        return "\n".join(out) if out else "（没有回复）"

    async def _switch(self, uid: str) -> str:
        async with self.app.db.session() as s:
            user = await get_user(s, uid) if uid else None
            users = [] if user else await list_users(s)
        if user is None:
            known = "、".join(f"{u.user_id}（{u.name}）" for u in users)
            return f"没有账号「{uid}」。可以切换到：{known}" if uid else f"用法：/切换 <账号>。可以切换到：{known}"
        self.user_id = user.user_id
        return f"现在以 {user.name}({user.user_id}) 的身份发消息。"


async def run_console(dispatcher: Dispatcher, user_id: str, stdin: TextIO | None = None,
                      stdout: TextIO | None = None) -> None:
    """Read lines until EOF; print each reply and the notices it queued. Prompt only on a terminal."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    loop = asyncio.get_running_loop()
    console = Console(dispatcher, user_id)
    await console.start()
    while True:
        if interactive:
            stdout.write(f"{console.user_id}{PROMPT}")
            stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/退出", "/quit", "/exit"):
            break
        stdout.write(await console.line(line) + "\n")
        if not interactive:
            stdout.write("\n")
        stdout.flush()
