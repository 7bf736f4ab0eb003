"""The order workflow: a definition (from YAML, versioned in the database) compiled into a
python-statemachine class. Editing produces a new definition and a new class; the registry
swaps it in, so the very next command uses it without a restart."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from statemachine import StateChart
from statemachine.exceptions import TransitionNotAllowed
from statemachine.io import create_machine_class_from_definition

from orders import versions
from orders.errors import WorkflowEditError
from orders.models import Order, WorkflowVersion

MAX_STATE_NAME = 16


@dataclass(frozen=True)
class Notify:
    template: str
    role: str | None = None
    owner: bool = False


@dataclass(frozen=True)
class StateDef:
    name: str
    roles: tuple[str, ...] = ()
    limit_hours: float | None = None
    notify: tuple[Notify, ...] = ()
    skip_to: tuple[str, ...] = ()
    # The warehouse temps' card buttons pass through this state on their way (no button of its own).
    pass_through: bool = False
    # A side branch (拦截中, 缺货挂起): entered from any of these main states, it leads back to
    # the state the order came from (orders.workflow_branches.branch_origin), not forward.
    branch_from: tuple[str, ...] = ()
    department: str = ""  # the department that owns orders in this state (collaboration map)


@dataclass(frozen=True)
class CancelDef:
    name: str
    before: str
    roles: tuple[str, ...] = ()
    notify: tuple[Notify, ...] = ()


def _notifies(raw: list[dict[str, Any]] | None) -> tuple[Notify, ...]:
    out = []
    for n in raw or []:
        out.append(Notify(template=str(n["template"]), role=n.get("role"), owner=bool(n.get("owner", False))))
    return tuple(out)


@dataclass(frozen=True)
class WorkflowDef:
    states: tuple[StateDef, ...]
    cancel: CancelDef | None
    name: str = "default"
    branches: tuple[StateDef, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkflowDef:
        states = tuple(
            StateDef(
                name=str(s["name"]),
                roles=tuple(s.get("roles") or ()),
                limit_hours=s.get("limit_hours"),
                notify=_notifies(s.get("notify")),
                skip_to=tuple(s.get("skip_to") or ()),
                department=str(s.get("department") or ""),
                pass_through=bool(s.get("pass_through", False)),
            )
            for s in data["states"]
        )
        branches = tuple(
            StateDef(name=str(b["name"]), roles=tuple(b.get("roles") or ()), limit_hours=b.get("limit_hours"),
                     notify=_notifies(b.get("notify")), branch_from=tuple(str(f) for f in b.get("from") or ()),
                     department=str(b.get("department") or ""))
            for b in data.get("branches") or ()
        )
        c = data.get("cancel")
        cancel = (
            CancelDef(
                name=str(c["name"]),
                before=str(c["before"]),
                roles=tuple(c.get("roles") or ()),
                notify=_notifies(c.get("notify")),
            )
            if c
            else None
        )
        wf = cls(states=states, cancel=cancel, name=str(data.get("name", "default")), branches=branches)
        wf.validate()
        return wf

    def to_dict(self) -> dict[str, Any]:
        def notes(ns: tuple[Notify, ...]) -> list[dict[str, Any]]:
            return [
                {k: v for k, v in (("template", n.template), ("role", n.role), ("owner", n.owner)) if v}
                for n in ns
            ]

        states = []
        for s in self.states:
            d: dict[str, Any] = {"name": s.name}
            if s.roles:
                d["roles"] = list(s.roles)
            if s.limit_hours is not None:
                d["limit_hours"] = s.limit_hours
            if s.notify:
                d["notify"] = notes(s.notify)
            if s.skip_to:
                d["skip_to"] = list(s.skip_to)
            if s.department:
                d["department"] = s.department
            if s.pass_through:
                d["pass_through"] = True
            states.append(d)
        out: dict[str, Any] = {"name": self.name, "states": states}
        if self.branches:
            out["branches"] = []
            for b in self.branches:
                d = {"name": b.name, "from": list(b.branch_from), "roles": list(b.roles)}
                if b.limit_hours is not None:
                    d["limit_hours"] = b.limit_hours
                if b.notify:
                    d["notify"] = notes(b.notify)
                if b.department:
                    d["department"] = b.department
                out["branches"].append(d)
        if self.cancel:
            out["cancel"] = {
                "name": self.cancel.name,
                "before": self.cancel.before,
                "roles": list(self.cancel.roles),
                "notify": notes(self.cancel.notify),
            }
        return out

    # -- queries ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [s.name for s in self.states]

    @property
    def all_names(self) -> list[str]:
        return self.names + [b.name for b in self.branches] + ([self.cancel.name] if self.cancel else [])

    def branch(self, name: str) -> StateDef | None:
        return next((b for b in self.branches if b.name == name), None)

    @property
    def initial(self) -> str:
        return self.states[0].name

    def state(self, name: str) -> StateDef | None:
        return next((s for s in self.states if s.name == name), None) or self.branch(name)

    def targets(self, name: str) -> list[str]:
        """Every state an order in ``name`` may move to, the natural next one first (a side
        branch: back to the states it is entered from; the service allows only the origin)."""
        names = self.names
        br = self.branch(name)
        if br is not None:
            out = list(br.branch_from)
            if self.cancel and self.cancel.before in names and all(
                    names.index(f) < names.index(self.cancel.before) for f in br.branch_from):
                out.append(self.cancel.name)
            return out
        if name not in names:
            return []
        i = names.index(name)
        out = [names[i + 1]] if i + 1 < len(names) else []
        st = self.states[i]
        out += [t for t in st.skip_to if t in names and names.index(t) > i + 1]
        out += [b.name for b in self.branches if name in b.branch_from]
        if self.cancel and self.cancel.before in names and i < names.index(self.cancel.before):
            out.append(self.cancel.name)
        return out

    def roles_into(self, target: str) -> tuple[str, ...]:
        if self.cancel and target == self.cancel.name:
            return self.cancel.roles
        st = self.state(target)
        return st.roles if st else ()

    def notifies_into(self, target: str) -> tuple[Notify, ...]:
        if self.cancel and target == self.cancel.name:
            return self.cancel.notify
        st = self.state(target)
        return st.notify if st else ()

    def validate(self) -> None:
        names = self.all_names
        if not self.states:
            raise WorkflowEditError("流程至少需要一个状态。")
        if len(set(names)) != len(names):
            raise WorkflowEditError("流程中有重名的状态。")
        if self.cancel and self.cancel.before not in self.names:
            raise WorkflowEditError(f"取消规则引用了不存在的状态「{self.cancel.before}」。")
        for b in self.branches:
            if not b.branch_from or any(f not in self.names for f in b.branch_from):
                raise WorkflowEditError(f"分支「{b.name}」需从主流程的状态进入（现有状态：{'、'.join(self.names)}）。")

    # -- edits (return a new definition) ----------------------------------------------------
    def insert(self, name: str, anchor: str, *, before: bool, roles: tuple[str, ...] = (),
               pass_through: bool = False) -> WorkflowDef:
        """A new state beside ``anchor``: who may move orders into it is ``roles`` (none: admins
        only, until set), and it has no time limit until one is set. ``pass_through``: the
        warehouse temps' buttons pass through it (orders/warehouse/flow.py)."""
        name = name.strip()
        if not name or len(name) > MAX_STATE_NAME or any(c.isspace() for c in name):
            raise WorkflowEditError(f"状态名需为1到{MAX_STATE_NAME}个字且不含空格。")
        if name in self.all_names:
            raise WorkflowEditError(f"状态「{name}」已存在。")
        if anchor not in self.names:
            raise WorkflowEditError(f"没有状态「{anchor}」。现有状态：{'、'.join(self.names)}")
        i = self.names.index(anchor)
        new = StateDef(name=name, roles=roles, pass_through=pass_through)
        states = list(self.states)
        states.insert(i if before else i + 1, new)
        wf = WorkflowDef(states=tuple(states), cancel=self.cancel, name=self.name, branches=self.branches)
        wf.validate()
        return wf

    def remove(self, name: str) -> WorkflowDef:
        if self.cancel and name == self.cancel.name:
            raise WorkflowEditError(f"「{name}」是取消状态，不能删除。")
        if self.branch(name) is not None:
            return dataclasses.replace(self, branches=tuple(b for b in self.branches if b.name != name))
        for b in self.branches:
            if b.branch_from == (name,):
                raise WorkflowEditError(f"分支「{b.name}」只能从「{name}」进入，请先删除分支「{b.name}」。")
        if name not in self.names:
            raise WorkflowEditError(f"没有状态「{name}」。现有状态：{'、'.join(self.names)}")
        if len(self.states) == 1:
            raise WorkflowEditError("不能删除最后一个状态。")
        i = self.names.index(name)
        states = [
            dataclasses.replace(s, skip_to=tuple(t for t in s.skip_to if t != name))
            for s in self.states
            if s.name != name
        ]
        branches = tuple(dataclasses.replace(b, branch_from=tuple(f for f in b.branch_from if f != name))
                         for b in self.branches)
        cancel = self.cancel
        if cancel and cancel.before == name:
            # keep the same boundary: the state that followed the removed one
            cancel = CancelDef(cancel.name, self.names[i + 1] if i + 1 < len(self.names) else states[-1].name,
                               cancel.roles, cancel.notify)
        wf = WorkflowDef(states=tuple(states), cancel=cancel, name=self.name, branches=branches)
        wf.validate()
        return wf


