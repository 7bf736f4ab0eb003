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

The database returns narrow columns read from covering indexes (``0023_collab_cover``): times
as integer microseconds (``epoch_us``), state owners as department codes or names worked out by
a CASE; numpy sorts each order's rows once and compares neighbours (previous look-up, next
state change). Measured on SQLite: a window function (LAG/LEAD) over the same rows costs more
than the transfer, as SQLite sorts them in a temporary B-tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Connection, Executable, case, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders import deferred
from orders.app import App, AppKey
from orders.db import Database
from orders.models import TimelineEvent, User
from orders.reports.epoch import epoch_us
from orders.reports.models import OrderAsk
from orders.workflow import WorkflowDef

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
US_PER_HOUR = 3_600_000_000


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
    await deferred.write(db, deferred.Rows(_ask_insert, dict(
        order_id=order_id, user_id=user.user_id, department=cfg.department(user)[:64], command=command, state=state,
        state_since=state_since, at=at, msg_id=msg_id[:64])))  # with the reply's transaction when there is one


def _ask_insert(s: AsyncSession) -> Executable:
    return insert(OrderAsk)


def _fetch(sc: Connection, stmt: Executable) -> list[Any]:
    return list(sc.execute(stmt).cursor.fetchall())


async def _pairs(s: AsyncSession, stmt: Executable) -> tuple[np.ndarray, np.ndarray]:
    """A two-integer-column result as two int64 arrays (one numpy conversion of the rows)."""
    conn = await s.connection()
    rows = await conn.run_sync(_fetch, stmt)
    data = np.array(rows, dtype=np.int64).reshape(len(rows), 2)
    return data[:, 0], data[:, 1]


def _int(v: int) -> Any:
    """An integer written into the SQL (BIGINT: microsecond counts overflow a 32-bit parameter)."""
    return literal_column(str(int(v)), BigInteger)


def _us(t: datetime) -> int:
    return int(pd.Timestamp(t).tz_convert("UTC").value // 1000)


# Each row crosses to Python as two integers: its time (µs) and a key packing the order id with
# small codes (departments + 1, 0: none; a flag), ``BITS`` bits each. Rows come in (time, order,
# id) order, read so from the covering index; a stable sort by order id then gives each order's
# rows in time order (ties in the order written).
BITS = 10
MASK = (1 << BITS) - 1


def _by_order(at: np.ndarray, key: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(key >> shift, kind="stable")
    at, key = at[order], key[order]
    return key >> shift, at, key


def _names(codes: dict[str, int]) -> Any:
    """Department name → its code + 1 in SQL (0 for any other value)."""
    return {d: _int(i + 1) for d, i in codes.items()}


async def load_asks(s: AsyncSession, start: datetime, end: datetime, cfg: CollabConfig, owner: dict[str, str],
                    limits: dict[str, float]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Look-ups in the window (and ``repeat_minutes`` before it, for the repeat rule): time (µs) and
    key = order id, overdue flag (age in the state over its limit, decided by the database),
    asker's department, state owner's department; and the department names the codes index."""
    window = (OrderAsk.at >= start - timedelta(minutes=cfg.repeat_minutes), OrderAsk.at < end)
    asked = await s.scalars(select(OrderAsk.department).where(*window).distinct())
    names = sorted((set(asked) | set(owner.values())) - {""})[:MASK]  # more than 1,023 departments: not counted
    code = {d: i for i, d in enumerate(names)}
    asker = case(_names(code), value=OrderAsk.department, else_=_int(0)) if code else _int(0)
    own_codes = {st: _int(code[d] + 1) for st, d in owner.items() if d}
    own = case(own_codes, value=OrderAsk.state, else_=_int(0)) if own_codes else _int(0)
    at = epoch_us(OrderAsk.at)
    overdue: Any = _int(0)
    if cfg.count_overdue and limits:
        lim = case({st: _int(round(h * US_PER_HOUR)) for st, h in limits.items()}, value=OrderAsk.state)
        overdue = case((at - epoch_us(OrderAsk.state_since) > lim, _int(1)), else_=_int(0))
    key = (((OrderAsk.order_id * _int(2) + overdue) * _int(1 << BITS) + asker) * _int(1 << BITS)) + own
    q = select(at, key).where(*window).order_by(OrderAsk.at, OrderAsk.order_id, OrderAsk.id)
    at_us, keys = await _pairs(s, q)
    return at_us, keys, names


def interruptions(at_us: np.ndarray, keys: np.ndarray, names: list[str], cfg: CollabConfig, start: datetime,
                  end: datetime) -> pd.DataFrame:
    """The look-ups in [start, end) that are interruptions: columns asker, owner, at."""
    oid, at, key = _by_order(at_us, keys, 2 * BITS + 1)
    hit = ((key >> 2 * BITS) & 1).astype(bool)  # overdue
    hit[1:] |= (oid[1:] == oid[:-1]) & (at[1:] - at[:-1] <= round(cfg.repeat_minutes * 60e6))  # a repeat
    asker, own = (key >> BITS) & MASK, key & MASK
    hit &= (asker > 0) & (own > 0) & (asker != own) & (at >= _us(start)) & (at < _us(end))
    label = np.array(["", *names], dtype=object)
    return pd.DataFrame({"asker": label[asker[hit]], "owner": label[own[hit]],
                         "at": pd.to_datetime(at[hit], unit="us", utc=True)})


async def load_moves(s: AsyncSession, start: datetime, owner: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """State changes from ``start`` on (later ones too: they end the waits begun before the end):
    time (µs) and key = order id, owning department of the state left, of the state entered."""
    codes = {st: i for i, st in enumerate(sorted(set(owner.values())))}
    by_state = {st: _int(codes[d] + 1) for st, d in owner.items()}

    def dept(col: Any) -> Any:
        return case(by_state, value=col, else_=_int(0)) if by_state else _int(0)

    ev = TimelineEvent
    key = (ev.order_id * _int(1 << BITS) + dept(ev.from_state)) * _int(1 << BITS) + dept(ev.to_state)
    q = (select(epoch_us(ev.at), key).where(ev.at >= start, ev.to_state.is_not(None))
         .order_by(ev.at, ev.order_id, ev.id))
    return await _pairs(s, q)


def handoff_waits(at_us: np.ndarray, keys: np.ndarray, start: datetime, end: datetime, tz: str) -> pd.DataFrame:
    """Handoffs in [start, end) that ended: columns weekday (0 = Monday), hour (local), minutes."""
    oid, at, key = _by_order(at_us, keys, 2 * BITS)
    frm, to = (key >> BITS) & MASK, key & MASK
    has_next, nxt = np.zeros(len(at), dtype=bool), np.zeros(len(at), dtype=np.int64)
    has_next[:-1], nxt[:-1] = oid[1:] == oid[:-1], at[1:]
    sel = (frm > 0) & (to > 0) & (frm != to) & (at >= _us(start)) & (at < _us(end)) & has_next
    local = pd.to_datetime(at[sel], unit="us", utc=True).tz_convert(ZoneInfo(tz))
    return pd.DataFrame({"weekday": np.asarray(local.day_of_week), "hour": np.asarray(local.hour),
                         "minutes": (nxt[sel] - at[sel]) / 60e6})


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
        ask_at, ask_keys, names = await load_asks(s, start, end, cfg, owner, limits)
        move_at, move_keys = await load_moves(s, start, owner)
    hits = interruptions(ask_at, ask_keys, names, cfg, start, end)
    waits = handoff_waits(move_at, move_keys, start, end, app.settings.tz)
    return summarise(hits, waits, start, end, app.settings.tz)
