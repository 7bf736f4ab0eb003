"""After-sales cases: open one on an order, walk it through its approval chain, apply the
outcome. Each operation is one transaction: case rows, timeline rows, deadline rows, outbox rows."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from config import ConfigDir
from orders import timeline
from orders.aftersales import notes
from orders.aftersales.chains import KINDS, ApprovalConfig, StepDef
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.due import DueItem
from orders.errors import DomainError, InvalidInput
from orders.lookup import find_order
from orders.models import Order, TimelineEvent, User
from orders.money import fen_to_yuan
from orders.service import Actor, OrderService
from orders.users import users_with_role

log = logging.getLogger(__name__)
MAX_REASON = 200
ESCALATE_LEAD = "escalate_lead"
ESCALATE_MANAGER = "escalate_manager"
RESULT = {"approved": "通过", "rejected": "驳回"}


class CaseNotFound(DomainError):
    def __init__(self, case_no: str) -> None:
        super().__init__(f"没有找到售后单「{case_no}」，请检查案号（例如 AS260122-0001）。")


class AlreadyDecided(DomainError):
    pass


class NotYourStep(DomainError):
    pass


@dataclass
class Decision:
    case: AfterSalesCase
    step: ApprovalStep
    approved: bool
    next_step: ApprovalStep | None = None
    outcome: str = ""


def step_ref(step_id: int, what: str) -> str:
    return f"step:{step_id}:{what}"


class AfterSalesService:
    def __init__(self, orders: OrderService, config: ConfigDir, tz: str) -> None:
        self.orders = orders
        self.db = orders.db
        self.clock = orders.clock
        self.config_dir = config
        self.tz = tz

    def config(self) -> ApprovalConfig:
        return ApprovalConfig.from_dict(self.config_dir.load("approvals"))

    # -- opening ------------------------------------------------------------------------------
    async def open_case(self, query: str, actor: Actor, kind: str, amount_fen: int | None, reason: str
                        ) -> AfterSalesCase:
        if kind not in KINDS:
            raise InvalidInput(f"售后类型需为：{'、'.join(KINDS)}")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("请填写售后原因。")
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"售后原因太长（最多{MAX_REASON}个字）。")
        for attempt in range(3):
            try:
                async with self.db.session() as s:
                    return await self._open(s, query, actor, kind, amount_fen, reason)
            except IntegrityError:  # two cases numbered at once: take the next number
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _open(self, s: AsyncSession, query: str, actor: Actor, kind: str, amount_fen: int | None,
                    reason: str) -> AfterSalesCase:
        cfg = self.config()
        order = await find_order(s, query, full=True)
        busy = await s.scalar(select(AfterSalesCase.case_no).where(
            AfterSalesCase.order_id == order.id, AfterSalesCase.status == "open"))
        if busy:
            raise InvalidInput(f"订单 {order.order_no} 已有进行中的售后单 {busy}，请等它处理完。")
        amount = self._amount(order, kind, amount_fen)
        now = self.clock.now()
        chain = cfg.chain_for(kind)
        case = AfterSalesCase(
            case_no=await self._next_no(s, now), order_id=order.id, channel=order.channel, kind=kind,
            amount_fen=amount, reason=reason, misship=cfg.is_misship(reason), requester_id=actor.user_id,
            status="open", current_step=0, opened_at=now, refund_fen=0, reject_reason="")
        case.steps = [ApprovalStep(idx=i, name=st.name, role=st.role, department=st.department, state="waiting",
                                   assignees=[], task_id="", decided_name="") for i, st in enumerate(chain)]
        s.add(case)
        await s.flush()
        summary = f"{case.case_no} {kind} {notes.amount_text(case)}：{reason}"
        timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                        kind="aftersales_opened", detail={"actor_name": actor.name, "summary": summary,
                                                          "case_no": case.case_no})
        first = 0
        if chain[0].submit:  # the requester's own submission step
            st = case.steps[0]
            st.state, st.opened_at, st.decided_at = "approved", now, now
            st.decided_by, st.decided_name, st.assignees = actor.user_id, actor.name, [actor.user_id]
            first = 1
        if first >= len(chain):
            raise InvalidInput("售后审批链没有审批步骤，请联系管理员检查 approvals.yaml。")
        await self._activate(s, cfg, case, chain, first, order, now)
        log.info("aftersales case %s opened on %s by %s (%s)", case.case_no, order.order_no, actor.user_id, kind)
        return case

    @staticmethod
    def _amount(order: Order, kind: str, amount_fen: int | None) -> int:
        if kind == "换货":
            return amount_fen or 0
        if amount_fen is None:
            if kind == "补偿":
                raise InvalidInput("补偿需要填写金额，例如：售后 BG260122-8812 补偿 20 物流延误")
            return order.paid_fen
        if amount_fen <= 0:
            raise InvalidInput("金额需大于0。")
        if amount_fen > order.paid_fen:
            raise InvalidInput(f"金额 {fen_to_yuan(amount_fen)} 元超过订单实付 {fen_to_yuan(order.paid_fen)} 元。")
        return amount_fen

    async def _next_no(self, s: AsyncSession, now: datetime) -> str:
        prefix = "AS" + now.astimezone(ZoneInfo(self.tz)).strftime("%y%m%d") + "-"
        n = await s.scalar(select(func.count()).select_from(AfterSalesCase)
                           .where(AfterSalesCase.case_no.like(prefix + "%"))) or 0
        return f"{prefix}{n + 1:04d}"

    async def _activate(self, s: AsyncSession, cfg: ApprovalConfig, case: AfterSalesCase,
                        chain: tuple[StepDef, ...], idx: int, order: Order, now: datetime) -> ApprovalStep:
        """Put step ``idx`` on its approvers' desks: card, deadline rows."""
        sd, step = chain[idx], case.steps[idx]
        users = await users_with_role(s, sd.role, sd.department or None)
        if not users:
            raise InvalidInput(f"没有可以审批「{sd.name}」的用户（角色：{sd.role}），请联系管理员添加。")
        step.state, step.opened_at = "pending", now
        step.assignees = sorted(u.user_id for u in users)
        deadline = now + timedelta(hours=cfg.hours(sd))
        step.deadline_at = deadline
        step.task_id = f"as-{case.case_no}-{idx}"
        case.current_step = idx
        await s.flush()
        data = {"case_no": case.case_no, "step_id": step.id, "lead_role": sd.lead_role,
                "default_lead_role": cfg.default_lead_role, "manager_role": cfg.manager_role}
        s.add(DueItem(kind=ESCALATE_LEAD, ref=step_ref(step.id, "lead"), due_at=deadline, state="due",
                      data=data, created_at=now, done_by=""))
        s.add(DueItem(kind=ESCALATE_MANAGER, ref=step_ref(step.id, "manager"),
                      due_at=deadline + timedelta(hours=cfg.manager_after_hours), state="due",
                      data=data, created_at=now, done_by=""))
        requester = await s.get(User, case.requester_id)
        card = notes.approval_card(case, step, order, total_steps=len(chain), evidence=await evidence_count(s, order),
                                   requester=requester.name if requester else case.requester_id)
        await notes.send_card(s, card, step.assignees, now, order.id)
        return step

    # -- deciding -----------------------------------------------------------------------------
    async def load(self, s: AsyncSession, case_no: str) -> AfterSalesCase:
        no = (case_no or "").strip().upper()
        if not no:
            raise InvalidInput("请提供售后单号，例如：通过 AS260122-0001")
        case = await s.scalar(select(AfterSalesCase).where(AfterSalesCase.case_no == no[:20])
                              .options(selectinload(AfterSalesCase.steps)))
        if case is None:
            raise CaseNotFound(no[:20])
        return case

    async def decide(self, case_no: str, actor: Actor, *, approve: bool, reason: str = "",
                     step_idx: int | None = None, response_code: str = "") -> Decision:
        reason = reason.strip()
        if not approve and not reason:
            raise InvalidInput("请填写驳回原因，例如：驳回 AS260122-0001 未收到退货")
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"驳回原因太长（最多{MAX_REASON}个字）。")
        async with self.db.session() as s:
            case = await self.load(s, case_no)
            idx = case.current_step if step_idx is None else step_idx
            step = self.check_pending(case, idx, actor)
            now = self.clock.now()
            # Compare-and-set: a concurrent or repeated press finds the step no longer pending.
            res = await s.execute(update(ApprovalStep).where(ApprovalStep.id == step.id,
                                                             ApprovalStep.state == "pending")
                                  .values(state="approved" if approve else "rejected", decided_at=now,
                                          decided_by=actor.user_id, decided_name=actor.name)
                                  .execution_options(synchronize_session=False))
            if res.rowcount != 1:  # type: ignore[attr-defined]
                await s.refresh(step)
                raise AlreadyDecided(self._decided_text(case, step))
            await s.refresh(step)
            await s.execute(update(DueItem).where(DueItem.ref.in_([step_ref(step.id, "lead"),
                                                                   step_ref(step.id, "manager")]),
                                                  DueItem.state == "due")
                            .values(state="cancelled", done_at=now).execution_options(synchronize_session=False))
            case.first_response_at = case.first_response_at or now
            order = await s.get(Order, case.order_id, options=[selectinload(Order.tracking)])
            assert order is not None  # cases cascade with their order
            label = "已通过" if approve else "已驳回"
            await notes.card_done(s, step, label, now, self.tz, response_code, order.id)
            detail = {"actor_name": actor.name, "case_no": case.case_no, "step": step.name,
                      "summary": f"{case.case_no}「{step.name}」{RESULT['approved' if approve else 'rejected']}"
                                 + (f"：{reason}" if reason else "")}
            timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                            kind="aftersales_approved" if approve else "aftersales_rejected", detail=detail)
            decision = Decision(case, step, approve)
            if not approve:
                case.status, case.closed_at, case.closed_by = "rejected", now, actor.user_id
                case.reject_reason = reason
                await notes.tell(s, case.requester_id, f"❌ 售后单 {case.case_no}（订单 {order.order_no}）"
                                 f"在「{step.name}」被 {actor.name} 驳回。原因：{reason}", now, order.id)
            elif idx + 1 < len(case.steps):
                cfg = self.config()
                decision.next_step = await self._activate(s, cfg, case, _chain_of(cfg, case), idx + 1, order, now)
                await notes.tell(s, case.requester_id, f"售后单 {case.case_no}：「{step.name}」已由 {actor.name} 通过，"
                                 f"转「{decision.next_step.name}」。", now, order.id)
            else:
                decision.outcome = await self._apply(s, case, order, actor, now)
                await notes.tell(s, case.requester_id, f"✅ 售后单 {case.case_no}（订单 {order.order_no}）已全部通过。"
                                 f"{decision.outcome}", now, order.id)
            log.info("aftersales %s step %d %s by %s", case.case_no, idx, "approved" if approve else "rejected",
                     actor.user_id)
            return decision

    def check_pending(self, case: AfterSalesCase, idx: int, actor: Actor) -> ApprovalStep:
        """The step ``idx`` if it waits for ``actor``'s decision; a refusal otherwise."""
        if not 0 <= idx < len(case.steps):
            raise CaseNotFound(case.case_no)
        step = case.steps[idx]
        if step.state != "pending" or case.status != "open":
            raise AlreadyDecided(self._decided_text(case, step))
        if not self._may_decide(actor, step):
            raise NotYourStep(f"售后单 {case.case_no} 当前步骤「{step.name}」由 {'、'.join(step.assignees)} 审批，"
                              "您不能处理。")
        return step

    @staticmethod
    def _may_decide(actor: Actor, step: ApprovalStep) -> bool:
        return "admin" in actor.roles or actor.user_id in step.assignees

    def _decided_text(self, case: AfterSalesCase, step: ApprovalStep) -> str:
        if step.state in RESULT and step.decided_at:
            who = f"{step.decided_name or step.decided_by} · {notes.hhmm(step.decided_at, self.tz)}"
            head = f"售后单 {case.case_no} 的「{step.name}」已处理（{RESULT[step.state]} · {who}），无需重复操作。"
        else:
            head = f"售后单 {case.case_no} 的「{step.name}」当前不在审批中。"
        if case.status == "open":
            cur = case.steps[case.current_step]
            return head + f"当前步骤：{cur.name}。"
        return head + f"该售后单已{'通过' if case.status == 'approved' else '驳回'}结束。"

    async def _apply(self, s: AsyncSession, case: AfterSalesCase, order: Order, actor: Actor, now: datetime) -> str:
        """The last approval: record the refund and move the order where the workflow allows."""
        out = self.config().outcome(case.kind)
        case.status, case.closed_at, case.closed_by = "approved", now, actor.user_id
        parts = []
        if out.refund and case.amount_fen:
            case.refund_fen = case.amount_fen
            parts.append(f"{case.kind} {fen_to_yuan(case.amount_fen)} 元已记入财务。")
        if out.state:
            wf = await self.orders.workflows.current(s)
            if out.state == order.status:
                parts.append(f"订单已在「{out.state}」。")
            elif out.state in wf.allowed(order.status):
                by = dataclasses.replace(actor, check_roles=False)
                await self.orders.move(s, order, out.state, by, wf=wf, detail={"summary": case.case_no})
                parts.append(f"订单已转入「{out.state}」。")
            else:
                timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                                kind="aftersales_outcome",
                                detail={"actor_name": actor.name, "case_no": case.case_no,
                                        "summary": f"{case.case_no} 已通过；订单在「{order.status}」，"
                                                   f"不能转入「{out.state}」，状态不变"})
                parts.append(f"订单当前「{order.status}」不能转入「{out.state}」，已记在轨迹上。")
        return "".join(parts)


def _chain_of(cfg: ApprovalConfig, case: AfterSalesCase) -> tuple[StepDef, ...]:
    """The case's own steps (fixed when it opened) with deadlines and leads from today's config."""
    conf = cfg.chain_for(case.kind)
    out = []
    for st in case.steps:
        sd = conf[st.idx] if st.idx < len(conf) and conf[st.idx].name == st.name else None
        out.append(StepDef(name=st.name, role=st.role, department=st.department,
                           hours=sd.hours if sd else None, lead_role=sd.lead_role if sd else None))
    return tuple(out)


async def evidence_count(s: AsyncSession, order: Order) -> int:
    """Evidence files kept on the order (orders.warehouse.evidence.attach: one ``evidence`` timeline row each)."""
    return int(await s.scalar(select(func.count()).select_from(TimelineEvent).where(
        TimelineEvent.order_id == order.id, TimelineEvent.kind == "evidence")) or 0)
