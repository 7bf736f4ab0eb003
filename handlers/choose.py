"""Answering a list of matching orders with its number: "1" … "10" runs the same command on
that order (the list is kept for 10 minutes, or until another list replaces it)."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.choices import take_choice


@registry.conversation
async def choose(req: Request) -> list[Reply] | None:
    inc = req.incoming
    if inc.kind != "text" or not inc.text.isdigit():
        return None
    async with req.app.db.session() as s:
        picked = await take_choice(s, req.user.user_id, inc.text, req.app.clock.now())
    if picked is None or req.dispatcher is None:
        return None
    return await req.dispatcher.run_command(req, *picked)
