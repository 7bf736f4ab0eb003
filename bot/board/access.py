"""Who may open which board page: the same roles as the chat commands behind them."""

from __future__ import annotations

from orders.models import User

WAREHOUSE_STAFF = ("warehouse", "warehouse_lead", "warehouse_temp")
PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (title, roles; admin always)
    "tasks": ("任务墙", (*WAREHOUSE_STAFF, "cs_lead", "ops", "manager")),
    "overdue": ("超时订单", ("cs_lead", "warehouse", "warehouse_lead", "ops", "manager")),
    "risk": ("风控", ("ops", "manager", "finance")),
    "regions": ("区域健康", ("manager", "ops", "cs_lead")),
    "customers": ("客户池", ("ops", "manager")),
    "collab": ("协作", ("manager",)),
    "order": ("订单", ("cs", "cs_lead", "warehouse", "warehouse_lead", "warehouse_temp", "finance", "ops", "manager")),
}
RISK_ACTORS = ("ops",)  # who may press 确认刷单 / 正常 (admin always)


def may_open(user: User, page: str) -> bool:
    return "admin" in user.roles or bool(set(user.roles) & set(PAGES[page][1]))


def may_act_on_risk(user: User) -> bool:
    return "admin" in user.roles or bool(set(user.roles) & set(RISK_ACTORS))


def only_own_tasks(user: User) -> bool:
    """A temp sees only their own cards (and only the orders on them)."""
    return "admin" not in user.roles and set(user.roles) <= {"warehouse_temp"}


def nav(user: User) -> list[tuple[str, str]]:
    return [(name, title) for name, (title, _) in PAGES.items() if name != "order" and may_open(user, name)]
