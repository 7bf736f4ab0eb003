"""Run-time workflow edits: each saves a new version; the next command uses it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from orders.clock import Clock
from orders.db import Database
from orders.errors import WorkflowEditError
from orders.workflow import MAX_STATE_NAME, StateDef, Workflow, WorkflowDef, WorkflowRegistry

# A capability's veto on an edit (e.g. the warehouse floor): raises WorkflowEditError naming the fix.
Check = Callable[[WorkflowDef], None]

log = logging.getLogger(__name__)


async def current(db: Database, registry: WorkflowRegistry) -> Workflow:
    async with db.session() as s:
        return await registry.current(s)


async def add_state(db: Database, registry: WorkflowRegistry, clock: Clock, *, name: str, anchor: str,
                    before: bool, actor: str, roles: tuple[str, ...] = (), pass_through: bool = False,
                    check: Check | None = None) -> Workflow:
    async with db.session() as s:
        wf = await registry.current(s)
        new = wf.definition.insert(name, anchor, before=before, roles=roles, pass_through=pass_through)
        if check is not None:
            check(new)
        where = "之前" if before else "之后"
        saved = await registry.save(s, new, actor=actor, note=f"加状态 {name} 在 {anchor} {where}", now=clock.now())
    log.info("workflow v%d: %s added %s %s %s", saved.version, actor, name, "before" if before else "after", anchor)
    return saved


async def remove_state(db: Database, registry: WorkflowRegistry, clock: Clock, *, name: str,
                       actor: str, check: Check | None = None) -> Workflow:
    async with db.session() as s:
        wf = await registry.current(s)
        new = wf.definition.remove(name)
        if check is not None:
            check(new)
        n = await registry.orders_in(s, name)
        if n:
            raise WorkflowEditError(f"「{name}」中还有 {n} 个订单，不能删除。请先把这些订单推进或取消。")
        saved = await registry.save(s, new, actor=actor, note=f"删状态 {name}", now=clock.now())
    log.info("workflow v%d: %s removed %s", saved.version, actor, name)
    return saved


def _check_name(d: WorkflowDef, name: str) -> None:
    name = name.strip()
    if not name or len(name) > MAX_STATE_NAME or any(c.isspace() for c in name):
        raise WorkflowEditError(f"状态名需为1到{MAX_STATE_NAME}个字且不含空格。")
    if name in d.all_names:
        raise WorkflowEditError(f"状态「{name}」已存在。")


def with_branch(d: WorkflowDef, name: str, froms: list[str], roles: tuple[str, ...]) -> WorkflowDef:
    _check_name(d, name)
    unknown = [f for f in froms if f not in d.names]
    if not froms or unknown:
        raise WorkflowEditError(f"分支要从主流程的状态进入，没有状态「{'、'.join(unknown) or '（空）'}」。"
                                f"现有状态：{'、'.join(d.names)}")
    new = dataclasses.replace(d, branches=(*d.branches, StateDef(name=name, roles=roles,
                                                                  branch_from=tuple(dict.fromkeys(froms)))))
    new.validate()
    return new


def with_limit(d: WorkflowDef, name: str, hours: float | None) -> WorkflowDef:
    if d.cancel and name == d.cancel.name:
        raise WorkflowEditError(f"「{name}」是取消状态，没有时限。")
    if d.state(name) is None:
        raise WorkflowEditError(f"没有状态「{name}」。现有状态：{'、'.join(d.all_names)}")
    return _replace_state(d, name, limit_hours=hours)


def with_roles(d: WorkflowDef, name: str, roles: tuple[str, ...]) -> WorkflowDef:
    if d.cancel and name == d.cancel.name:
        return dataclasses.replace(d, cancel=dataclasses.replace(d.cancel, roles=roles))
    if d.state(name) is None:
        raise WorkflowEditError(f"没有状态「{name}」。现有状态：{'、'.join(d.all_names)}")
    return _replace_state(d, name, roles=roles)


def _replace_state(d: WorkflowDef, name: str, **changes: Any) -> WorkflowDef:
    return dataclasses.replace(
        d, states=tuple(dataclasses.replace(s, **changes) if s.name == name else s for s in d.states),
        branches=tuple(dataclasses.replace(b, **changes) if b.name == name else b for b in d.branches))


async def edit(db: Database, registry: WorkflowRegistry, clock: Clock, *, actor: str, note: str,
               change: Callable[[WorkflowDef], WorkflowDef]) -> Workflow:
    """Apply ``change`` to the definition in force and save it as the next version."""
    async with db.session() as s:
        wf = await registry.current(s)
        saved = await registry.save(s, change(wf.definition), actor=actor, note=note, now=clock.now())
    log.info("workflow v%d: %s %s", saved.version, actor, note)
    return saved
