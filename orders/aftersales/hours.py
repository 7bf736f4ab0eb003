"""Business hours for approval deadlines: one window per weekday (default 09:00-21:00 every
day), closed weekdays and holidays from ``approvals.yaml`` ``business_hours``. A step opened at
23:08 with 4 working hours is due at 13:00 the next working day, not at 03:08."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WINDOW = (time(9, 0), time(21, 0))
MAX_DAYS = 400  # a calendar with no open day at all must not loop forever


def _window(raw: Any) -> tuple[time, time] | None:
    text = str(raw).strip()
    if text.lower() in ("closed", "none", "休息", ""):
        return None
    a, _, b = text.partition("-")
    start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
    if end <= start:
        raise ValueError(f"business_hours: window {text!r} must end after it starts")
    return start, end


@dataclass(frozen=True)
class BusinessHours:
    days: tuple[tuple[time, time] | None, ...] = (DEFAULT_WINDOW,) * 7
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BusinessHours:
        default = _window(data["default"]) if "default" in data else DEFAULT_WINDOW
        per = data.get("days") or {}
        unknown = set(per) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"business_hours.days: unknown weekday(s) {sorted(unknown)} (use {', '.join(WEEKDAYS)})")
        days = tuple(_window(per[d]) if d in per else default for d in WEEKDAYS)
        holidays = frozenset(date.fromisoformat(str(d)) for d in data.get("holidays") or ())
        return cls(days=days, holidays=holidays)

    def window(self, day: date) -> tuple[time, time] | None:
        return None if day in self.holidays else self.days[day.weekday()]

    def add(self, start: datetime, hours: float, tz: str) -> datetime:
        """``start`` plus ``hours`` of working time (aware datetimes, answered in UTC)."""
        zone = ZoneInfo(tz)
        local = start.astimezone(zone)
        left = timedelta(hours=hours)
        day = local.date()
        for _ in range(MAX_DAYS):
            w = self.window(day)
            if w is not None:
                open_at = datetime.combine(day, w[0], zone)
                close_at = datetime.combine(day, w[1], zone)
                begin = max(local, open_at)
                if begin < close_at:
                    if begin + left <= close_at:
                        return (begin + left).astimezone(start.tzinfo)
                    left -= close_at - begin
            day += timedelta(days=1)
        return start + timedelta(hours=hours)  # no working day configured: plain hours

    def between(self, a: datetime, b: datetime, tz: str) -> float:
        """Working hours from ``a`` to ``b``."""
        if b <= a:
            return 0.0
        zone = ZoneInfo(tz)
        la, lb = a.astimezone(zone), b.astimezone(zone)
        total = timedelta()
        day = la.date()
        while day <= lb.date():
            w = self.window(day)
            if w is not None:
                lo = max(la, datetime.combine(day, w[0], zone))
                hi = min(lb, datetime.combine(day, w[1], zone))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    def describe(self) -> str:
        def fmt(w: tuple[time, time] | None) -> str:
            return f"{w[0]:%H:%M}-{w[1]:%H:%M}" if w else "休息"
        if len(set(self.days)) == 1:
            return f"每天 {fmt(self.days[0])}"
        names = "一二三四五六日"
        return "，".join(f"周{names[i]} {fmt(w)}" for i, w in enumerate(self.days))
