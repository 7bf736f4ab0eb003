"""通过 / 驳回 an after-sales step, as text or with the card's buttons. The 驳回 button asks for
the reason in the next message (a pending conversation)."""

from __future__ import annotations

import logging
import re

from bot.dispatch import Request
from bot.types import Reply
from handlers.aftersales import service
from handlers.registry import registry
from orders import conversations
from orders.aftersales.cases import Decision
from orders.aftersales.notes import NO_PREFIX, OK_PREFIX, amount_text, parse_button_key
from orders.aftersales.queue import MAX_LISTED, waiting_for
from orders.errors import DomainError, InvalidInput
from orders.users import names_of

log = logging.getLogger(__name__)
REJECT_CONV = "aftersales_reject"
REJECT_MINUTES = 30
DECIDERS = ("cs_lead", "warehouse", "warehouse_lead", "finance", "finance_lead", "manager")
SEPARATORS = re.compile(r"[\s,，、;；]+")
MAX_BATCH = 20


async def decided_reply(req: Request, d: Decision) -> list[Reply]:
    return [Reply(text=await decided_text(req, d))]


async def decided_text(req: Request, d: Decision) -> str:
    no = d.case.case_no
    if not d.approved:
        return f"已驳回售后单 {no}（{d.step.name}），原因已告知发起人。"
    if d.next_step is not None:
        async with req.app.db.session() as s:
            who = await names_of(s, d.next_step.assignees)
        return f"已通过售后单 {no}「{d.step.name}」，已转「{d.next_step.name}」（{who}）。"
    return f"已通过售后单 {no}「{d.step.name}」，审批完成。{d.outcome}"


@registry.command("通过", roles=DECIDERS, summary="通过售后审批的当前步骤（可一次多个）",
                  example="通过 AS260122-0001 AS260122-0002")
async def approve(req: Request, args: str) -> list[Reply]:
    nos = [n for n in SEPARATORS.split(args.strip()) if n]
    if not nos:
        raise InvalidInput("用法：通过 <售后单号> [售后单号…]，例如：通过 AS260122-0001 AS260122-0002"
                           "（发送「待办」查看等您处理的售后单）")
    if len(nos) > MAX_BATCH:
        raise InvalidInput(f"一次最多通过 {MAX_BATCH} 个售后单。")
    svc = service(req.app)
    if len(nos) == 1:
        return await decided_reply(req, await svc.decide(nos[0], req.actor, approve=True))
    lines, ok = [], 0
    for no in dict.fromkeys(nos):
        try:
            lines.append("✅ " + await decided_text(req, await svc.decide(no, req.actor, approve=True)))
            ok += 1
        except DomainError as e:
            log.info("batch approve %s by %s refused: %s", no, req.user.user_id, e)
            lines.append(f"❌ {no[:20]}：{e}")
    return [Reply(text=f"批量通过：{ok}/{len(lines)} 个成功。\n" + "\n".join(lines))]


@registry.command("待办", roles=DECIDERS, summary="列出等您审批的售后单（组长含本部门超时的）", example="待办")
async def todo(req: Request, args: str) -> list[Reply]:
    app = req.app
    svc = service(app)
    cfg = svc.config()
    async with app.db.session() as s:
        rows = await waiting_for(s, req.actor, cfg, app.clock.now(), app.settings.tz)
        if not rows:
            return [Reply(text="目前没有等您处理的售后单。")]
        lines = [f"待办售后单 {len(rows)} 个（从早到晚；工作时间 {cfg.hours_cal.describe()}）："]
        for i, w in enumerate(rows[:MAX_LISTED], 1):
            flag = "⏰超时 " if w.overdue else ""
            who = "" if w.mine else f"（{await names_of(s, w.step.assignees)} 处理中，超时后您可处理）"
            lines.append(f"{i}. {flag}{w.case.case_no} · {w.order_no} · {w.case.kind} {amount_text(w.case)} · "
                         f"「{w.step.name}」已等 {w.waited_hours:.1f} 工作小时{who}")
        if len(rows) > MAX_LISTED:
            lines.append(f"……另有 {len(rows) - MAX_LISTED} 个")
        mine = [w.case.case_no for w in rows[:MAX_LISTED] if w.mine]
        if mine:
            lines.append(f"一次通过多个：通过 {' '.join(mine[:3])}")
    return [Reply(text="\n".join(lines))]


@registry.command("驳回", roles=DECIDERS, summary="驳回售后审批（需写原因）", example="驳回 AS260122-0001 未收到退货")
async def reject(req: Request, args: str) -> list[Reply]:
    case_no, _, reason = args.partition(" ")
    if not case_no or not reason.strip():
        raise InvalidInput("用法：驳回 <售后单号> <原因>，例如：驳回 AS260122-0001 未收到退货")
    return await decided_reply(req, await service(req.app).decide(case_no, req.actor, approve=False, reason=reason))


def _parsed(key: str, req: Request) -> tuple[str, int] | None:
    parsed = parse_button_key(key)
    if parsed is None:
        log.warning("malformed approval key %r from %s", key, req.user.user_id)
    return parsed


@registry.button(OK_PREFIX)
async def approve_button(req: Request, key: str) -> list[Reply]:
    parsed = _parsed(key, req)
    if parsed is None:
        return [Reply(text="这个按钮已失效，请用「通过 <售后单号>」。")]
    d = await service(req.app).decide(parsed[0], req.actor, approve=True, step_idx=parsed[1],
                                      response_code=req.incoming.response_code)
    return await decided_reply(req, d)


@registry.button(NO_PREFIX)
async def reject_button(req: Request, key: str) -> list[Reply]:
    parsed = _parsed(key, req)
    if parsed is None:
        return [Reply(text="这个按钮已失效，请用「驳回 <售后单号> <原因>」。")]
    case_no, idx = parsed
    svc = service(req.app)
    async with req.app.db.session() as s:  # refuse now if it is not pending or not theirs
        case = await svc.load(s, case_no)
        await svc.check_pending(s, case, idx, req.actor)
        await conversations.begin(s, req.user.user_id, REJECT_CONV, req.app.clock.now(), REJECT_MINUTES,
                                  order_id=case.order_id, data={"case_no": case_no, "idx": idx,
                                                                "response_code": req.incoming.response_code})
    return [Reply(text=f"请直接回复驳回售后单 {case_no} 的原因（{REJECT_MINUTES}分钟内有效），回复「算了」放弃。")]


@registry.conversation
async def reject_reason(req: Request) -> list[Reply] | None:
    text = req.incoming.text.strip()
    command = registry.split_command(text)
    if req.incoming.kind != "text" or (command and command[0] not in ("驳回", "通过")):
        return None  # another command leaves the question open
    async with req.app.db.session() as s:
        conv = await conversations.pending(s, req.user.user_id, (REJECT_CONV,), req.app.clock.now())
        if conv is None:
            return None
        data = dict(conv.data)
        await conversations.end(s, req.user.user_id)
    if command:
        return None  # a typed 驳回 / 通过 decides on its own and closes the question
    if text in ("算了", "取消"):
        return [Reply(text=f"已放弃驳回售后单 {data['case_no']}。")]
    d = await service(req.app).decide(str(data["case_no"]), req.actor, approve=False, reason=text,
                                      step_idx=int(data["idx"]), response_code=str(data.get("response_code", "")))
    return await decided_reply(req, d)
