"""How orders can enter each workflow state: a platform status mapped to it in
``channels.yaml``, a move from another state by the roles allowed into it, or being where
imports start. ``流程`` shows it and warns about a state nothing can enter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orders.intake.importer import DEFAULT_STATUS
from orders.workflow import WorkflowDef


@dataclass(frozen=True)
class Entry:
    state: str
    mapped: tuple[str, ...]  # "taobao status=WAIT_BUYER_PAY/FRONT_PAID_FINAL_NOPAID"
    from_states: tuple[str, ...]  # states that lead into it
    roles: tuple[str, ...]  # who may move an order into it (admins always)
    import_start: bool  # imports without a status start here

    @property
    def enterable(self) -> bool:
        return bool(self.mapped or self.import_start or (self.from_states and self.roles))


def mapped_statuses(channels: dict[str, Any], state: str) -> list[str]:
    """Platform codes mapped to ``state`` anywhere in channels.yaml (status maps of the APIs and exports)."""
    found: list[str] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*path, str(k)])
        elif (node == state or (isinstance(node, list) and state in node)) and len(path) >= 3 and \
                path[0] != "fields":
            where = path[1] if path[0] == "channels" else ".".join(path[:-2])
            found.append(f"{where} {path[-2]}={path[-1]}")

    walk(channels, [])
    return found


def entries(d: WorkflowDef, channels: dict[str, Any]) -> list[Entry]:
    out = []
    names = d.all_names
    for name in names:
        if d.cancel and name == d.cancel.name:
            continue
        froms = tuple(n for n in names if name in d.targets(n))
        out.append(Entry(state=name, mapped=tuple(mapped_statuses(channels, name)), from_states=froms,
                         roles=d.roles_into(name), import_start=name == DEFAULT_STATUS))
    return out


def warning(e: Entry, labels: dict[str, str]) -> str:
    """Why no order can enter ``e`` and how to fix it ("" when orders can)."""
    if e.enterable:
        return ""
    if not e.from_states:
        why = "它前面没有状态能推进到它（导入从「支付成功」开始）"
    else:
        why = f"只有管理员能把订单从「{'、'.join(e.from_states)}」推进到它"
    return (f"⚠️「{e.state}」目前没有订单能进入：{why}。请在 channels.yaml 把平台状态映射到它"
            f"（例如淘宝预售 定金已付 → {e.state}），或发送「流程 角色 {e.state} 角色」指定谁可以推进。")


def describe(e: Entry, labels: dict[str, str]) -> str:
    ways = []
    if e.import_start:
        ways.append("导入")
    if e.mapped:
        ways.append("平台状态 " + "、".join(e.mapped[:3]) + (" 等" if len(e.mapped) > 3 else ""))
    if e.from_states and e.roles:
        ways.append("、".join(labels.get(r, r) for r in e.roles) + "推进")
    return "进入：" + ("；".join(ways) if ways else "无")
