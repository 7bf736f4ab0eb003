"""Evidence files (photos of damage, labels, receipts) kept on an order: stored under
``data_dir/evidence/<order_no>/`` by content hash, with an ``evidence`` timeline row."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from orders import timeline
from orders.clock import Clock
from orders.db import Database
from orders.models import Order, TimelineEvent

SUFFIXES = {b"\x89PNG": ".png", b"\xff\xd8": ".jpg", b"GIF8": ".gif"}


@dataclass(frozen=True)
class Evidence:
    order_no: str
    path: str  # relative to the data dir
    sha256: str
    count: int  # evidence files on the order now
    duplicate: bool


def _suffix(data: bytes) -> str:
    return next((s for magic, s in SUFFIXES.items() if data.startswith(magic)), ".bin")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)


async def attach(db: Database, clock: Clock, data_dir: Path, order_id: int, data: bytes, *, actor: str,
                 actor_name: str, source: str, media_id: str = "") -> Evidence:
    """Store ``data`` as evidence on the order; the same file twice is recorded once."""
    sha = hashlib.sha256(data).hexdigest()
    async with db.session() as s:
        order = await s.get(Order, order_id)
        if order is None:
            raise LookupError(f"order {order_id} is gone")
        rel = Path("evidence") / order.order_no / f"{sha[:32]}{_suffix(data)}"
        known = (await s.scalars(select(TimelineEvent).where(TimelineEvent.order_id == order_id,
                                                               TimelineEvent.kind == "evidence"))).all()
        if any(ev.detail.get("sha256") == sha for ev in known):
            return Evidence(order.order_no, rel.as_posix(), sha, len(known), duplicate=True)
        await asyncio.to_thread(_write, data_dir / rel, data)
        timeline.record(s, order_id=order_id, at=clock.now(), actor=actor, source=source, kind="evidence",
                        detail={"actor_name": actor_name, "path": rel.as_posix(), "sha256": sha, "bytes": len(data),
                                "media_id": media_id})
        return Evidence(order.order_no, rel.as_posix(), sha, len(known) + 1, duplicate=False)
