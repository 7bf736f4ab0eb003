"""Testing helpers (shipped, so later parts and users can test handlers the same way)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.console import parse_line, render
from bot.dispatch import Dispatcher
from bot.types import Incoming, Reply
from orders.app import App


@dataclass
class ChatBot:
    """Talk to the dispatcher as any user, like the console does: ``await bot.say("cs01", "查 8812")``."""

    app: App
    dispatcher: Dispatcher

    async def send(self, incoming: Incoming) -> list[Reply]:
        return await self.dispatcher.handle(incoming)

    async def replies(self, user_id: str, line: str) -> list[Reply]:
        return await self.dispatcher.handle(parse_line(user_id, line))

    async def say(self, user_id: str, line: str) -> str:
        return render(await self.replies(user_id, line))
