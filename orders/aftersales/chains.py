"""After-sales types and their approval chains from ``config/approvals.yaml`` (read when a case
opens): each type has aliases, an amount rule, a chain for unshipped and for shipped orders,
and an outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orders.aftersales.hours import BusinessHours


@dataclass(frozen=True)
class StepDef:
    name: str
    role: str
    department: str = ""
    hours: float | None = None
    submit: bool = False
    lead_role: str | None = None
    require_photo: bool = False


@dataclass(frozen=True)
class Outcome:
    state: str | None = None  # order state to move into (shipped orders), when the workflow allows
    refund: bool = False  # the amount counts as money refunded
    shipment: bool = False  # create a linked shipment order entering the warehouse
    cancel_if_full: bool = False  # unshipped order refunded in full: cancel it


@dataclass(frozen=True)
class TypeDef:
    name: str
    aliases: tuple[str, ...] = ()
    amount: str = "required"  # required | none
    unshipped: tuple[StepDef, ...] = ()
    shipped: tuple[StepDef, ...] = ()
    outcome: Outcome = Outcome()
    hold_unshipped: bool = False  # hold the order for the warehouse while the case is open

    def chain(self, shipped: bool) -> tuple[StepDef, ...]:
        return self.shipped if shipped else self.unshipped


def _steps(raw: list[dict[str, Any]] | None) -> tuple[StepDef, ...]:
    out = []
    for st in raw or []:
        out.append(StepDef(name=str(st["name"]), role=str(st["role"]), department=str(st.get("department") or ""),
                           hours=float(st["hours"]) if st.get("hours") is not None else None,
                           submit=bool(st.get("submit", False)), lead_role=st.get("lead_role"),
                           require_photo=bool(st.get("require_photo", False))))
    return tuple(out)


def _type(name: str, raw: dict[str, Any]) -> TypeDef:
    chains = raw.get("chains") or {}
    both = _steps(chains.get("all")) if chains.get("all") else ()
    o = raw.get("outcome") or {}
    t = TypeDef(name=name, aliases=tuple(str(a) for a in raw.get("aliases") or ()),
                amount=str(raw.get("amount", "required")),
                unshipped=_steps(chains.get("unshipped")) or both, shipped=_steps(chains.get("shipped")) or both,
                outcome=Outcome(state=o.get("state"), refund=bool(o.get("refund", False)),
                                shipment=bool(o.get("shipment", False)),
                                cancel_if_full=bool(o.get("cancel_if_full", False))),
                hold_unshipped=bool(raw.get("hold_unshipped", False)))
    if t.amount not in ("required", "none"):
        raise ValueError(f"approvals.yaml: type {name}: amount must be required or none")
    if not t.shipped and not t.unshipped:
        raise ValueError(f"approvals.yaml: type {name} needs a chain")
    return t


@dataclass(frozen=True)
class ApprovalConfig:
    types: dict[str, TypeDef]
    default_hours: float = 4.0
    manager_after_hours: float = 4.0
    default_lead_role: str = "cs_lead"
    manager_role: str = "manager"
    shipped_from: str = "物流揽收"
    misship_words: tuple[str, ...] = ()
    hours_cal: BusinessHours = field(default_factory=BusinessHours)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalConfig:
        types = {str(k): _type(str(k), v or {}) for k, v in (data.get("types") or {}).items()}
        if not types:
            raise ValueError("approvals.yaml: no types")
        return cls(
            types=types,
            default_hours=float(data.get("default_hours", 4)),
            manager_after_hours=float(data.get("manager_after_hours", 4)),
            default_lead_role=str(data.get("default_lead_role", "cs_lead")),
            manager_role=str(data.get("manager_role", "manager")),
            shipped_from=str(data.get("shipped_from", "物流揽收")),
            misship_words=tuple(str(w) for w in data.get("misship_words") or ()),
            hours_cal=BusinessHours.from_dict(data.get("business_hours") or {}),
        )

    def resolve(self, word: str) -> TypeDef | None:
        """A type from its name or one of its aliases."""
        if word in self.types:
            return self.types[word]
        return next((t for t in self.types.values() if word in t.aliases), None)

    def type_words(self) -> str:
        return "、".join(self.types)

    def kind(self, name: str) -> TypeDef | None:
        return self.types.get(name) or self.resolve(name)

    def hours(self, step: StepDef) -> float:
        return step.hours if step.hours is not None else self.default_hours

    def is_misship(self, reason: str) -> bool:
        return any(w in reason for w in self.misship_words)
