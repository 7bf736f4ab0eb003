"""售后 (open an after-sales case) and 售后单 (show one)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.dispatch import Request, may_run
from bot.types import Reply
from handlers.registry import registry
from handlers.render import when
from handlers.task_cards import warehouse_config
from orders.aftersales.cases import AfterSalesService
from orders.aftersales.models import AfterSalesCase
from orders.aftersales.notes import amount_text
from orders.app import App
from orders.errors import InvalidInput
from orders.models import Order
from orders.users import names_of

USAGE = ("用法：售后 <单号> <类型> [金额] <原因>，类型：仅退款、退货退款、换货、补发、补偿；金额可写 59.9、20元、"
         "十二块八 或 全额，例如：售后 BG260122-8812 仅退款 二十 少发一件")
STEP_STATES = {"waiting": "未开始", "pending": "待审批", "approved": "已通过", "rejected": "已驳回"}
CASE_STATES = {"open": "处理中", "approved": "已通过", "rejected": "已驳回"}


def service(app: App) -> AfterSalesService:
    return AfterSalesService(app.orders, app.config, app.settings.tz, warehouse=warehouse_config(app))


@registry.command("售后", roles=("cs", "cs_lead"), summary="发起售后审批（仅退款/退货退款/换货/补发/补偿）",
                  example="售后 BG260122-8812 仅退款 十二块八 少发一件")
async def open_case(req: Request, args: str) -> list[Reply]:
    parts = args.split(maxsplit=2)
    if len(parts) < 3:
        raise InvalidInput(USAGE)
    svc = service(req.app)
    parsed = svc.parse(parts[1], parts[2], USAGE)
    case = await svc.open_case(parts[0], req.actor, parsed)
    step = case.steps[case.current_step]
    async with req.app.db.session() as s:
        who = await names_of(s, step.assignees)
    held = "订单已暂停发货，售后结束后解除。\n" if parsed.type.hold_unshipped and not case.shipped else ""
    return [Reply(text=f"✅ 已发起售后单 {case.case_no}（{case.kind} {amount_text(case)}）。\n{held}"
                       f"当前步骤：{step.name}，已发给 {who} 审批。\n"
                       f"查看进度：售后单 {case.case_no}")]


async def my_cases(req: Request) -> list[Reply]:
    """``售后单`` alone: an approver's queue (待办); for others, the open cases they requested."""
    if may_run(req.app, req.user, registry.commands["待办"]):
        from handlers.approve import todo  # 待办 lives with the decisions

        return await todo(req, "")
    async with req.app.db.session() as s:
        rows = (await s.execute(
            select(AfterSalesCase, Order.order_no).join(Order, Order.id == AfterSalesCase.order_id)
            .where(AfterSalesCase.requester_id == req.user.user_id, AfterSalesCase.status == "open")
            .options(selectinload(AfterSalesCase.steps)).order_by(AfterSalesCase.opened_at))).all()
    if not rows:
        return [Reply(text="您没有处理中的售后单。查看某一单：售后单 <售后单号>")]
    lines = [f"您发起的处理中售后单 {len(rows)} 个："]
    lines += [f"{i}. {c.case_no} · {no} · {c.kind} {amount_text(c)} · 当前「{c.steps[c.current_step].name}」"
              for i, (c, no) in enumerate(rows[:30], 1)]
    return [Reply(text="\n".join(lines))]


@registry.command("售后单", roles=("cs", "cs_lead", "warehouse", "finance", "ops", "manager"),
                  summary="查看售后单的审批进度（不带单号：我的售后单/待办）", example="售后单 AS260122-0001")
async def show_case(req: Request, args: str) -> list[Reply]:
    if not args.strip():
        return await my_cases(req)
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
        if case.linked_order_id:
            linked = await s.get(Order, case.linked_order_id)
            lines.append(f"发货单：{linked.order_no if linked else case.linked_order_id}")
        if case.reject_reason:
            lines.append(f"驳回原因：{case.reject_reason}")
    return [Reply(text="\n".join(lines))]
