"""Run-time workflow edits: each saves a new version; the next command uses it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from orders.clock import Clock
from orders.db import Database
from orders.errors import WorkflowEditError
from orders.workflow import Workflow, WorkflowDef, WorkflowRegistry

# A capability's veto on an edit (e.g. the warehouse floor): raises WorkflowEditError naming the fix.
Check = Callable[[WorkflowDef], None]

log = logging.getLogger(__name__)


async def current(db: Database, registry: WorkflowRegistry) -> Workflow:
    async with db.session() as s:
        return await registry.current(s)


async def add_state(db: Database, registry: WorkflowRegistry, clock: Clock, *, name: str, anchor: str,
                    before: bool, actor: str, pass_through: bool = False, check: Check | None = None) -> Workflow:
    async with db.session() as s:
        wf = await registry.current(s)
        new = wf.definition.insert(name, anchor, before=before, pass_through=pass_through)
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
