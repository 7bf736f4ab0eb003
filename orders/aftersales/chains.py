"""The after-sales approval chains from ``config/approvals.yaml`` (read when a case opens)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("退货", "换货", "补偿", "退款")


@dataclass(frozen=True)
class StepDef:
    name: str
    role: str
    department: str = ""
    hours: float | None = None
    submit: bool = False
    lead_role: str | None = None


@dataclass(frozen=True)
class Outcome:
    state: str | None = None
    refund: bool = False


def _steps(raw: list[dict[str, Any]]) -> tuple[StepDef, ...]:
    out = []
    for st in raw:
        out.append(StepDef(name=str(st["name"]), role=str(st["role"]), department=str(st.get("department") or ""),
                           hours=float(st["hours"]) if st.get("hours") is not None else None,
                           submit=bool(st.get("submit", False)), lead_role=st.get("lead_role")))
    if not out:
        raise ValueError("approvals.yaml: a chain needs at least one step")
    return tuple(out)


@dataclass(frozen=True)
class ApprovalConfig:
    chain: tuple[StepDef, ...]
    chains: dict[str, tuple[StepDef, ...]] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    default_hours: float = 4.0
    manager_after_hours: float = 4.0
    default_lead_role: str = "cs_lead"
    manager_role: str = "manager"
    misship_words: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalConfig:
        return cls(
            chain=_steps(data.get("chain") or []),
            chains={str(k): _steps(v) for k, v in (data.get("chains") or {}).items()},
            outcomes={str(k): Outcome(state=(v or {}).get("state"), refund=bool((v or {}).get("refund", False)))
                      for k, v in (data.get("outcomes") or {}).items()},
            default_hours=float(data.get("default_hours", 4)),
            manager_after_hours=float(data.get("manager_after_hours", 4)),
            default_lead_role=str(data.get("default_lead_role", "cs_lead")),
            manager_role=str(data.get("manager_role", "manager")),
            misship_words=tuple(str(w) for w in data.get("misship_words") or ()),
        )

    def chain_for(self, kind: str) -> tuple[StepDef, ...]:
        return self.chains.get(kind, self.chain)

    def hours(self, step: StepDef) -> float:
        return step.hours if step.hours is not None else self.default_hours

    def outcome(self, kind: str) -> Outcome:
        return self.outcomes.get(kind, Outcome())

    def is_misship(self, reason: str) -> bool:
        return any(w in reason for w in self.misship_words)
