"""流程: show the workflow (with how orders enter each state, and warnings); admins add or remove
states and side branches, and set time limits and roles, at run time."""

from __future__ import annotations

import re

import cn2an

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.task_cards import warehouse_config
from orders import workflow_edit
from orders.errors import InvalidInput, NotPermitted
from orders.warehouse.flow import check_floor
from orders.workflow import Workflow
from orders.workflow_entry import entries, warning

ADD = re.compile(r"^加状态\s+(\S+)\s+在\s+(\S+?)\s*(之前|之后)(?:\s+角色\s+(\S+))?(?:\s*(直通))?$")
REMOVE = re.compile(r"^删状态\s+(\S+)$")
BRANCH = re.compile(r"^加分支\s+(\S+)\s+从\s+(\S+?)(?:\s*返回原状态)?(?:\s+角色\s+(\S+))?$")
LIMIT = re.compile(r"^时限\s+(\S+)\s+(\S+)$")
ROLES = re.compile(r"^角色\s+(\S+)\s+(\S+)$")
DURATION = re.compile(r"^(?P<n>[\d.零〇一二两三四五六七八九十百]+)\s*(?P<unit>小时|个小时|h|H|分钟|分|min|天|d)?$")
NONE_WORDS = ("无", "不限", "取消", "none")
UNIT_HOURS = {"小时": 1.0, "个小时": 1.0, "h": 1.0, "H": 1.0, "分钟": 1 / 60, "分": 1 / 60, "min": 1 / 60,
              "天": 24.0, "d": 24.0}
SPLIT = re.compile(r"[,，、/]+")
USAGE = ("用法：流程 | 流程 加状态 <名称> 在 <状态> 之前|之后 [角色 <角色,…>] [直通] | 流程 删状态 <名称> | "
         "流程 加分支 <名称> 从 <状态,…> 返回原状态 [角色 <角色,…>] | 流程 时限 <状态> <时长|无> | "
         "流程 角色 <状态> <角色,…|无>")


def describe(wf: Workflow, labels: dict[str, str], channels: dict[str, object]) -> str:
    d = wf.definition
    ents = {e.state: e for e in entries(d, channels)}

    def who(roles: tuple[str, ...]) -> str:
        return "、".join(labels.get(r, r) for r in roles) or "管理员"

    def extra(name: str, limit: float | None) -> str:
        e = ents.get(name)
        # how a state without roles is entered: the platform statuses mapped to it
        mapped = f"；平台状态 {'、'.join(e.mapped[:2])}" if e and e.mapped and not (e.roles or e.import_start) else ""
        return (f"，时限{limit:g}小时" if limit else "，无时限") + mapped

    lines = [f"当前流程（第 {wf.version} 版）："]
    for i, s in enumerate(d.states, 1):
        through = "，仓库按钮直通" if s.pass_through else ""
        lines.append(f"{i}. {s.name}（可推进者：{who(s.roles)}{extra(s.name, s.limit_hours)}{through}）")
    for b in d.branches:
        lines.append(f"分支：{b.name}（从 {'、'.join(b.branch_from)} 进入，返回原状态；可推进者：{who(b.roles)}"
                     f"{extra(b.name, b.limit_hours)}）")
    if d.cancel:
        lines.append(f"另：{d.cancel.name}（「{d.cancel.before}」之前可取消；{who(d.cancel.roles)}）")
    lines += [w for e in ents.values() if (w := warning(e, labels))]
    return "\n".join(lines)


def parse_hours(text: str) -> float | None:
    if text in NONE_WORDS:
        return None
    m = DURATION.match(text)
    if m is None:
        raise InvalidInput(f"时长「{text[:10]}」看不懂，例如：2小时、30分钟、1天，或「无」。")
    n = m.group("n")
    try:
        value = float(n) if re.fullmatch(r"\d+(\.\d+)?", n) else float(cn2an.cn2an(n, "smart"))
    except ValueError:
        raise InvalidInput(f"时长「{text[:10]}」看不懂，例如：2小时、30分钟、1天，或「无」。") from None
    hours = value * UNIT_HOURS[m.group("unit") or "小时"]
    if hours <= 0:
        raise InvalidInput("时限需大于0；不限时请写「无」。")
    return round(hours, 4)


def parse_roles(req: Request, text: str | None) -> tuple[str, ...]:
    if not text or text in NONE_WORDS or text == "管理员":
        return ()
    codes = []
    for word in (w for w in SPLIT.split(text) if w):
        code = req.app.roles.resolve(word)
        if code is None:
            known = "、".join(f"{n}({c})" for c, n in req.app.roles.names.items())
            raise InvalidInput(f"没有角色「{word[:16]}」。可用角色：{known}")
        codes.append(code)
    return tuple(dict.fromkeys(codes))


@registry.command("流程", roles=("cs_lead", "warehouse", "ops", "manager"),
                  summary="查看流程；管理员可加/删状态、加分支、改时限和角色",
                  example="流程 加分支 拦截中 从 拣货中,打包完成 返回原状态")
async def workflow(req: Request, args: str) -> list[Reply]:
    app = req.app
    channels = app.config.load("channels")
    if not args:
        wf = await workflow_edit.current(app.db, app.workflows)
        return [Reply(text=describe(wf, app.roles.names, channels))]
    if "admin" not in req.user.roles:
        raise NotPermitted("修改流程", [app.roles.label("admin")])
    who = req.user.user_id
    if m := ADD.match(args):
        wf = await workflow_edit.add_state(app.db, app.workflows, app.clock, name=m.group(1), anchor=m.group(2),
                                           before=m.group(3) == "之前", actor=who, roles=parse_roles(req, m.group(4)),
                                           pass_through=bool(m.group(5)),
                                           check=check_floor(warehouse_config(app), m.group(1)))
        done = f"✅ 已加状态「{m.group(1)}」（无时限，可用「流程 时限」设置），立即生效。"
    elif m := REMOVE.match(args):
        wf = await workflow_edit.remove_state(app.db, app.workflows, app.clock, name=m.group(1), actor=who,
                                              check=check_floor(warehouse_config(app)))
        done = f"✅ 已删除状态「{m.group(1)}」，立即生效。"
    elif m := BRANCH.match(args):
        name, froms, roles = m.group(1), [f for f in SPLIT.split(m.group(2)) if f], parse_roles(req, m.group(3))
        wf = await workflow_edit.edit(app.db, app.workflows, app.clock, actor=who, note=f"加分支 {name}",
                                      change=lambda d: workflow_edit.with_branch(d, name, froms, roles))
        done = f"✅ 已加分支「{name}」：从 {'、'.join(froms)} 进入，推进时返回原状态，立即生效。"
    elif m := LIMIT.match(args):
        name, hours = m.group(1), parse_hours(m.group(2))
        wf = await workflow_edit.edit(app.db, app.workflows, app.clock, actor=who, note=f"时限 {name} {hours}",
                                      change=lambda d: workflow_edit.with_limit(d, name, hours))
        done = f"✅「{name}」时限改为{f'{hours:g}小时' if hours else '无'}，立即生效。"
    elif m := ROLES.match(args):
        name, roles = m.group(1), parse_roles(req, m.group(2))
        wf = await workflow_edit.edit(app.db, app.workflows, app.clock, actor=who, note=f"角色 {name}",
                                      change=lambda d: workflow_edit.with_roles(d, name, roles))
        done = f"✅「{name}」可推进者改为{'、'.join(app.roles.labels(list(roles))) or '管理员'}，立即生效。"
    else:
        raise InvalidInput(USAGE)
    return [Reply(text=done + "\n" + describe(wf, app.roles.names, channels))]
