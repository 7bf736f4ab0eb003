"""Turning orders and timeline rows into short Chinese chat text (personal data masked)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from orders.labels import SOURCES, channel_name, kind_label
from orders.models import Order, TimelineEvent
from orders.money import fen_to_yuan
from orders.privacy import mask_detail, mask_name


def when(dt: datetime | None, tz: str, fmt: str = "%m-%d %H:%M") -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime(fmt) if dt else "-"


def event_line(ev: TimelineEvent, tz: str) -> str:
    who = ev.detail.get("actor_name") or ev.actor
    what = kind_label(ev.kind, ev.detail)
    if ev.from_state or ev.to_state:
        what += f" {ev.from_state or '∅'}→{ev.to_state}"
    extra = ev.detail.get("reason") or ev.detail.get("new") or ev.detail.get("summary") or ""
    if ev.kind == "tracking_added":
        extra = f"{ev.detail.get('carrier', '')} {ev.detail.get('number', '')}"
    if extra:
        what += f"（{extra}）"
    return f"{when(ev.at, tz)} {who} {what} [{SOURCES.get(ev.source, ev.source)}]"


def address_masked(o: Order) -> str:
    city = o.city if o.city != o.province else ""
    return f"{o.province}{city}{o.district}{mask_detail(o.address_detail)}"


def amounts(o: Order) -> str:
    parts = [f"商品 {fen_to_yuan(o.goods_total_fen)}"]
    for d in o.discounts:
        sign = "−" if d.amount_fen >= 0 else "＋"
        parts.append(f"{sign} {d.label or d.kind} {fen_to_yuan(abs(d.amount_fen))}")
    if o.shipping_fen:
        parts.append(f"＋ 运费 {fen_to_yuan(o.shipping_fen)}")
    return " ".join(parts) + f" ＝ 实付 {fen_to_yuan(o.paid_fen)} 元"


def order_card_text(o: Order, recent: list[TimelineEvent], tz: str) -> str:
    flags = f"  标记：{'、'.join(o.flags)}" if o.flags else ""
    lines = [
        f"订单 {o.order_no} · {channel_name(o.channel)} · {o.shop}",
        f"平台单号：{o.channel_order_id}",
        f"状态：{o.status}（{when(o.status_since, tz)}起）{flags}",
        f"买家：{mask_name(o.buyer_name)} {o.phone_masked}",
        f"地址：{address_masked(o)}",
        "商品：",
        *(f"  · {ln.name}（{ln.sku}）×{ln.qty} ￥{fen_to_yuan(ln.price_fen)}" for ln in o.lines),
        f"金额：{amounts(o)}",
        "运单：" + ("、".join(f"{t.carrier} {t.number}" for t in o.tracking) or "无"),
        "最近动态：",
        *(f"  {event_line(ev, tz)}" for ev in recent),
    ]
    if not recent:
        lines.append("  （暂无）")
    return "\n".join(lines)
