"""The warehouse's part of the workflow: the states between 仓库分单 and 打包完成 must stay
reachable from a temp's card. A state in between either has its own button (its name: the card's
third button moves there when it is next) for roles that may enter it, or ``pass_through: true``
(the temp's buttons pass through it). An edit that would leave a temp with no way forward is
refused naming the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orders.errors import WorkflowEditError
from orders.models import Order
from orders.progression import path_to
from orders.service import Actor, OrderService
from orders.warehouse.config import WarehouseConfig
from orders.warehouse.tasks import TEMP_ROLE
from orders.workflow import Workflow, WorkflowDef
from orders.workflow_edit import Check

PACK_LABEL = "完成打包"


def floor_problem(d: WorkflowDef, cfg: WarehouseConfig, added: str = "") -> str:
    """Why ``d`` would break the floor ('' if it does not): a warehouse state gone, or the state
    just ``added`` between 仓库分单 and 打包完成 with no way for a temp through it."""
    names = d.names
    for needed in (cfg.assign_state, cfg.pick_state, cfg.pack_state):
        if needed not in names:
            return f"仓库流程需要状态「{needed}」（config/warehouse.yaml），不能删除它。"
    a, k = names.index(cfg.assign_state), names.index(cfg.pack_state)
    if not a < names.index(cfg.pick_state) < k:
        return f"仓库流程的顺序必须是 {cfg.assign_state} → {cfg.pick_state} → {cfg.pack_state}。"
    st = d.state(added) if added else None
    if st is None or not a < names.index(st.name) < k or st.pass_through or TEMP_ROLE in st.roles:
        return ""
    return (f"「{st.name}」在{cfg.assign_state}和{cfg.pack_state}之间，但仓库临时工不能推进到它，"
            "临时工的卡片按钮会卡住。"
            f"请加「直通」让按钮直接经过它，或给临时工角色：流程 加状态 {st.name} 在 <状态> 之前|之后 直通，"
            f"或 … 角色 {TEMP_ROLE},warehouse（卡片上会出现「{st.name}」按钮）。")


def check_floor(cfg: WarehouseConfig, added: str = "") -> Check:
    def check(d: WorkflowDef) -> None:
        problem = floor_problem(d, cfg, added)
        if problem:
            raise WorkflowEditError(problem)

    return check


def next_stop(d: WorkflowDef, status: str, cfg: WarehouseConfig) -> str:
    """Where the card's forward button goes from ``status``: the first state after it, up to the
    pack state, that is not passed through."""
    names = d.names
    if status not in names or cfg.pack_state not in names:
        return cfg.pack_state
    for st in d.states[names.index(status) + 1:names.index(cfg.pack_state)]:
        if not st.pass_through and st.name != cfg.pick_state:
            return st.name
    return cfg.pack_state


def forward_label(d: WorkflowDef, status: str, cfg: WarehouseConfig) -> str:
    """The card's third button: 完成打包, or the name of the state it moves to next."""
    stop = next_stop(d, status, cfg)
    return PACK_LABEL if stop == cfg.pack_state else stop


async def advance_to(service: OrderService, s: AsyncSession, order: Order, target: str, actor: Actor,
                     wf: Workflow, detail: dict[str, Any] | None = None) -> None:
    """Move ``order`` to ``target`` through the states between (each on the timeline); a state
    passed on the way is entered with the temp's button's authority (it has no button itself)."""
    steps = path_to(wf, order.status, target) or [target]
    for i, st in enumerate(steps):
        last = i == len(steps) - 1
        sd = wf.definition.state(st)
        # a passed state may have no roles of its own (admins only): the button's authority carries it
        extra = (sd.roles or ("admin",)) if sd is not None and not last else ()
        who = dataclasses.replace(actor, roles=(*actor.roles, *extra)) if extra else actor
        await service.move(s, order, st, who, wf=wf, detail=detail, passing=not last)
