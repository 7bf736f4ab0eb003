"""The collaboration figures as first built (pandas over every row, times parsed from the driver's
values), kept as the reference the faster build must agree with (test_collab_rewrite.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import case, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.app import App
from orders.models import TimelineEvent
from orders.reports.collaboration import DEFAULT_WORKFLOW, Collab, CollabConfig, collab_config, owners, summarise
from orders.reports.models import OrderAsk
from orders.workflow import WorkflowDef


async def _frame(s: AsyncSession, stmt: Any, columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame([tuple(r) for r in (await s.execute(stmt)).all()], columns=columns)
    for c in ("at", "state_since"):
        if c in df:
            df[c] = pd.to_datetime(df[c], utc=True)
    return df


async def _asks(s: AsyncSession, start: datetime, end: datetime, lookback: timedelta, owner: dict[str, str],
                limits: dict[str, float]) -> pd.DataFrame:
    own = case(owner, value=OrderAsk.state, else_="") if owner else literal("")
    lim = case(limits, value=OrderAsk.state, else_=None) if limits else null()
    q = (select(OrderAsk.order_id, OrderAsk.department, own, lim, OrderAsk.state_since, OrderAsk.at)
         .where(OrderAsk.at >= start - lookback, OrderAsk.at < end).order_by(OrderAsk.id))
    return await _frame(s, q, ["order_id", "department", "owner", "limit_hours", "state_since", "at"])


async def _moves(s: AsyncSession, start: datetime, owner: dict[str, str]) -> pd.DataFrame:
    codes = {st: i for i, st in enumerate(sorted(set(owner.values())))}
    by_state = {st: codes[d] for st, d in owner.items()}

    def dept(col: Any) -> Any:
        return case(by_state, value=col, else_=-1) if by_state else literal(-1)

    q = (select(TimelineEvent.order_id, TimelineEvent.at, dept(TimelineEvent.from_state),
                dept(TimelineEvent.to_state))
         .where(TimelineEvent.at >= start, TimelineEvent.to_state.is_not(None)).order_by(TimelineEvent.id))
    return await _frame(s, q, ["order_id", "at", "from_dept", "to_dept"])


def _interruptions(asks: pd.DataFrame, cfg: CollabConfig, start: datetime, end: datetime) -> pd.DataFrame:
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


def _waits(moves: pd.DataFrame, start: datetime, end: datetime, tz: str) -> pd.DataFrame:
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


async def reference_build(app: App, start: datetime, end: datetime) -> Collab:
    cfg = collab_config(app)
    async with app.db.session() as s:
        wf = (await app.workflows.current(s)).definition
        owner = owners(wf, app.cached(DEFAULT_WORKFLOW, lambda: WorkflowDef.from_dict(app.config.load("workflow"))))
        limits = {st.name: float(st.limit_hours) for st in wf.states if st.limit_hours}
        asks = await _asks(s, start, end, timedelta(minutes=cfg.repeat_minutes), owner, limits)
        moves = await _moves(s, start, owner)
    return summarise(_interruptions(asks, cfg, start, end), _waits(moves, start, end, app.settings.tz), start, end,
                     app.settings.tz)