def event_id(target: str) -> str:
    return f"to_{target}"


class _Row:
    def __init__(self, status: str) -> None:
        self.status = status


class Workflow:
    """A definition at one version plus the state machine class compiled from it."""

    def __init__(self, definition: WorkflowDef, version: int) -> None:
        self.definition = definition
        self.version = version
        self.machine_class = self._compile(definition)

    @staticmethod
    def _compile(d: WorkflowDef) -> type[StateChart]:
        states: dict[str, Any] = {}
        for i, name in enumerate(d.all_names):
            spec: dict[str, Any] = {}
            if i == 0:
                spec["initial"] = True
            targets = d.targets(name)
            if targets:
                spec["on"] = {event_id(t): [{"target": t}] for t in targets}
            else:
                spec["final"] = True
            states[name] = spec
        return create_machine_class_from_definition(
            f"OrderWorkflowV{id(d)}",
            states,
            allow_event_without_transition=False,
            catch_errors_as_events=False,
        )

    def allowed(self, status: str) -> list[str]:
        if status not in self.definition.all_names:
            return []
        sm = self.machine_class(model=_Row(status), state_field="status")
        return [e.id.removeprefix("to_") for e in sm.allowed_events]

    def move(self, status: str, target: str) -> str:
        """Run the transition on the machine; returns the new state or raises TransitionNotAllowed."""
        if status not in self.definition.all_names or target not in self.definition.all_names:
            raise TransitionNotAllowed(None, None)  # type: ignore[arg-type]
        row = _Row(status)
        sm = self.machine_class(model=row, state_field="status")
        sm.send(event_id(target))
        return row.status

    def next_state(self, status: str) -> str | None:
        t = self.definition.targets(status)
        if not t or (self.definition.cancel and t[0] == self.definition.cancel.name):
            return None
        return t[0]

    def mermaid(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {self.definition.initial}"]
        for name in self.definition.all_names:
            for t in self.definition.targets(name):
                lines.append(f"    {name} --> {t}")
        return "\n".join(lines)


class WorkflowRegistry:
    """Holds the compiled workflow in force; reloads when the database has a newer version."""

    def __init__(self, default: WorkflowDef) -> None:
        self._default = default
        self._current: Workflow | None = None
        self._stamp: int | None = None  # the "workflow" counter (orders.versions) _current was checked at

    async def current(self, session: AsyncSession) -> Workflow:
        batch = versions.of_batch()  # in a batch of messages: no query while the counter stands
        stamp = batch.get("workflow") if batch is not None else None
        if stamp is not None and self._current is not None and stamp == self._stamp:
            return self._current
        self._stamp = stamp
        latest = await session.scalar(select(func.max(WorkflowVersion.version)))
        if latest is None:
            if self._current is None or self._current.version != 0:
                self._current = Workflow(self._default, 0)
            return self._current
        if self._current is None or self._current.version != latest:
            row = await session.scalar(select(WorkflowVersion).where(WorkflowVersion.version == latest))
            assert row is not None
            self._current = Workflow(WorkflowDef.from_dict(copy.deepcopy(row.definition)), latest)
        return self._current

    async def save(self, session: AsyncSession, new: WorkflowDef, *, actor: str, note: str, now: Any) -> Workflow:
        cur = await self.current(session)
        version = cur.version + 1
        session.add(
            WorkflowVersion(version=version, definition=new.to_dict(), created_at=now, created_by=actor, note=note)
        )
        await session.flush()  # a concurrent save of the same version fails on the unique key
        self._current = Workflow(new, version)
        self._stamp = None  # checked again next time (the save may yet roll back)
        return self._current

    async def orders_in(self, session: AsyncSession, state: str) -> int:
        return int(await session.scalar(select(func.count()).select_from(Order).where(Order.status == state)) or 0)
