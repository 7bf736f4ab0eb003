"""Users and roles: the users table, seeded from ``config/users.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.errors import InvalidInput
from orders.models import User


@dataclass(frozen=True)
class RoleBook:
    """Role codes with their Chinese names, and per-command permission overrides."""

    names: dict[str, str]
    permissions: dict[str, tuple[str, ...]]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoleBook:
        return cls(
            names={str(k): str(v) for k, v in (data.get("roles") or {}).items()},
            permissions={str(k): tuple(v or ()) for k, v in (data.get("permissions") or {}).items()},
        )

    def label(self, code: str) -> str:
        return self.names.get(code, code)

    def labels(self, codes: tuple[str, ...] | list[str]) -> list[str]:
        return [self.label(c) for c in codes]

    def resolve(self, word: str) -> str | None:
        """A role code from its code or Chinese name."""
        if word in self.names:
            return word
        return next((c for c, n in self.names.items() if n == word), None)


def has_any_role(user: User, roles: tuple[str, ...] | list[str]) -> bool:
    return "admin" in user.roles or any(r in user.roles for r in roles)


async def get_user(session: AsyncSession, user_id: str) -> User | None:
    u = await session.get(User, user_id)
    return u if u is not None and u.active else None


async def find_user(session: AsyncSession, user_id: str) -> User | None:
    """A user row, active or not."""
    return await session.get(User, user_id)


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.user_id))).all())


async def users_with_role(session: AsyncSession, role: str, department: str | None = None) -> list[User]:
    return await users_with_roles(session, (role,), department)


async def users_with_roles(session: AsyncSession, roles: tuple[str, ...] | list[str],
                           department: str | None = None) -> list[User]:
    """Active users holding any of ``roles``, each once."""
    rows = (await session.scalars(select(User).where(User.active.is_(True)))).all()
    return [u for u in rows if any(r in u.roles for r in roles) and (department is None or u.department == department)]


def lead_role_of(role: str) -> str:
    """A department role's lead role, by the roles.yaml naming: warehouse -> warehouse_lead."""
    return f"{role}_lead"


async def names_of(s: AsyncSession, ids: list[str]) -> str:
    """Display names for user ids, joined with 、 (unknown ids shown as they are)."""
    users = {u.user_id: u.name for u in (await s.scalars(select(User).where(User.user_id.in_(ids)))).all()}
    return "、".join(users.get(i, i) for i in ids)


async def upsert_user(
    session: AsyncSession,
    book: RoleBook,
    *,
    user_id: str,
    name: str | None,
    roles: list[str] | None,
    department: str | None,
    now: datetime,
) -> User:
    if not user_id or len(user_id) > 64 or any(c.isspace() for c in user_id):
        raise InvalidInput("用户ID需为1到64个字符且不含空格。")
    codes: list[str] | None = None
    if roles is not None:
        codes = []
        for r in roles:
            code = book.resolve(r)
            if code is None:
                known = "、".join(f"{n}({c})" for c, n in book.names.items())
                raise InvalidInput(f"没有角色「{r}」。可用角色：{known}")
            codes.append(code)
    user = await session.get(User, user_id)
    if user is None:
        if not name or not codes:
            raise InvalidInput("新用户需要姓名和至少一个角色。")
        user = User(user_id=user_id, name=name, department=department or "", roles=codes, active=True,
                    created_at=now)
        session.add(user)
    else:
        if name:
            user.name = name
        if codes is not None:
            user.roles = codes
        if department is not None:
            user.department = department
        user.active = True
    return user


async def sync_users(session: AsyncSession, book: RoleBook, data: dict[str, Any], now: datetime) -> int:
    """Add users from YAML that the database does not have yet. Returns how many were added."""
    added = 0
    for u in data.get("users") or []:
        if await session.get(User, str(u["userid"])) is None:
            await upsert_user(session, book, user_id=str(u["userid"]), name=str(u["name"]),
                              roles=list(u.get("roles") or []), department=u.get("department"), now=now)
            added += 1
    return added
