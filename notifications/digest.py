"""The manager digest: composed from ``orders.reports.digest``, sent as markdown + one chart image.
``config/digests.yaml`` says which reports go to whom at what time; it is re-read on every sweep.
A sent digest leaves a ``due_items`` marker (kind "digest", ref "<name>:<local date>") inserted
in the same transaction as its outbox rows: the unique key lets one process send it once a day,
and a sweep after a restart later the same day catches up a missed send."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from config import ConfigDir
from notifications import digest_day as day
from notifications.chart import cjk_font, render_chart
from notifications.digest_links import board_section
from notifications.region_digest import region_alerts_section
from orders.app import App
from orders.due import DueItem
from orders.labels import channel_name
from orders.money import fen_to_yuan
from orders.outbox import enqueue
from orders.reports import digest as reports
from orders.reports.misship import TARGET, MisshipRate, misship_kpi
from orders.users import users_with_role

log = logging.getLogger(__name__)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECTIONS = ("stuck", "channels", "refund_reasons", "aftersales", "first_response", "cs_answer", "misship", "settlement",
            "regions", "collab", "chart")
MARKDOWN_LIMIT = 2000  # bytes; WeCom app markdown takes at most 2048


def parse_days(spec: str) -> frozenset[int]:
    """'mon-fri', 'sat,sun', 'mon-sun' or '*' → weekday numbers (Monday 0, as datetime). Numbers
    are refused: cron and APScheduler disagree on them."""
    spec = str(spec).strip().lower()
    if spec in ("*", ""):
        return frozenset(range(7))
    out: set[int] = set()
    for part in spec.split(","):
        a, _, b = part.strip().partition("-")
        if a not in DAY_NAMES or (b and b not in DAY_NAMES):
            raise ValueError(f"digests.yaml: days must be day names like mon-fri, got {spec!r}")
        i, j = DAY_NAMES.index(a), DAY_NAMES.index(b or a)
        out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
    return frozenset(out)


@dataclass(frozen=True)
class DigestSpec:
    name: str
    at: time
    days: str
    weekdays: frozenset[int]
    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    reports: tuple[str, ...] = SECTIONS
    period: str = "day"  # day: yesterday; week: last week, Monday to Sunday


@dataclass(frozen=True)
class DigestConfig:
    digests: tuple[DigestSpec, ...]
    packed_state: str = "打包完成"
    top_stuck: int = 20
    top_reasons: int = 5
    shipped_state: str = "物流揽收"
    signed_state: str = "签收确认"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DigestConfig:
        specs = []
        for d in data.get("digests") or []:
            hh, _, mm = str(d.get("time", "09:00")).partition(":")
            to = d.get("to") or {}
            reps = tuple(d.get("reports") or SECTIONS)
            unknown = [r for r in reps if r not in SECTIONS]
            if unknown:
                raise ValueError(f"digests.yaml: unknown report(s) {unknown}; known: {list(SECTIONS)}")
            specs.append(DigestSpec(name=str(d["name"]), at=time(int(hh), int(mm or 0)), days=str(d.get("days", "*")),
                                    weekdays=parse_days(d.get("days", "*")), roles=tuple(to.get("roles") or ()),
                                    users=tuple(to.get("users") or ()), reports=reps,
                                    period=_period_kind(d.get("period", "day"))))
        return cls(digests=tuple(specs), packed_state=str(data.get("packed_state", "打包完成")),
                   top_stuck=int(data.get("top_stuck", 20)), top_reasons=int(data.get("top_reasons", 5)),
                   shipped_state=str(data.get("shipped_state", "物流揽收")),
                   signed_state=str(data.get("signed_state", "签收确认")))

    @classmethod
    def load(cls, config: ConfigDir) -> DigestConfig:
        return cls.from_dict(config.load("digests"))

    def get(self, name: str) -> DigestSpec:
        for d in self.digests:
            if d.name == name:
                return d
        raise KeyError(name)


@dataclass
class Digest:
    title: str
    sections: list[str] = field(default_factory=list)
    chart: bytes | None = None
    empty: bool = True

    @property
    def markdown(self) -> str:
        return "\n\n".join([self.title, *self.sections])

    def chunks(self, limit: int = MARKDOWN_LIMIT) -> list[str]:
        """The markdown cut at line ends into messages of at most ``limit`` UTF-8 bytes."""
        out: list[str] = []
        cur = ""
        for line in self.markdown.split("\n"):
            cand = f"{cur}\n{line}" if cur else line
            if len(cand.encode()) > limit and cur:
                out.append(cur)
                cand = line
            cur = cand
        return [*out, cur] if cur else out


def _hours(d: timedelta | None) -> str:
    if d is None:
        return "无数据"
    mins = d.total_seconds() / 60
    return f"{mins:.0f} 分钟" if mins < 90 else f"{mins / 60:.1f} 小时"


def _period_kind(value: Any) -> str:
    if value not in ("day", "week"):
        raise ValueError(f"digests.yaml: period must be day or week, got {value!r}")
    return str(value)


def _title(p: reports.Period, local: datetime) -> str:
    if day.is_week(p):
        return f"# 📊 运营周报 {p.start:%m-%d}～{p.end - timedelta(days=1):%m-%d}"
    if p.day == local.date() - timedelta(days=1):
        return f"# 📊 运营日报 {local:%m-%d}（昨日 {p.day:%m-%d}）"
    return f"# 📊 运营日报 {p.day:%m-%d}（回看）"


async def build_digest(app: App, reps: tuple[str, ...] = SECTIONS, *, cfg: DigestConfig | None = None,
                       now: datetime | None = None, period: reports.Period | None = None) -> Digest:
    """The digest for ``period`` (default: yesterday). For a past day or a week the stuck-order
    list (which is about now) is left out."""
    cfg = cfg or DigestConfig.load(app.config)
    now = now or app.clock.now()
    tz = app.settings.tz
    p = period or reports.Period.yesterday(now, tz)
    local = now.astimezone(ZoneInfo(tz))
    if p.day != local.date() - timedelta(days=1) or day.is_week(p):
        reps = tuple(r for r in reps if r not in ("stuck", "regions"))  # both are about now
    dg = Digest(title=_title(p, local))
    async with app.db.session() as s:
        wf = await app.workflows.current(s)
        stuck, counts = await reports.stuck_orders(s, wf.definition, now, cfg.top_stuck)
        stats = await reports.case_stats(s, p, now)
        if "stuck" in reps:
            dg.sections.append(_stuck(stuck, counts, cfg.top_stuck))
        if "channels" in reps:
            dg.sections.append(await day.channels_section(s, p, cfg.shipped_state, cfg.signed_state))
        if "refund_reasons" in reps:
            dg.sections.append(_reasons(await reports.refund_reasons(s, p, cfg.top_reasons), cfg.top_reasons))
        if "aftersales" in reps:
            dg.sections.append(
                f"## 售后\n新开 {stats.opened} · 结案 {stats.closed}（通过 {stats.approved} / 驳回 {stats.rejected}）"
                f" · 超时未审 {stats.overdue} · 待审 {stats.open_now}\n"
                f"审批中位时长：{_hours(stats.median_decision)} · 退款记账 {fen_to_yuan(stats.refund_fen)} 元")
        if "first_response" in reps:
            first = _hours(stats.median_first_response)
            dg.sections.append(f"## 售后首次处理时长\n中位 {first}（售后单发起 → 第一位审批人处理）")
        if "cs_answer" in reps:
            dg.sections.append(await day.cs_answer_section(app, s, p))
        if "misship" in reps:
            dg.sections.append(await _misship(s, p, cfg.packed_state))
        if "settlement" in reps:
            rate = await reports.settlement_difference_rate(s, p.day)
            dg.sections.append("## 结算差异率\n" + ("无对账数据" if rate is None else f"{rate:.2%}（昨日对账）"))
    if "regions" in reps:
        dg.sections.append(await region_alerts_section(app, now))
    if "collab" in reps:
        dg.sections.append(await day.collab_line(app, p))
    if links := board_section(app, reps, now):
        dg.sections.append(links)
    label = day.period_label(p, local)
    if label != "昨日":  # a past day or a week: the sections name it, not "yesterday"
        dg.sections = [sec.replace("昨日", label) for sec in dg.sections]
    dg.empty = not (stuck or stats.opened or stats.closed or stats.open_now)
    if dg.empty:
        dg.title += f"\n{label}暂无业务数据：没有超时订单，也没有售后单。"
    if "chart" in reps:
        case_bars = {"新开": stats.opened, "结案": stats.closed, "超时": stats.overdue}
        dg.chart = await asyncio.to_thread(render_chart, counts, case_bars)
        if counts and cjk_font() is None:
            dg.sections.append("图例：" + " ".join(f"S{i}={n}" for i, n in enumerate(counts, 1)))
    return dg


def _stuck(stuck: list[reports.StuckOrder], counts: dict[str, int], top: int) -> str:
    total = sum(counts.values())
    if not stuck:
        return f"## 超时订单 TOP {top}\n无：所有订单都在时限内。"
    lines = [f"## 超时订单 TOP {top}（共 {total} 单超时）"]
    lines += [f"{i}. {o.order_no} · {channel_name(o.channel)} · {o.status} · 超时 {_hours(o.over)}"
              for i, o in enumerate(stuck, 1)]
    lines.append("> 发送「查 单号」看详情")
    return "\n".join(lines)


def _reasons(by_channel: dict[str, list[tuple[str, int]]], top: int) -> str:
    if not by_channel:
        return f"## 退款原因 TOP {top}\n昨日无退款类售后。"
    lines = [f"## 退款原因 TOP {top}（昨日，按渠道）"]
    for ch, items in by_channel.items():
        lines.append(f"**{channel_name(ch)}**：" + " · ".join(f"{r[:20]} {n}" for r, n in items))
    return "\n".join(lines)


def spec_period(spec: DigestSpec, now: datetime, tz: str) -> reports.Period | None:
    """Last week for a weekly digest; None (yesterday) otherwise."""
    return day.week_period(now, tz) if spec.period == "week" else None


# -- sending ---------------------------------------------------------------------------------
async def recipients(s: AsyncSession, spec: DigestSpec) -> list[str]:
    to = set(spec.users)
    for role in spec.roles:
        to.update(u.user_id for u in await users_with_role(s, role))
    return sorted(to)


KEEP_CHARTS = timedelta(days=14)


def save_chart(app: App, name: str, png: bytes, now: datetime) -> Path:
    """Write the chart under ``data_dir/digests`` (charts older than two weeks are removed)."""
    folder = Path(app.settings.data_dir) / "digests"
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = (now - KEEP_CHARTS).timestamp()
    for old in folder.glob("*.png"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    path = (folder / f"{name}-{now:%Y%m%d-%H%M%S}.png").resolve()
    path.write_bytes(png)
    return path


async def queue_digest(s: AsyncSession, app: App, spec: DigestSpec, dg: Digest, now: datetime) -> list[str]:
    """Outbox rows for one digest (markdown parts, then the chart). Returns the recipients."""
    to = await recipients(s, spec)
    if not to:
        log.warning("digest %s has no recipients", spec.name)
        return []
    for part in dg.chunks():
        await enqueue(s, to=to, msgtype="markdown", payload={"content": part}, now=now)
    if dg.chart is not None:
        path = save_chart(app, spec.name, dg.chart, now)
        await enqueue(s, to=to, msgtype="image", payload={"path": str(path)}, now=now)
    return to


def due_today(spec: DigestSpec, now: datetime, tz: str) -> str | None:
    """The marker ref when ``spec`` is due (its time has passed today, on one of its days)."""
    local = now.astimezone(ZoneInfo(tz))
    if local.weekday() not in spec.weekdays or local.time() < spec.at:
        return None
    return f"{spec.name}:{local.date().isoformat()}"


async def sweep_digests(app: App, *, worker: str = "") -> list[str]:
    """Send each configured digest that is due today and not yet sent. Returns the names sent."""
    cfg = DigestConfig.load(app.config)
    now = app.clock.now()
    sent = []
    for spec in cfg.digests:
        ref = due_today(spec, now, app.settings.tz)
        if ref is None:
            continue
        async with app.db.session() as s:
            if await s.scalar(select(DueItem.id).where(DueItem.kind == "digest", DueItem.ref == ref)):
                continue
        dg = await build_digest(app, spec.reports, cfg=cfg, now=now, period=spec_period(spec, now, app.settings.tz))
        try:
            async with app.db.session() as s:
                s.add(DueItem(kind="digest", ref=ref, due_at=now, state="done", data={}, created_at=now,
                              done_at=now, done_by=worker))
                await s.flush()  # the unique (kind, ref): a second sender stops here
                to = await queue_digest(s, app, spec, dg, now)
        except IntegrityError:
            log.info("digest %s already sent by another process", ref)
            continue
        log.info("digest %s sent to %s", ref, ",".join(to))
        sent.append(spec.name)
    return sent


async def _misship(s: AsyncSession, p: reports.Period, packed_state: str) -> str:
    """## 错发率: yesterday and the last 7 days against the 0.2 % target (orders/reports/misship.py)."""
    day, week = await misship_kpi(s, p.start, p.end, packed_state)

    def line(label: str, m: MisshipRate) -> str:
        if not (m.parcels or m.wrong):
            return f"{label} 无打包与错发数据"
        return f"{label} {m.rate:.2%}（错发 {m.wrong} / {packed_state} {m.parcels}）{'✅' if m.on_target else '⚠️ 超标'}"

    return f"## 错发率（目标 < {TARGET:.1%}）\n{line('昨日', day)}\n{line('近7天', week)}"
