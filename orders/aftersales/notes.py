"""Messages of the after-sales chain: the approval card and the texts around it. They are
written as outbox rows by the caller, inside its transaction."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.aftersales.proof import Proof
from orders.cards import Button, Card
from orders.models import Order
from orders.money import fen_to_yuan
from orders.outbox import enqueue, enqueue_text

OK_PREFIX = "as_ok:"
NO_PREFIX = "as_no:"


def button_key(prefix: str, case_no: str, idx: int) -> str:
    return f"{prefix}{case_no}:{idx}"


def parse_button_key(key: str) -> tuple[str, int] | None:
    """(case_no, step index) from a button key, or None when it is malformed."""
    body = key.split(":", 1)[1] if ":" in key else ""
    case_no, _, idx = body.rpartition(":")
    return (case_no, int(idx)) if case_no and idx.isdigit() else None


def hhmm(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def amount_text(case: AfterSalesCase) -> str:
    return f"{fen_to_yuan(case.amount_fen)}元" if case.amount_fen else "不涉及金额"


def when(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def approval_card(case: AfterSalesCase, step: ApprovalStep, order: Order, *, total_steps: int,
                  proof: Proof, requester: str, hours: float, deadline: str) -> Card:
    """The approver's card: what is asked, the proof (photos, full tracking numbers, latest
    carrier scans) and the deadline in working hours."""
    photos = f"{proof.photos}张" if proof.photos else "无"
    if step.require_photo:
        photos += "（本步需拍照）"
    quote = [f"运单：{t.carrier} {t.number}" for t in order.tracking] or ["运单：无"]
    quote += [f"物流：{scan}" for scan in proof.scans]
    if proof.latest_photo:
        quote.append(f"最新照片：{proof.latest_photo}")
    return Card(
        task_id=step.task_id,
        title=f"售后审批 {case.case_no} · {step.name}",
        desc=f"第{step.idx + 1}/{total_steps}步 · {hours:g}工作小时内（{deadline}前）",
        fields=(("订单", order.order_no), ("类型", f"{case.kind} {amount_text(case)}"), ("原因", case.reason),
                ("照片", photos), ("申请人", requester),
                ("运单", "、".join(t.number for t in order.tracking) or "无")),
        quote="\n".join(quote),
        buttons=(Button(button_key(OK_PREFIX, case.case_no, step.idx), "通过", 1),
                 Button(button_key(NO_PREFIX, case.case_no, step.idx), "驳回", 3)),
    )


async def send_card(s: AsyncSession, card: Card, to: list[str], now: datetime, order_id: int) -> None:
    await enqueue(s, to=to, msgtype="template_card", payload={"template_card": card.to_wecom()}, now=now,
                  order_id=order_id, dedupe_key=f"card:{card.task_id}")


async def card_done(s: AsyncSession, step: ApprovalStep, label: str, now: datetime, tz: str,
                    response_code: str, order_id: int) -> None:
    """Grey out every approver's card of ``step``: "已处理 · 张三 · 10:42". The response code comes
    from the button press; a decision typed as text has none, so the row names the card's task_id
    and the transport uses the code it got back when it sent that card."""
    payload = {"response_code": response_code, "task_id": step.task_id,
               "replace_name": f"{label} · {step.decided_name} · {hhmm(now, tz)}"}
    await enqueue(s, to=step.assignees, msgtype="update_card", payload=payload, now=now, order_id=order_id,
                  dedupe_key=f"cardupd:{step.task_id}")


async def tell(s: AsyncSession, to: list[str] | str, text: str, now: datetime, order_id: int,
               dedupe_key: str | None = None) -> None:
    await enqueue_text(s, to, text, now, order_id=order_id, dedupe_key=dedupe_key)
