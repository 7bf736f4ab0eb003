"""Sliding-window send limits per recipient: WeCom silently drops what is over them, so the
worker holds back only the messages that would exceed a window (a burst under it goes at once).
This in-process view is a cheap first look; the shared slots of ``orders.rate_slots``, taken with
each claim, keep the limits across every process on the database."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

Window = tuple[timedelta, int]


@dataclass(frozen=True)
class Limits:
    member: tuple[Window, ...] = ((timedelta(minutes=1), 30), (timedelta(hours=1), 1000))  # per member, per app
    robot: tuple[Window, ...] = ((timedelta(minutes=1), 20),)  # per group robot


class RateLimiter:
    """Remembers send times per key ("u:<userid>" or "r:<robot>")."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._sent: dict[str, deque[datetime]] = {}

    def windows(self, key: str) -> tuple[Window, ...]:
        return self.limits.robot if key.startswith("r:") else self.limits.member

    def ready_at(self, keys: Iterable[str], now: datetime) -> datetime:
        """The earliest time one more message to all ``keys`` stays inside every window."""
        ready = now
        for key in keys:
            times = self._sent.get(key)
            if not times:
                continue
            for span, cap in self.windows(key):
                recent = [t for t in times if t > now - span]
                if len(recent) >= cap:
                    ready = max(ready, recent[len(recent) - cap] + span)
        return ready

    def record(self, keys: Iterable[str], at: datetime) -> None:
        longest = max(span for span, _ in (*self.limits.member, *self.limits.robot))
        for key in keys:
            times = self._sent.setdefault(key, deque())
            times.append(at)
            while times and times[0] <= at - longest:
                times.popleft()
