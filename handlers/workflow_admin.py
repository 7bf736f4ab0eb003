"""流程: show the workflow; admins add or remove states at run time."""

from __future__ import annotations

import re

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.task_cards import warehouse_config
from orders import workflow_edit
from orders.errors import InvalidInput, NotPermitted
from orders.warehouse.flow import check_floor
from orders.workflow import Workflow

ADD = re.compile(r"^加状态\s+(\S+)\s+在\s+(\S+?)\s*(之前|之后)(?:\s*(直通))?$")
REMOVE = re.compile(r"^删状态\s+(\S+)$")
USAGE = "用法：流程 | 流程 加状态 <名称> 在 <状态> 之前|之后 [直通] | 流程 删状态 <名称>"


def describe(wf: Workflow, labels: dict[str, str]) -> str:
    d = wf.definition
    lines = [f"当前流程（第 {wf.version} 版）："]
    for i, s in enumerate(d.states, 1):
        who = "、".join(labels.get(r, r) for r in s.roles) or "管理员"
        limit = f"，时限{s.limit_hours:g}小时" if s.limit_hours else ""
        through = "，仓库按钮直通" if s.pass_through else ""
        lines.append(f"{i}. {s.name}（可推进者：{who}{limit}{through}）")
    if d.cancel:
        who = "、".join(labels.get(r, r) for r in d.cancel.roles) or "管理员"
        lines.append(f"另：{d.cancel.name}（「{d.cancel.before}」之前可取消；{who}）")
    return "\n".join(lines)


@registry.command("流程", roles=("cs_lead", "warehouse", "ops", "manager"), summary="查看流程；管理员可加/删状态",
                  example="流程 加状态 预售定金锁定 在 支付成功 之前")
async def workflow(req: Request, args: str) -> list[Reply]:
    app = req.app
    if not args:
        wf = await workflow_edit.current(app.db, app.workflows)
        return [Reply(text=describe(wf, app.roles.names))]
    if "admin" not in req.user.roles:
        raise NotPermitted("修改流程", [app.roles.label("admin")])
    if m := ADD.match(args):
        wf = await workflow_edit.add_state(app.db, app.workflows, app.clock, name=m.group(1), anchor=m.group(2),
                                           before=m.group(3) == "之前", actor=req.user.user_id,
                                           pass_through=bool(m.group(4)), check=check_floor(warehouse_config(app)))
        return [Reply(text=f"✅ 已加状态「{m.group(1)}」，立即生效。\n" + describe(wf, app.roles.names))]
    if m := REMOVE.match(args):
        wf = await workflow_edit.remove_state(app.db, app.workflows, app.clock, name=m.group(1),
                                              actor=req.user.user_id, check=check_floor(warehouse_config(app)))
        return [Reply(text=f"✅ 已删除状态「{m.group(1)}」，立即生效。\n" + describe(wf, app.roles.names))]
    raise InvalidInput(USAGE)
