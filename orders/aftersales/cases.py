"""After-sales cases: open one on an order, walk it through its approval chain, apply the
outcome. Each operation is one transaction: case rows, timeline rows, deadline rows, outbox rows."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from config import ConfigDir
from orders import timeline
from orders.aftersales import notes
from orders.aftersales.amounts import check_refundable, looks_like_amount, parse_amount
from orders.aftersales.chains import ApprovalConfig, StepDef, TypeDef
from orders.aftersales.models import AfterSalesCase, ApprovalStep
from orders.aftersales.proof import photos_since, proof
from orders.aftersales.shipments import create_linked
from orders.due import DueItem
from orders.errors import DomainError, InvalidInput
from orders.lookup import find_order
from orders.models import Order, User
from orders.money import fen_to_yuan
from orders.service import Actor, OrderService, set_focus
from orders.users import lead_role_of, names_of, users_with_role
from orders.warehouse import holds
from orders.warehouse.config import DEFAULT, WarehouseConfig
from orders.workflow_branches import branch_origin

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


class PhotoNeeded(DomainError):
    def __init__(self, text: str, order_id: int) -> None:
        super().__init__(text)
        self.order_id = order_id


@dataclass
class Decision:
    case: AfterSalesCase
    step: ApprovalStep
    approved: bool
    next_step: ApprovalStep | None = None
    outcome: str = ""


@dataclass(frozen=True)
class Request:
    """A parsed 售后 request: the type, the amount (None: 全额 or no amount) and the reason."""

    type: TypeDef
    amount_fen: int | None
    reason: str


def step_ref(step_id: int, what: str) -> str:
    return f"step:{step_id}:{what}"


def hold_reason(case: AfterSalesCase) -> str:
    return f"{case.kind} {case.case_no}"


def lead_of(step: StepDef) -> str:
    """The lead role an overdue step escalates to: its ``lead_role``, else ``<role>_lead``."""
    return step.lead_role or lead_role_of(step.role)


class AfterSalesService:
    def __init__(self, orders: OrderService, config: ConfigDir, tz: str, *, warehouse: WarehouseConfig = DEFAULT
                 ) -> None:
        self.orders = orders
        self.warehouse = warehouse  # holds on packed parcels tell its leads (orders.app.WAREHOUSE)
        self.db = orders.db
        self.clock = orders.clock
        self.config_dir = config
        self.tz = tz

    def config(self) -> ApprovalConfig:
        return ApprovalConfig.from_dict(self.config_dir.load("approvals"))

    # -- opening ------------------------------------------------------------------------------
    def parse(self, kind_word: str, rest: str, usage: str) -> Request:
        """``<类型> [金额] <原因>``: an amount for a type that needs one must be exactly readable."""
        cfg = self.config()
        kind = cfg.resolve(kind_word)
        if kind is None:
            raise InvalidInput(f"售后类型「{kind_word[:10]}」不对，可选：{cfg.type_words()}。\n{usage}")
        first, _, after = rest.strip().partition(" ")
        amount: int | None = None
        if kind.amount == "required":
            if not first or not looks_like_amount(first):
                raise InvalidInput(f"{kind.name}需要写金额（数字、中文数字或「全额」），例如：售后 BG260122-8812 "
                                   f"{kind.name} 20 少发一件")
            amount = parse_amount(first)
            rest = after
        reason = rest.strip()
        if not reason:
            raise InvalidInput(f"请写明售后原因。\n{usage}")
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"售后原因太长（最多{MAX_REASON}个字）。")
        return Request(kind, amount, reason)

    async def open_case(self, query: str, actor: Actor, req: Request) -> AfterSalesCase:
        for attempt in range(3):
            try:
                async with self.db.session() as s:
                    return await self._open(s, query, actor, req)
            except IntegrityError:  # two cases numbered at once: take the next number
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def shipped(self, s: AsyncSession, order: Order, cfg: ApprovalConfig) -> bool:
        """Has the order left the warehouse? Its state (or, in a side branch, the state it came
        from) is at or after ``shipped_from`` in the workflow."""
        wf = await self.orders.workflows.current(s)
        names = wf.definition.names
        status = order.status if order.status in names else await branch_origin(s, order)
        if status not in names or cfg.shipped_from not in names:
            return False
        return names.index(status) >= names.index(cfg.shipped_from)

    async def _open(self, s: AsyncSession, query: str, actor: Actor, req: Request) -> AfterSalesCase:
        cfg = self.config()
        kind = req.type
        order = await find_order(s, query, full=True)
        cancel = (await self.orders.workflows.current(s)).definition.cancel
        if cancel and order.status == cancel.name:
            raise InvalidInput(f"订单 {order.order_no} 已取消，不能再发起售后。")
        busy = await s.scalar(select(AfterSalesCase.case_no).where(
            AfterSalesCase.order_id == order.id, AfterSalesCase.status == "open", AfterSalesCase.kind == kind.name))
        if busy:
            raise InvalidInput(f"订单 {order.order_no} 已有进行中的{kind.name}售后单 {busy}，请等它处理完"
                               f"（不同类型可以同时发起）。")
        shipped = await self.shipped(s, order, cfg)
        chain = kind.chain(shipped)
        if not chain:
            where = "已发货" if shipped else "尚未发货"
            ok = [t.name for t in cfg.types.values() if t.chain(shipped)]
            raise InvalidInput(f"订单 {order.order_no} {where}（当前「{order.status}」），不能发起{kind.name}。"
                               f"可发起：{'、'.join(ok) or '无'}")
        amount = 0
        if kind.amount == "required":
            paid, taken = order.paid_fen, await self.refunded(s, order.id, cfg)
            amount = check_refundable(req.amount_fen, paid - taken, paid, taken)
        now = self.clock.now()
        case = AfterSalesCase(
            case_no=await self._next_no(s, now), order_id=order.id, channel=order.channel, kind=kind.name,
            amount_fen=amount, reason=req.reason, misship=cfg.is_misship(req.reason), requester_id=actor.user_id,
            status="open", current_step=0, opened_at=now, refund_fen=0, reject_reason="", shipped=shipped)
        case.steps = [ApprovalStep(idx=i, name=st.name, role=st.role, department=st.department, state="waiting",
                                   assignees=[], task_id="", decided_name="", require_photo=st.require_photo,
                                   lead_role="") for i, st in enumerate(chain)]
        s.add(case)
        await s.flush()
        summary = f"{case.case_no} {kind.name} {notes.amount_text(case)}：{req.reason}"
        timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                        kind="aftersales_opened", detail={"actor_name": actor.name, "summary": summary,
                                                          "case_no": case.case_no})
        if kind.hold_unshipped and not shipped:
            await holds.hold(s, order, hold_reason(case), actor=actor, now=now, wh=self.warehouse,
                             board=self.orders.board)
        first = 0
        if chain[0].submit:  # the requester's own submission step
            st = case.steps[0]
            st.state, st.opened_at, st.decided_at = "approved", now, now
            st.decided_by, st.decided_name, st.assignees = actor.user_id, actor.name, [actor.user_id]
            first = 1
        if first >= len(chain):
            raise InvalidInput("售后审批链没有审批步骤，请联系管理员检查 approvals.yaml。")
        await self._activate(s, cfg, case, chain, first, order, now)
        log.info("aftersales case %s opened on %s by %s (%s)", case.case_no, order.order_no, actor.user_id, kind.name)
        return case

    async def refunded(self, s: AsyncSession, order_id: int, cfg: ApprovalConfig) -> int:
        """Money already refunded on the order plus what its open cases ask for."""
        money = [n for n, t in cfg.types.items() if t.amount == "required"]
        done = await s.scalar(select(func.coalesce(func.sum(AfterSalesCase.refund_fen), 0)).where(
            AfterSalesCase.order_id == order_id, AfterSalesCase.status == "approved"))
        asked = await s.scalar(select(func.coalesce(func.sum(AfterSalesCase.amount_fen), 0)).where(
            AfterSalesCase.order_id == order_id, AfterSalesCase.status == "open", AfterSalesCase.kind.in_(money)))
        return int(done or 0) + int(asked or 0)

    async def _next_no(self, s: AsyncSession, now: datetime) -> str:
        prefix = "AS" + now.astimezone(ZoneInfo(self.tz)).strftime("%y%m%d") + "-"
        n = await s.scalar(select(func.count()).select_from(AfterSalesCase)
                           .where(AfterSalesCase.case_no.like(prefix + "%"))) or 0
        return f"{prefix}{n + 1:04d}"

    async def _activate(self, s: AsyncSession, cfg: ApprovalConfig, case: AfterSalesCase,
                        chain: tuple[StepDef, ...], idx: int, order: Order, now: datetime) -> ApprovalStep:
        """Put step ``idx`` on its approvers' desks: card, deadline rows (working hours)."""
        sd, step = chain[idx], case.steps[idx]
        users = await users_with_role(s, sd.role, sd.department or None)
        if not users:
            raise InvalidInput(f"没有可以审批「{sd.name}」的用户（角色：{sd.role}），请联系管理员添加。")
        step.state, step.opened_at = "pending", now
        step.assignees = sorted(u.user_id for u in users)
        deadline = cfg.hours_cal.add(now, cfg.hours(sd), self.tz)
        step.deadline_at = deadline
        step.task_id = f"as-{case.case_no}-{idx}"
        step.lead_role = lead_of(sd)
        case.current_step = idx
        await s.flush()
        data = {"case_no": case.case_no, "step_id": step.id, "lead_role": sd.lead_role,
                "default_lead_role": cfg.default_lead_role, "manager_role": cfg.manager_role}
        s.add(DueItem(kind=ESCALATE_LEAD, ref=step_ref(step.id, "lead"), due_at=deadline, state="due",
                      data=data, created_at=now, done_by=""))
        s.add(DueItem(kind=ESCALATE_MANAGER, ref=step_ref(step.id, "manager"),
                      due_at=cfg.hours_cal.add(deadline, cfg.manager_after_hours, self.tz), state="due",
                      data=data, created_at=now, done_by=""))
        requester = await s.get(User, case.requester_id)
        card = notes.approval_card(case, step, order, total_steps=len(chain), proof=await proof(s, order.id, self.tz),
                                   requester=requester.name if requester else case.requester_id,
                                   hours=cfg.hours(sd), deadline=notes.when(deadline, self.tz))
        await notes.send_card(s, card, step.assignees, now, order.id)
        return step

    # -- deciding -----------------------------------------------------------------------------
    async def load(self, s: AsyncSession, case_no: str) -> AfterSalesCase:
        no = (case_no or "").strip().upper()
        if not no:
            raise InvalidInput("请提供售后单号，例如：通过 AS260122-0001（发送「待办」查看等您处理的售后单）")
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
        try:
            async with self.db.session() as s:
                return await self._decide(s, case_no, actor, approve, reason, step_idx, response_code)
        except PhotoNeeded as e:  # the next photo the approver sends lands on this order
            async with self.db.session() as s:
                await set_focus(s, actor.user_id, e.order_id, self.clock.now())
            raise

    async def _decide(self, s: AsyncSession, case_no: str, actor: Actor, approve: bool, reason: str,
                      step_idx: int | None, response_code: str) -> Decision:
        case = await self.load(s, case_no)
        idx = case.current_step if step_idx is None else step_idx
        step = await self.check_pending(s, case, idx, actor)
        order = await s.get(Order, case.order_id, options=[selectinload(Order.tracking), selectinload(Order.lines)])
        assert order is not None  # cases cascade with their order
        if approve and step.require_photo and not await photos_since(s, order.id, step.opened_at):
            raise PhotoNeeded(f"「{step.name}」需要先上传照片：请直接在这里发送实物照片（会记到订单 "
                              f"{order.order_no} 上），再发送「通过 {case.case_no}」。", order.id)
        now = self.clock.now()
        # Compare-and-set: a concurrent or repeated press finds the step no longer pending.
        res = await s.execute(update(ApprovalStep).where(ApprovalStep.id == step.id, ApprovalStep.state == "pending")
                              .values(state="approved" if approve else "rejected", decided_at=now,
                                      decided_by=actor.user_id, decided_name=actor.name)
                              .execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            await s.refresh(case)
            for st in case.steps:
                await s.refresh(st)
            raise AlreadyDecided(self._decided_text(case, step))
        await s.refresh(step)
        await s.execute(update(DueItem).where(DueItem.ref.in_([step_ref(step.id, "lead"),
                                                               step_ref(step.id, "manager")]), DueItem.state == "due")
                        .values(state="cancelled", done_at=now).execution_options(synchronize_session=False))
        case.first_response_at = case.first_response_at or now
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
            await holds.release(s, order, "售后驳回", actor=actor, now=now, only=hold_reason(case),
                                wh=self.warehouse, board=self.orders.board)
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

    async def check_pending(self, s: AsyncSession, case: AfterSalesCase, idx: int, actor: Actor) -> ApprovalStep:
        """The step ``idx`` if it waits for ``actor``'s decision; a refusal otherwise."""
        if not 0 <= idx < len(case.steps):
            raise CaseNotFound(case.case_no)
        step = case.steps[idx]
        if step.state != "pending" or case.status != "open":
            raise AlreadyDecided(self._decided_text(case, step))
        if not self.may_decide(actor, step, self.config()):
            who = await names_of(s, step.assignees)
            lead = f"；超时后可由{self.orders.roles.label(step.lead_role)}处理" if step.lead_role else ""
            raise NotYourStep(f"售后单 {case.case_no} 当前步骤「{step.name}」由 {who} 审批{lead}，您不能处理。")
        return step

    @staticmethod
    def may_decide(actor: Actor, step: ApprovalStep, cfg: ApprovalConfig) -> bool:
        """Its approvers; once overdue, also the lead it escalated to (and the managers)."""
        if "admin" in actor.roles or actor.user_id in step.assignees:
            return True
        return step.escalated_at is not None and bool({step.lead_role, cfg.manager_role} & set(actor.roles))

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
        """The last approval: refund, linked shipment, hold released, the order moved where allowed."""
        cfg = self.config()
        kind = cfg.kind(case.kind)
        out = kind.outcome if kind else None
        case.status, case.closed_at, case.closed_by = "approved", now, actor.user_id
        await holds.release(s, order, "售后通过", actor=actor, now=now, only=hold_reason(case),
                            wh=self.warehouse, board=self.orders.board)
        parts = []
        by = dataclasses.replace(actor, check_roles=False)
        if out is None:
            return ""
        if out.refund and case.amount_fen:
            case.refund_fen = case.amount_fen
            parts.append(f"{case.kind} {fen_to_yuan(case.amount_fen)} 元已记入财务。")
        if out.shipment:
            new = await create_linked(s, self.orders, case, order, by, now, self.tz)
            parts.append(f"已建发货单 {new.order_no}（{new.status}）。")
        target = out.state if case.shipped else None
        wf = await self.orders.workflows.current(s)
        if out.cancel_if_full and not case.shipped and wf.definition.cancel \
                and await self.refunded(s, order.id, cfg) >= order.paid_fen:
            target = wf.definition.cancel.name
        if target:
            if target == order.status:
                parts.append(f"订单已在「{target}」。")
            elif target in wf.allowed(order.status):
                await self.orders.move(s, order, target, by, wf=wf, detail={"summary": case.case_no})
                parts.append(f"订单已转入「{target}」。")
            else:
                timeline.record(s, order_id=order.id, at=now, actor=actor.user_id, source=actor.source,
                                kind="aftersales_outcome",
                                detail={"actor_name": actor.name, "case_no": case.case_no,
                                        "summary": f"{case.case_no} 已通过；订单在「{order.status}」，"
                                                   f"不能转入「{target}」，状态不变"})
                parts.append(f"订单当前「{order.status}」不能转入「{target}」，已记在轨迹上。")
        return "".join(parts)


def _chain_of(cfg: ApprovalConfig, case: AfterSalesCase) -> tuple[StepDef, ...]:
    """The case's own steps (fixed when it opened) with deadlines and leads from today's config."""
    kind = cfg.kind(case.kind)
    conf = kind.chain(case.shipped) if kind else ()
    out = []
    for st in case.steps:
        sd = conf[st.idx] if st.idx < len(conf) and conf[st.idx].name == st.name else None
        out.append(StepDef(name=st.name, role=st.role, department=st.department,
                           hours=sd.hours if sd else None, lead_role=sd.lead_role if sd else None,
                           require_photo=st.require_photo))
    return tuple(out)
