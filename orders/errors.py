"""Domain errors. Each carries the Chinese sentence shown to the chat user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


class DomainError(Exception):
    """A refusal the user should read. ``str(e)`` is the reply text (Simplified Chinese)."""


class OrderNotFound(DomainError):
    def __init__(self, query: str, *, short: bool = False) -> None:
        hint = ("至少4位尾号" if short else
                "完整单号、至少4位尾号、平台单号、手机号或尾号、买家姓名、运单号")
        super().__init__(f"没有找到订单「{query}」，请检查（可用{hint}）。")
        self.query = query


@dataclass(frozen=True)
class Candidate:
    """One line of a list to choose from."""

    order_no: str
    channel: str
    buyer: str  # masked
    paid_fen: int
    status: str
    created_at: datetime


class AmbiguousOrder(DomainError):
    """Several orders match: a numbered list (newest first, at most 10) the user answers with 1…10."""

    def __init__(self, query: str, candidates: Sequence[Candidate], total: int) -> None:
        self.query = query
        self.candidates = list(candidates)
        self.total = max(total, len(self.candidates))
        self.order_nos = [c.order_no for c in self.candidates]
        super().__init__(self.render())

    def render(self, tz: str = "Asia/Shanghai") -> str:
        from orders.labels import channel_name
        from orders.money import fen_to_yuan

        zone = ZoneInfo(tz)
        lines = [f"「{self.query}」匹配到多个订单（共 {self.total} 单），回复序号查看："]
        lines += [f"{i}. {c.order_no} {channel_name(c.channel)} {c.buyer} ￥{fen_to_yuan(c.paid_fen)} "
                  f"{c.status} {c.created_at.astimezone(zone):%m-%d}" for i, c in enumerate(self.candidates, 1)]
        if self.total > len(self.candidates):
            lines.append(f"（只列出最新的{len(self.candidates)}单，可输入更多位数、完整单号或手机号缩小范围）")
        return "\n".join(lines)


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
