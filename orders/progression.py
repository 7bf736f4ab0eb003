"""Moving an order to a state named by an outside party (a platform status, a carrier event):
through the workflow, step by step, each step a normal ``OrderService.move`` on the timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orders.models import Order
from orders.service import Actor, OrderService
from orders.workflow import Workflow


def path_to(wf: Workflow, current: str, target: str) -> list[str] | None:
    """States to pass through to reach ``target``: [] when already there, None when the workflow
    does not lead there (the hub is ahead of the outside party, or the target is behind)."""
    if current == target:
        return []
    allowed = wf.allowed(current)
    if target in allowed:
        return [target]
    d = wf.definition
    names = d.names
    # "closed" (the last state) before shipping is a cancellation in the hub's terms
    if d.cancel and names and target == names[-1] and d.cancel.name in allowed:
        return [d.cancel.name]
    if current in names and target in names and names.index(target) > names.index(current):
        steps = names[names.index(current) + 1:names.index(target) + 1]
        prev = current
        for st in steps:
            if st not in wf.allowed(prev):
                return None
            prev = st
        return steps
    return None


async def move_along(service: OrderService, s: AsyncSession, wf: Workflow, order: Order, target: str,
                     actor: Actor, detail: dict[str, Any] | None = None) -> list[str]:
    """Move ``order`` towards ``target``; returns the states entered ([] if none)."""
    steps = path_to(wf, order.status, target) or []
    for i, st in enumerate(steps):
        await service.move(s, order, st, actor, wf=wf, detail=detail, passing=i < len(steps) - 1)
    return steps
