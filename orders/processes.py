"""Process identity and heartbeats: every inbox/outbox claim names the process that took it, and
each running ``serve`` keeps a heartbeat row, so a claim whose process is gone is free at once
(not after a lease) when that process is restarted, or when a peer notices it stopped beating.

A registered process is gone when it stopped cleanly, when its heartbeat is older than
``TIMEOUT``, or, on the same host, when its pid no longer runs (or is a zombie, or is now us)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Protocol

from sqlalchemy import Integer, String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from orders.base import Base, table

HEARTBEAT = timedelta(seconds=5)
TIMEOUT = timedelta(seconds=30)  # a peer on another host that stopped beating this long is gone
KEEP = timedelta(days=1)  # stopped or gone process rows are deleted after this


class ProcessRow(Base):
    __tablename__ = "processes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]


_TABLE = table(ProcessRow)
_ALL = select(_TABLE.c.id, _TABLE.c.host, _TABLE.c.pid, _TABLE.c.heartbeat_at, _TABLE.c.stopped_at)


class Beating(Protocol):
    """What :func:`is_gone` reads of a process row (an entity or a plain row)."""

    @property
    def id(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def heartbeat_at(self) -> datetime: ...
    @property
    def stopped_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Identity:
    id: str
    host: str
    pid: int


@cache
def current() -> Identity:
    """This OS process's identity (one per process, whatever number of workers it runs)."""
    host = socket.gethostname()[:40]
    pid = os.getpid()
    return Identity(f"{host}:{pid}:{uuid.uuid4().hex[:8]}", host, pid)


def pid_running(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped by its parent still answers kill(0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_gone(row: Beating, now: datetime, me: Identity | None = None) -> bool:
    me = me or current()
    if row.id == me.id:
        return False
    if row.stopped_at is not None or row.heartbeat_at < now - TIMEOUT:
        return True
    if row.host == me.host:
        return row.pid == me.pid or not pid_running(row.pid)
    return False


async def register(session: AsyncSession, now: datetime, me: Identity | None = None) -> None:
    """Record this process as running (call once at start, then :func:`beat`)."""
    me = me or current()
    await session.merge(ProcessRow(id=me.id, host=me.host, pid=me.pid, started_at=now, heartbeat_at=now,
                                   stopped_at=None))
    await session.execute(delete(ProcessRow).where(ProcessRow.heartbeat_at < now - KEEP))


async def beat(session: AsyncSession, now: datetime, me: Identity | None = None) -> None:
    await session.execute(update(ProcessRow).where(ProcessRow.id == (me or current()).id).values(heartbeat_at=now))


async def stopped(session: AsyncSession, now: datetime, me: Identity | None = None) -> None:
    """A clean stop: this process's remaining claims are free for anyone at once."""
    await session.execute(update(ProcessRow).where(ProcessRow.id == (me or current()).id)
                          .values(stopped_at=now, heartbeat_at=now))


async def gone(session: AsyncSession, now: datetime, me: Identity | None = None) -> set[str]:
    """Ids of registered processes that are gone (their claims are free). Unregistered claimers
    (e.g. a worker run outside ``serve``) are judged by their claim's lease instead."""
    rows = (await (await session.connection()).execute(_ALL)).all()  # plain rows: asked at every claim
    return {r.id for r in rows if is_gone(r, now, me)}
