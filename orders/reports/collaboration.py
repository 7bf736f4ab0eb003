"""Cross-department collaboration: interruptions (跨部门协作中断) and handoff waits, from the order
look-ups (``order_asks``) and the timeline's state changes. Vectorised pandas/numpy.

Rule (``config/collaboration.yaml``, also in the README): each workflow state names its owning
department (``department:`` in workflow.yaml). A look-up (查 / 轨迹) is an **interruption** when
the asker's department is known, differs from the owner of the state the order was in, and either
the order was past that state's time limit at the time, or the same order had been looked up
(by anyone) within the previous ``repeat_minutes``. Look-ups inside one department never count.

A **handoff** is a state change into a state owned by another department than the state left;
its **wait** is the time until the order's next state change (open handoffs are not counted).
Waits are grouped by the local weekday and hour the handoff happened (median minutes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Executable, case, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders import deferred
from orders.app import App, AppKey
from orders.db import Database
from orders.models import TimelineEvent, User
from orders.reports.models import OrderAsk
from orders.workflow import WorkflowDef

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
ASK_COLUMNS = ("order_id", "department", "owner", "limit_hours", "state_since", "at")
MOVE_COLUMNS = ("order_id", "at", "from_dept", "to_dept")


@dataclass(frozen=True)
class CollabConfig:
    commands: tuple[str, ...] = ("查", "轨迹")
    repeat_minutes: float = 60
    count_overdue: bool = True
    role_departments: dict[str, str] = field(default_factory=dict)
    cs_roles: tuple[str, ...] = ("cs", "cs_lead")
    map_days: int = 7

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CollabConfig:
        return cls(commands=tuple(str(c) for c in d.get("commands") or ("查", "轨迹")),
                   repeat_minutes=float(d.get("repeat_minutes", 60)), count_overdue=bool(d.get("overdue", True)),
                   role_departments={str(k): str(v) for k, v in (d.get("role_departments") or {}).items()},
                   cs_roles=tuple(str(r) for r in d.get("cs_roles") or ("cs", "cs_lead")),
                   map_days=int(d.get("map_days", 7)))

    def department(self, user: User) -> str:
        """The user's department, else the one their first mapped role belongs to."""
        if user.department:
            return user.department
        return next((self.role_departments[r] for r in user.roles or [] if r in self.role_departments), "")


COLLAB_CONFIG: AppKey[CollabConfig] = AppKey("collaboration_config", CollabConfig)
DEFAULT_WORKFLOW: AppKey[WorkflowDef] = AppKey("workflow_yaml", WorkflowDef)  # departments by state name


def collab_config(app: App) -> CollabConfig:
    return app.cached(COLLAB_CONFIG, lambda: CollabConfig.from_dict(app.config.load("collaboration")))


def owners(wf: WorkflowDef, fallback: WorkflowDef | None = None) -> dict[str, str]:
    """State → owning department (the definition in force, else the YAML default by name)."""
    out = {s.name: s.department for s in (*fallback.states, *fallback.branches) if s.department} if fallback else {}
    out.update({s.name: s.department for s in (*wf.states, *wf.branches) if s.department})
    return out


async def record_ask(db: Database, *, order_id: int, state: str, state_since: datetime, user: User, command: str,
                     at: datetime, msg_id: str, cfg: CollabConfig) -> None:
    """Note that ``user`` looked the order up (one small insert)."""
    if command not in cfg.commands:
        return
    ask = OrderAsk(order_id=order_id, user_id=user.user_id, department=cfg.department(user)[:64],
                   command=command, state=state, state_since=state_since, at=at, msg_id=msg_id[:64])

    async def add(s: AsyncSession) -> None:  # with the reply's transaction when there is one
        s.add(ask)

    await deferred.write(db, add)


def _fetch(sc: Connection, stmt: Executable) -> list[Any]:
    return list(sc.execute(stmt).cursor.fetchall())


async def _frame(s: AsyncSession, stmt: Executable, columns: tuple[str, ...]) -> pd.DataFrame:
    conn = await s.connection()
    df = pd.DataFrame(await conn.run_sync(_fetch, stmt), columns=list(columns))
    for c in ("at", "state_since"):
        if c in df:
            df[c] = pd.to_datetime(df[c], format="ISO8601", utc=True)
    return df


async def load_asks(s: AsyncSession, start: datetime, end: datetime, lookback: timedelta, owner: dict[str, str],
                    limits: dict[str, float]) -> pd.DataFrame:
    """Look-ups in the window (and ``lookback`` before it, for the repeat rule), with the owner
    and time limit of the state they were about worked out by the database (a CASE)."""
    own = case(owner, value=OrderAsk.state, else_="") if owner else literal("")
    lim = case(limits, value=OrderAsk.state, else_=None) if limits else null()
    q = (select(OrderAsk.order_id, OrderAsk.department, own, lim, OrderAsk.state_since, OrderAsk.at)
         .where(OrderAsk.at >= start - lookback, OrderAsk.at < end))
    return await _frame(s, q, ASK_COLUMNS)


