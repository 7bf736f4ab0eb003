"""The warehouse config (``config/warehouse.yaml``) and who its leads are: the one place that says
which users hear of exception reports and of held packed parcels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orders.users import lead_role_of, users_with_roles


@dataclass(frozen=True)
class WarehouseConfig:
    auto_assign: bool = True
    assign_state: str = "仓库分单"
    on_duty: tuple[str, ...] = ()
    assignable_states: tuple[str, ...] = ("仓库分单",)
    pick_state: str = "拣货中"
    pack_state: str = "打包完成"
    leads_role: str = "warehouse"
    cards_per_request: int = 5
    scan_minutes: int = 10
    voice_minutes: int = 10

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarehouseConfig:
        return cls(
            auto_assign=bool(d.get("auto_assign", True)),
            assign_state=str(d.get("assign_state", "仓库分单")),
            on_duty=tuple(str(u) for u in d.get("on_duty") or ()),
            assignable_states=tuple(str(s) for s in d.get("assignable_states") or ("仓库分单",)),
            pick_state=str(d.get("pick_state", "拣货中")),
            pack_state=str(d.get("pack_state", "打包完成")),
            leads_role=str(d.get("leads_role", "warehouse")),
            cards_per_request=int(d.get("cards_per_request", 5)),
            scan_minutes=int(d.get("scan_minutes", 10)),
            voice_minutes=int(d.get("voice_minutes", 10)),
        )

    @property
    def lead_roles(self) -> tuple[str, ...]:
        """The warehouse leads' roles: ``leads_role`` and its department lead role
        (warehouse -> warehouse_lead, who acts wherever warehouse may)."""
        return self.leads_role, lead_role_of(self.leads_role)


DEFAULT = WarehouseConfig()  # for callers without the app's config (tests' bare services)


async def lead_ids(s: AsyncSession, wh: WarehouseConfig, *, but: str = "") -> list[str]:
    """The active warehouse leads (users with any of ``wh.lead_roles``), each once, without ``but``."""
    return [u.user_id for u in await users_with_roles(s, wh.lead_roles) if u.user_id != but]
