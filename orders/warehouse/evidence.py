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
from orders.files import image_suffix, keep
from orders.models import Order, TimelineEvent


@dataclass(frozen=True)
class Evidence:
    order_no: str
    path: str  # relative to the data dir
    sha256: str
    count: int  # evidence files on the order now
    duplicate: bool


async def attach(db: Database, clock: Clock, data_dir: Path, order_id: int, data: bytes, *, actor: str,
                 actor_name: str, source: str, media_id: str = "") -> Evidence:
    """Store ``data`` as evidence on the order; the same file twice is recorded once."""
    sha = hashlib.sha256(data).hexdigest()
    async with db.session() as s:
        order = await s.get(Order, order_id)
        if order is None:
            raise LookupError(f"order {order_id} is gone")
        rel = Path("evidence") / order.order_no / f"{sha[:32]}{image_suffix(data)}"
        known = (await s.scalars(select(TimelineEvent).where(TimelineEvent.order_id == order_id,
                                                               TimelineEvent.kind == "evidence"))).all()
        if any(ev.detail.get("sha256") == sha for ev in known):
            return Evidence(order.order_no, rel.as_posix(), sha, len(known), duplicate=True)
        await asyncio.to_thread(keep, data_dir / rel, data)
        timeline.record(s, order_id=order_id, at=clock.now(), actor=actor, source=source, kind="evidence",
                        detail={"actor_name": actor_name, "path": rel.as_posix(), "sha256": sha, "bytes": len(data),
                                "media_id": media_id})
        return Evidence(order.order_no, rel.as_posix(), sha, len(known) + 1, duplicate=False)
