"""Turning orders and timeline rows into short Chinese chat text (personal data masked)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from orders.intake.models import CarrierScan
from orders.labels import SOURCES, channel_name, kind_label
from orders.models import Order, TimelineEvent
from orders.money import fen_to_yuan
from orders.privacy import mask_detail, mask_name
from orders.sheet import Sheet
from orders.shown import EventShown, OrderShown, ScanShown


def when(dt: datetime | None, tz: str, fmt: str = "%m-%d %H:%M") -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime(fmt) if dt else "-"


def event_line(ev: TimelineEvent | EventShown, tz: str) -> str:
    who = ev.detail.get("actor_name") or ev.actor
    what = kind_label(ev.kind, ev.detail)
    if ev.from_state or ev.to_state:
        what += f" {ev.from_state or '∅'}→{ev.to_state}"
    extra = (ev.detail.get("reason") or ev.detail.get("new") or ev.detail.get("summary")
             or ev.detail.get("text") or "")
    if ev.kind in ("tracking_added", "tracking_removed"):
        extra = f"{ev.detail.get('carrier', '')} {ev.detail.get('number', '')}"
    if extra:
        what += f"（{extra}）"
    return f"{when(ev.at, tz)} {who} {what} [{SOURCES.get(ev.source, ev.source)}]"


def address_masked(o: Order | OrderShown) -> str:
    city = o.city if o.city != o.province else ""
    return f"{o.province}{city}{o.district}{mask_detail(o.address_detail)}"


def amounts(o: Order | OrderShown) -> str:
    parts = [f"商品 {fen_to_yuan(o.goods_total_fen)}"]
    for d in o.discounts:
        sign = "−" if d.amount_fen >= 0 else "＋"
        parts.append(f"{sign} {d.label or d.kind} {fen_to_yuan(abs(d.amount_fen))}")
    if o.shipping_fen:
        parts.append(f"＋ 运费 {fen_to_yuan(o.shipping_fen)}")
    return " ".join(parts) + f" ＝ 实付 {fen_to_yuan(o.paid_fen)} 元"


MAX_SHEET_LINES = 12


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def items_line(o: Order | OrderShown, shown: int = 3) -> str:
    parts = [f"{ln.name}×{ln.qty}" for ln in o.lines[:shown]]
    more = f" 等{len(o.lines)}种" if len(o.lines) > shown else ""
    return "商品：" + ("、".join(parts) or "无") + more


def amounts_short(o: Order | OrderShown) -> str:
    if len(o.discounts) <= 3:
        return amounts(o)
    disc = sum(d.amount_fen for d in o.discounts)
    ship = f" ＋ 运费 {fen_to_yuan(o.shipping_fen)}" if o.shipping_fen else ""
    return (f"商品 {fen_to_yuan(o.goods_total_fen)} − 优惠{len(o.discounts)}项 {fen_to_yuan(disc)}{ship}"
            f" ＝ 实付 {fen_to_yuan(o.paid_fen)} 元")


def scan_line(scan: CarrierScan | ScanShown, tz: str) -> str:
    place = f" {scan.place}" if scan.place else ""
    return f"{when(scan.event_at, tz)}{place} {scan.context}".strip()


def sheet_text(sh: Sheet, tz: str, max_lines: int = MAX_SHEET_LINES) -> str:
    """查's answer: one message that fits a phone screen (at most ``max_lines`` lines)."""
    o = sh.order
    lines = [f"订单 {o.order_no} · {channel_name(o.channel)} {o.shop} · 平台单号 {o.channel_order_id}",
             f"状态：{o.status}（{when(o.status_since, tz)}起）"]
    if o.flags:
        lines.append(f"标记：{'、'.join(o.flags)}")
    lines += [f"买家：{mask_name(o.buyer_name)} {o.phone_masked} · {address_masked(o)}",
              _short(items_line(o), 60), f"金额：{amounts_short(o)}"]
    if o.note:
        lines.append(f"平台备注：{_short(o.note, 50)}")
    if sh.note is not None:
        who = sh.note.detail.get("actor_name") or sh.note.actor
        lines.append(f"备注：{_short(str(sh.note.detail.get('text', '')), 50)}（{who} {when(sh.note.at, tz)}）")
    if sh.case is not None:
        wait = f"，等待「{sh.case.waiting}」" if sh.case.waiting else ""
        lines.append(f"售后：{sh.case.case_no} {sh.case.kind}{wait}")
    lines.append("运单：" + ("、".join(f"{t.carrier} {t.number}" for t in o.tracking) or "无"))
    if sh.scan is not None:
        lines.append(f"物流：{_short(scan_line(sh.scan, tz), 60)}")
    room = max_lines - len(lines)
    recent = sh.recent[-room:] if room > 0 else []
    lines += [f"动态：{_short(event_line(ev, tz), 60)}" for ev in recent]
    return "\n".join(lines[:max_lines])
