"""Choosing from a list: when a command's order key matched several orders, the user may answer
with the list number (1…10) and the same command runs on that order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orders import conversations
from orders.db import Database
from orders.errors import AmbiguousOrder, InvalidInput
from orders.lookup import clean_query

KIND = "choose_order"
MINUTES = 10


async def offer_choice(db: Database, user_id: str, command: str, args: str, e: AmbiguousOrder,
                       now: datetime) -> None:
    """Remember the listed orders and the command they were listed for."""
    async with db.session() as s:
        await conversations.begin(s, user_id, KIND, now, MINUTES,
                                  data={"command": command, "args": args, "query": e.query,
                                        "orders": [c.order_no for c in e.candidates]})


def _swap(args: str, query: str, order_no: str) -> str:
    """The command's arguments with the ambiguous key replaced by the chosen order number."""
    parts = args.split(" ")
    for i, p in enumerate(parts):
        try:
            if clean_query(p) == query:
                parts[i] = order_no
                return " ".join(parts)
        except InvalidInput:  # a token that is no order key at all
            continue
    return order_no


async def take_choice(s: AsyncSession, user_id: str, text: str, now: datetime) -> tuple[str, str] | None:
    """(command, args) when ``text`` is a list number answering the user's open list, else None.
    A number out of range is an InvalidInput naming the range."""
    if not text.isdigit() or len(text) > 2:
        return None
    conv = await conversations.pending(s, user_id, (KIND,), now)
    if conv is None:
        return None
    nos = list(conv.data.get("orders") or [])
    n = int(text)
    if not 1 <= n <= len(nos):
        raise InvalidInput(f"请回复列表中的序号 1–{len(nos)}，或直接发完整单号。")
    await conversations.end(s, user_id)
    return str(conv.data["command"]), _swap(str(conv.data.get("args") or ""), str(conv.data.get("query")), nos[n - 1])
