"""售后 (open an after-sales case) and 售后单 (show one)."""

from __future__ import annotations

import re

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.render import when
from orders.aftersales.cases import AfterSalesService
from orders.aftersales.chains import KINDS
from orders.aftersales.notes import amount_text
from orders.app import App
from orders.errors import InvalidInput
from orders.money import MoneyError, yuan_to_fen
from orders.users import names_of

AMOUNT_RE = re.compile(r"^[￥¥]?(\d+(?:\.\d{1,2})?)元?$")
USAGE = "用法：售后 <单号> <退货|换货|补偿|退款> [金额] <原因>，例如：售后 BG260122-8812 退款 59.9 尺码不合适"
STEP_STATES = {"waiting": "未开始", "pending": "待审批", "approved": "已通过", "rejected": "已驳回"}
CASE_STATES = {"open": "处理中", "approved": "已通过", "rejected": "已驳回"}


def service(app: App) -> AfterSalesService:
    return AfterSalesService(app.orders, app.config, app.settings.tz)


def parse_open(args: str) -> tuple[str, str, int | None, str]:
    parts = args.split(maxsplit=2)
    if len(parts) < 3:
        raise InvalidInput(USAGE)
    query, kind, rest = parts
    if kind not in KINDS:
        raise InvalidInput(f"售后类型「{kind[:10]}」不对，可选：{'、'.join(KINDS)}。\n{USAGE}")
    first, _, reason = rest.partition(" ")
    m = AMOUNT_RE.match(first)
    if m is None:
        return query, kind, None, rest
    try:
        amount = yuan_to_fen(m.group(1))
    except MoneyError:
        raise InvalidInput("金额格式不对，例如 59.9") from None
    if not reason.strip():
        raise InvalidInput(f"请写明售后原因。\n{USAGE}")
    return query, kind, amount, reason


@registry.command("售后", roles=("cs", "cs_lead"), summary="发起售后审批（退货/换货/补偿/退款）",
                  example="售后 BG260122-8812 退款 59.9 尺码不合适")
async def open_case(req: Request, args: str) -> list[Reply]:
    query, kind, amount, reason = parse_open(args)
    case = await service(req.app).open_case(query, req.actor, kind, amount, reason)
    step = case.steps[case.current_step]
    async with req.app.db.session() as s:
        who = await names_of(s, step.assignees)
    return [Reply(text=f"✅ 已发起售后单 {case.case_no}（{kind} {amount_text(case)}）。\n"
                       f"当前步骤：{step.name}，已发给 {who} 审批。\n"
                       f"查看进度：售后单 {case.case_no}")]


@registry.command("售后单", roles=("cs", "cs_lead", "warehouse", "finance", "ops", "manager"),
                  summary="查看售后单的审批进度", example="售后单 AS260122-0001")
async def show_case(req: Request, args: str) -> list[Reply]:
    svc = service(req.app)
    tz = req.app.settings.tz
    async with req.app.db.session() as s:
        case = await svc.load(s, args)
        state = CASE_STATES.get(case.status, case.status)
        lines = [f"售后单 {case.case_no} · {case.kind} {amount_text(case)} · {state}",
                 f"原因：{case.reason}", f"发起：{await names_of(s, [case.requester_id])} {when(case.opened_at, tz)}"]
        for st in case.steps:
            who = f" · {st.decided_name} {when(st.decided_at, tz)}" if st.decided_at else ""
            desk = ""
            if st.state == "pending":
                desk = f"（{await names_of(s, st.assignees)}，{when(st.deadline_at, tz)}前）"
            lines.append(f"{st.idx + 1}. {st.name}：{STEP_STATES.get(st.state, st.state)}{who}{desk}")
        if case.reject_reason:
            lines.append(f"驳回原因：{case.reject_reason}")
    return [Reply(text="\n".join(lines))]
