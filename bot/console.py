"""The local chat console: chat as a WeCom user on stdin/stdout, through the same dispatcher."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.dispatch import Dispatcher
from bot.types import Incoming, Reply

PROMPT = "> "
CLICK = "/按"  # "/按 <task_id> <button key>" presses a card button in the console


def parse_line(user_id: str, line: str) -> Incoming:
    """A console line as an Incoming: text, or a simulated card button press / scan."""
    if line.startswith(CLICK):
        parts = line[len(CLICK):].split()
        if len(parts) == 2:
            return Incoming(user_id=user_id, kind="card_action", event="template_card_event",
                            task_id=parts[0], event_key=parts[1])
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
        replies = await dispatcher.handle(parse_line(user_id, line))
        stdout.write(render(replies) + "\n")
        if not interactive:
            stdout.write("\n")
        stdout.flush()
