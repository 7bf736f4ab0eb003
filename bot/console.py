"""The local chat console: chat as a WeCom user on stdin/stdout, through the same dispatcher."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from typing import TextIO

from bot.dispatch import Dispatcher
from bot.types import Card, Incoming, Reply

PROMPT = "> "
CLICK = "/按"  # "/按 [task_id] <button>" presses a card button in the console (label or key)


def parse_line(user_id: str, line: str, cards: Mapping[str, Card] | None = None) -> Incoming:
    """A console line as an Incoming: text, or a simulated card button press / scan. ``cards``:
    the cards shown so far, so a button can be pressed by its label (``/按 <task_id> 扫码拣货``, or
    ``/按 扫码拣货`` for the newest card that has it)."""
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
    return Incoming(user_id=user_id, kind="text", text=line)


def render(replies: list[Reply]) -> str:
    return "\n".join(r.as_text() for r in replies)


async def run_console(dispatcher: Dispatcher, user_id: str, stdin: TextIO | None = None,
                      stdout: TextIO | None = None) -> None:
    """Read lines until EOF; print each reply. Shows a prompt only on a terminal."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    loop = asyncio.get_running_loop()
    cards: dict[str, Card] = {}
    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/退出", "/quit", "/exit"):
            break
        incoming = parse_line(user_id, line, cards)
        if incoming.kind == "text" and line.startswith(CLICK):
            stdout.write("用法：/按 [卡片号] 按钮名（按钮名要和卡片上的一致）\n\n")
            continue
        replies = await dispatcher.handle(incoming)
        cards.update((r.card.task_id, r.card) for r in replies if r.card is not None)
        stdout.write(render(replies) + "\n")
        if not interactive:
            stdout.write("\n")
        stdout.flush()
