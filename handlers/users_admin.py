"""用户: admins list users, add one, or set roles."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from orders.errors import InvalidInput
from orders.textnorm import split_list
from orders.users import find_user, list_users, upsert_user

USAGE = ("用法：用户 | 用户 添加 <账号> <姓名> <角色[,角色]> [部门] | 用户 角色 <账号> <角色[,角色]>\n"
         "角色可写代码或中文名，如 cs 或 客服")


@registry.command("用户", roles=(), summary="用户管理（管理员）", example="用户 添加 zhangsan 张三 客服 客服部")
async def users(req: Request, args: str) -> list[Reply]:
    app = req.app
    parts = args.split()
    if not parts:
        async with app.db.session() as s:
            rows = await list_users(s)
        lines = [f"共 {len(rows)} 个用户："]
        lines += [f"{u.user_id} {u.name} {u.department or '-'} {'、'.join(app.roles.labels(u.roles))}"
                  + ("" if u.active else "（停用）") for u in rows[:100]]
        return [Reply(text="\n".join(lines))]
    if parts[0] == "添加" and len(parts) in (4, 5):
        async with app.db.session() as s:
            u = await upsert_user(s, app.roles, user_id=parts[1], name=parts[2], roles=split_list(parts[3]),
                                  department=parts[4] if len(parts) == 5 else None, now=app.clock.now())
        return [Reply(text=f"✅ 用户 {u.user_id}（{u.name}）：{'、'.join(app.roles.labels(u.roles))}")]
    if parts[0] == "角色" and len(parts) == 3:
        async with app.db.session() as s:
            if await find_user(s, parts[1]) is None:
                raise InvalidInput(f"没有用户「{parts[1]}」。")
            u = await upsert_user(s, app.roles, user_id=parts[1], name=None, roles=split_list(parts[2]),
                                  department=None, now=app.clock.now())
        return [Reply(text=f"✅ 用户 {u.user_id} 的角色已设为：{'、'.join(app.roles.labels(u.roles))}")]
    raise InvalidInput(USAGE)
