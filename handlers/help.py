"""帮助: the commands this caller may use, one example each."""

from __future__ import annotations

from bot.dispatch import Request, may_run
from bot.types import Reply
from handlers.query import KEY_EXAMPLES
from handlers.registry import registry

ALL_ROLES = ("cs", "cs_lead", "warehouse", "warehouse_temp", "finance", "ops", "manager")


@registry.command("帮助", roles=ALL_ROLES, summary="列出您可用的命令", example="帮助", aliases=("help", "?", "？"))
async def help_(req: Request, args: str) -> list[Reply]:
    mine = [c for c in registry.commands.values() if may_run(req.app, req.user, c)]
    roles = "、".join(req.app.roles.labels(req.user.roles))
    lines = [f"{req.user.name}（{roles}）可用的命令："]
    lines += [f"· {c.name}：{c.summary}\n  例：{c.example}" + _more(c.name) for c in mine]
    return [Reply(text="\n".join(lines))]


def _more(name: str) -> str:
    """查's other keys: platform id (or 尾号), mobile (full, masked), name, tracking (or suffix)."""
    return f"\n  也可：{'、'.join(KEY_EXAMPLES)}" if name == "查" else ""
