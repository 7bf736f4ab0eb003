"""Turning dispatcher ``Reply`` objects into outbox rows (the contract payloads, by msgtype)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.types import Reply
from orders.files import image_suffix, keep
from orders.outbox import OUTBOX, enqueue, outbox_values

TEXT_LIMIT = 2048  # bytes, WeCom's limit for text and markdown app messages


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut at line ends where possible."""
    if len(text.encode()) <= limit:
        return [text]
    parts: list[str] = []
    cur = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # a single over-long line: cut by characters
            head = line
            while len(head.encode()) > limit:
                head = head[: max(1, len(head) * limit // len(head.encode()) - 1)]
            if cur:
                parts.append(cur)
                cur = ""
            parts.append(head)
            line = line[len(head):]
        if len((cur + line).encode()) > limit:
            parts.append(cur)
            cur = ""
        cur += line
    if cur:
        parts.append(cur)
    return [p.rstrip("\n") for p in parts if p.strip()]


def save_reply_image(data_dir: Path, data: bytes) -> str:
    """Store reply image bytes under ``data_dir/replies`` (content-addressed); the relative path."""
    rel = Path("replies") / (hashlib.sha256(data).hexdigest()[:32] + image_suffix(data, ".png"))
    keep(data_dir / rel, data)
    return rel.as_posix()


async def enqueue_replies(
    session: AsyncSession, replies: list[Reply], sender: str, *, now: datetime, data_dir: Path
) -> int:
    """Queue every reply (to the sender unless ``Reply.to`` says otherwise); returns rows added."""
    return await enqueue_all(session, [(replies, sender)], now=now, data_dir=data_dir)


async def enqueue_all(
    session: AsyncSession, answers: list[tuple[list[Reply], str]], *, now: datetime, data_dir: Path
) -> int:
    """:func:`enqueue_replies` for several messages' (replies, sender) in order; rows without a
    dedupe key (most replies) are inserted together: one executemany."""
    n = 0
    plain: list[dict[str, Any]] = []
    for r, sender in ((r, sender) for replies, sender in answers for r in replies):
        to: tuple[str, ...] = r.to if r.to is not None else (sender,)
        rows: list[tuple[str, dict[str, Any]]]
        if r.card is not None:
            rows = [("template_card", {"template_card": r.card.to_wecom()})]
        elif r.image is not None:
            rows = [("image", {"path": save_reply_image(data_dir, r.image)})]
        elif r.markdown:
            rows = [("markdown", {"content": p}) for p in split_text(r.markdown)]
        elif r.text:
            rows = [("text", {"content": p}) for p in split_text(r.text)]
        else:
            continue
        # a card's row is keyed by its task_id: a later update_card naming the task_id finds its response code
        key = f"card:{r.card.task_id}" if r.card is not None else None
        for msgtype, payload in rows:
            if key is None:
                plain += [v] if (v := outbox_values(to=to, msgtype=msgtype, payload=payload, now=now)) else []
                continue
            n += await _insert(session, plain)  # the rows before this one first: ids keep the replies' order
            plain = []
            if await enqueue(session, to=to, msgtype=msgtype, payload=payload, now=now, dedupe_key=key) is not None:
                n += 1
    return n + await _insert(session, plain)


_INSERT = insert(OUTBOX)  # Core: an ORM bulk insert cost ~1 ms more per batch


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    if rows:
        await (await session.connection()).execute(_INSERT, rows)
    return len(rows)
