"""Domain errors. Each carries the Chinese sentence shown to the chat user."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """A refusal the user should read. ``str(e)`` is the reply text (Simplified Chinese)."""


class OrderNotFound(DomainError):
    def __init__(self, query: str) -> None:
        super().__init__(f"没有找到订单「{query}」，请检查单号（可用完整单号或至少4位尾号）。")
        self.query = query


class AmbiguousOrder(DomainError):
    def __init__(self, query: str, order_nos: Sequence[str], more: bool) -> None:
        lines = [f"尾号「{query}」匹配到多个订单，请用完整单号再查："]
        lines += [f"{i}. {no}" for i, no in enumerate(order_nos, 1)]
        if more:
            lines.append("（只列出前10个，请输入更多位数）")
        super().__init__("\n".join(lines))
        self.order_nos = list(order_nos)


class IllegalTransition(DomainError):
    def __init__(self, order_no: str, current: str, target: str | None, allowed: Sequence[str]) -> None:
        allowed_text = "、".join(allowed) if allowed else "无（已是终态）"
        what = f"不能从「{current}」推进到「{target}」" if target else f"「{current}」没有下一步"
        super().__init__(f"订单 {order_no} {what}。当前可推进到：{allowed_text}")
        self.allowed = list(allowed)


class NotPermitted(DomainError):
    def __init__(self, action: str, roles: Sequence[str]) -> None:
        who = "、".join(roles) if roles else "管理员"
        super().__init__(f"您的角色不能{action}。可以操作的角色：{who}")
        self.roles = list(roles)


class StaleOrder(DomainError):
    def __init__(self, order_no: str, status: str) -> None:
        super().__init__(f"订单 {order_no} 刚被其他人更新，当前状态：{status}。请确认后再操作。")
        self.status = status


class InvalidInput(DomainError):
    pass


class WorkflowEditError(DomainError):
    pass
