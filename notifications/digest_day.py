"""The digest's day sections: per-channel totals against the day before and the same weekday last
week (a weekly digest: against the week before), 客服查单应答时长, and the collaboration line.
Also which period ``日报 [昨天|前天|11-28|上周]`` asks for."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from orders.app import App
from orders.errors import InvalidInput
from orders.labels import channel_name
from orders.money import fen_to_yuan
from orders.reports import collaboration, daily
from orders.reports.digest import Period

PERIOD_WORDS = "日报、日报 昨天、日报 前天、日报 11-28、日报 上周"
_DATE = re.compile(r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})日?$")


def day_period(day: date, tz: str) -> Period:
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))
    return Period(start=start, end=start + timedelta(days=1), day=day)


def week_period(now: datetime, tz: str) -> Period:
    """Last week, Monday to Sunday (local)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    monday = today - timedelta(days=today.weekday() + 7)
    start = datetime.combine(monday, time(0), tzinfo=ZoneInfo(tz))
    return Period(start=start, end=start + timedelta(days=7), day=monday)


def is_week(p: Period) -> bool:
    return p.end - p.start > timedelta(days=1, hours=1)


def period_label(p: Period, local: datetime) -> str:
    """How the sections name the period: 昨日, 上周, or 当日 (a past day)."""
    if is_week(p):
        return "上周"
    return "昨日" if p.day == local.date() - timedelta(days=1) else "当日"


def parse_period(text: str, now: datetime, tz: str) -> Period:
    """'' / 昨天 / 前天 / 上周 / 11-28 / 2026-11-28 → the period; anything else is refused."""
    today = now.astimezone(ZoneInfo(tz)).date()
    word = text.strip().replace("－", "-").replace("／", "/")
    word = word.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if word in ("", "昨天", "昨日"):
        return day_period(today - timedelta(days=1), tz)
    if word in ("前天", "前日"):
        return day_period(today - timedelta(days=2), tz)
    if word in ("上周", "周报"):
        return week_period(now, tz)
    m = _DATE.match(word)
    if m:
        year = int(m.group(1)) if m.group(1) else today.year
        try:
            day = date(year, int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise InvalidInput(f"没有这一天「{text[:20]}」。可用：{PERIOD_WORDS}") from None
        if not m.group(1) and day > today:  # 12-30 asked in January: last year's
            day = day.replace(year=year - 1)
        if day >= today:
            raise InvalidInput(f"「{text[:20]}」还没有过完，日报只看已过去的日子。")
        return day_period(day, tz)
    raise InvalidInput(f"看不懂「{text[:20]}」。可用：{PERIOD_WORDS}")


def _cmp(now: int, before: int, week: int, money: bool, weekly: bool) -> str:
    f = (lambda v: f"{fen_to_yuan(v)}") if money else str
    return f"{f(now)}（{f(before)}）" if weekly else f"{f(now)}（{f(before)}/{f(week)}）"


async def channels_section(s: AsyncSession, p: Period, shipped: str, signed: str) -> str:
    weekly = is_week(p)
    span = p.end - p.start
    prev = await daily.channel_totals(s, p.start - span, p.end - span, shipped, signed)
    last = prev if weekly else await daily.channel_totals(s, p.start - timedelta(days=7), p.end - timedelta(days=7),
                                                           shipped, signed)
    cur = await daily.channel_totals(s, p.start, p.end, shipped, signed)
    head = ("## 渠道汇总（括号内为前一周）" if weekly else
            f"## 渠道汇总 {p.day:%m-%d}（括号内：前一日/上周同日）")
    channels = sorted(set(cur.by_channel) | set(prev.by_channel) | set(last.by_channel))
    if not channels:
        return head + "\n无订单、发货、签收或退款。"
    lines = [head]
    empty = dict.fromkeys(daily.FIGURES, 0)
    rows = [(channel_name(c), cur.by_channel.get(c, empty), prev.by_channel.get(c, empty),
             last.by_channel.get(c, empty)) for c in channels]
    rows.append(("合计", cur.total(), prev.total(), last.total()))
    for name, a, b, w in rows:
        lines.append(f"**{name}** 订单 {_cmp(a['orders'], b['orders'], w['orders'], False, weekly)} · "
                     f"实付 {_cmp(a['paid_fen'], b['paid_fen'], w['paid_fen'], True, weekly)} 元 · "
                     f"发货 {_cmp(a['shipped'], b['shipped'], w['shipped'], False, weekly)} · "
                     f"签收 {_cmp(a['signed'], b['signed'], w['signed'], False, weekly)} · "
                     f"退款 {_cmp(a['refund_fen'], b['refund_fen'], w['refund_fen'], True, weekly)} 元")
    return "\n".join(lines)


def _dur(d: timedelta | None) -> str:
    if d is None:
        return "无数据"
    secs = d.total_seconds()
    return f"{secs:.0f} 秒" if secs < 90 else f"{secs / 60:.1f} 分钟"


async def cs_answer_section(app: App, s: AsyncSession, p: Period) -> str:
    cfg = collaboration.collab_config(app)
    t = await daily.cs_answer_times(s, p.start, p.end, cfg.cs_roles)
    if not t.n:
        return "## 客服查单应答时长\n无数据（没有客服通过企业微信查单）"
    return f"## 客服查单应答时长\np50 {_dur(t.p50)} · p95 {_dur(t.p95)}（{t.n} 次查单：消息到达 → 回复送达）"


async def collab_line(app: App, p: Period) -> str:
    days = max(1, round((p.end - p.start) / timedelta(days=1)))
    span = timedelta(days=7) if days == 1 else p.end - p.start
    c = await collaboration.build(app, p.end - span, p.end)
    if days == 1:
        n = c.per_day.get(p.day.isoformat(), 0)
        return f"## 跨部门协作\n跨部门协作中断 {n} 次（昨日），近 7 日均 {c.count / 7:.1f}"
    return f"## 跨部门协作\n跨部门协作中断 {c.count} 次（上周），日均 {c.count / days:.1f}"