async def load_moves(s: AsyncSession, start: datetime, owner: dict[str, str]) -> pd.DataFrame:
    """State changes from ``start`` on (later ones too: they end the waits begun before the end),
    with the owning department of the states left and entered as numbers (-1: none)."""
    codes = {st: i for i, st in enumerate(sorted(set(owner.values())))}
    by_state = {st: codes[d] for st, d in owner.items()}

    def dept(col: Any) -> Any:
        return case(by_state, value=col, else_=-1) if by_state else literal(-1)

    q = (select(TimelineEvent.order_id, TimelineEvent.at, dept(TimelineEvent.from_state), dept(TimelineEvent.to_state))
         .where(TimelineEvent.at >= start, TimelineEvent.to_state.is_not(None)))
    return await _frame(s, q, MOVE_COLUMNS)


def interruptions(asks: pd.DataFrame, cfg: CollabConfig, start: datetime, end: datetime) -> pd.DataFrame:
    """The look-ups in [start, end) that are interruptions: columns asker, owner, at."""
    a = asks.sort_values(["order_id", "at"], kind="mergesort").reset_index(drop=True)
    same = a["order_id"].eq(a["order_id"].shift())
    since_prev = (a["at"] - a["at"].shift()).where(same)
    repeat = since_prev <= pd.Timedelta(minutes=cfg.repeat_minutes)
    overdue = (a["at"] - a["state_since"]) > pd.to_timedelta(a["limit_hours"].astype(float), unit="h")
    if not cfg.count_overdue:
        overdue = pd.Series(False, index=a.index)
    own = a["owner"].fillna("")
    cross = (a["department"] != "") & (own != "") & (a["department"] != own)
    inside = (a["at"] >= pd.Timestamp(start)) & (a["at"] < pd.Timestamp(end))
    hit = cross & inside & (repeat.fillna(False) | overdue.fillna(False))
    return pd.DataFrame({"asker": a.loc[hit, "department"], "owner": own[hit], "at": a.loc[hit, "at"]})


def handoff_waits(moves: pd.DataFrame, start: datetime, end: datetime, tz: str) -> pd.DataFrame:
    """Handoffs in [start, end) that ended: columns weekday (0 = Monday), hour, minutes."""
    oid = moves["order_id"].to_numpy()
    at = moves["at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    frm, to = moves["from_dept"].to_numpy(), moves["to_dept"].to_numpy()
    order = np.lexsort((at, oid))
    oid, at, frm, to = oid[order], at[order], frm[order], to[order]
    has_next = np.r_[oid[1:] == oid[:-1], False]
    nxt = np.r_[at[1:], 0]
    lo, hi = pd.Timestamp(start).tz_convert("UTC").value, pd.Timestamp(end).tz_convert("UTC").value
    sel = (frm >= 0) & (to >= 0) & (frm != to) & (at >= lo) & (at < hi) & has_next
    local = pd.to_datetime(at[sel], utc=True).tz_convert(ZoneInfo(tz))
    return pd.DataFrame({"weekday": np.asarray(local.day_of_week), "hour": np.asarray(local.hour),
                         "minutes": (nxt[sel] - at[sel]) / 60e9})


@dataclass(frozen=True)
class Collab:
    start: datetime
    end: datetime
    count: int
    by_dept: pd.DataFrame  # asker (rows) × owner (columns): interruptions
    wait_median: np.ndarray  # 7 × 24 median minutes (NaN: no handoff in that hour)
    handoffs: int
    per_day: dict[str, int]  # local date → interruptions


def summarise(hits: pd.DataFrame, waits: pd.DataFrame, start: datetime, end: datetime, tz: str) -> Collab:
    by = pd.crosstab(hits["asker"], hits["owner"]) if len(hits) else pd.DataFrame()
    grid = np.full((7, 24), np.nan)
    if len(waits):
        med = waits.groupby(["weekday", "hour"])["minutes"].median()
        grid[med.index.get_level_values(0), med.index.get_level_values(1)] = med.to_numpy()
    days = hits["at"].dt.tz_convert(ZoneInfo(tz)).dt.date.astype(str).value_counts() if len(hits) else pd.Series()
    return Collab(start, end, len(hits), by, grid, len(waits), {str(k): int(v) for k, v in days.items()})


async def build(app: App, start: datetime, end: datetime) -> Collab:
    """Interruptions and handoff waits in [start, end)."""
    cfg = collab_config(app)
    async with app.db.session() as s:
        wf = (await app.workflows.current(s)).definition
        owner = owners(wf, app.cached(DEFAULT_WORKFLOW, lambda: WorkflowDef.from_dict(app.config.load("workflow"))))
        limits = {st.name: float(st.limit_hours) for st in wf.states if st.limit_hours}
        asks = await load_asks(s, start, end, timedelta(minutes=cfg.repeat_minutes), owner, limits)
        moves = await load_moves(s, start, owner)
    hits = interruptions(asks, cfg, start, end)
    waits = handoff_waits(moves, start, end, app.settings.tz)
    return summarise(hits, waits, start, end, app.settings.tz)
