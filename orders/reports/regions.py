"""Region fulfilment health: metrics per region (province / city / district) × carrier over a
window against a baseline, and red flags that hold statistically. Vectorised pandas over the
facts frame of ``orders.reports.parcels`` (no per-group Python).

Metrics (a parcel is in the window or the baseline by its 揽收 time):
- 48 h 签收率 = parcels signed within 48 h of 揽收 ÷ parcels whose 48 h since 揽收 have passed;
- 退货率 = returned parcels ÷ signed parcels;
- 投诉率 = complaints per 1,000 orders (parcels); its interval is on orders with a complaint.
A rate whose denominator is below ``min_parcels`` is 样本不足: shown, never flagged.

A region × carrier is flagged on a metric when its window rate is worse than both its own
baseline and the national window rate (all carriers), and the window's Wilson interval does not
overlap the baseline's (z from regions.yaml, 1.96 = 95 %)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from orders.reports.region_config import RegionConfig

LEVELS = ("province", "city", "district")
CODE = {"province": "prov_code", "city": "city_code", "district": "dist_code"}
ALL = "全部"
# metric: (numerator, denominator, higher is worse)
METRICS = {"sign48": ("ok48", "due48", False), "returns": ("ret", "signed", True),
           "complaints": ("comp", "parcels", True)}
LABELS = {"sign48": "48小时签收率", "returns": "退货率", "complaints": "投诉率"}
WORDS = {"签收率": "sign48", "48小时签收率": "sign48", "退货率": "returns", "投诉率": "complaints"}
DENOMINATORS = {"sign48": "48小时内签收的包裹 ÷ 揽收已满48小时的包裹",
                "returns": "退货的包裹 ÷ 已签收的包裹",
                "complaints": "投诉数 ÷ 订单数 × 1000"}
COUNTS = ("parcels", "due48", "ok48", "signed", "ret", "comp", "ncomp")


def fmt_rate(metric: str, rate: float) -> str:
    return f"{rate * 1000:.1f}‰" if metric == "complaints" else f"{rate:.1%}"


@dataclass(frozen=True)
class Windows:
    start: datetime  # window start
    end: datetime
    base_start: datetime

    @classmethod
    def of(cls, cfg: RegionConfig, now: datetime) -> Windows:
        start = now - timedelta(days=cfg.window_days)
        return cls(start, now, start - timedelta(weeks=cfg.baseline_weeks))


@dataclass(frozen=True)
class Flag:
    level: str
    code: int
    name: str  # full region name, e.g. 河南省周口市川汇区
    carrier: str
    metric: str
    rate: float  # window
    base_rate: float
    national: float
    k: int  # window numerator
    n: int  # window denominator
    severity: float  # gap between the two intervals

    @property
    def key(self) -> str:
        return f"{self.level}:{self.code}:{self.carrier}:{self.metric}"

    def line(self) -> str:
        label = LABELS[self.metric]
        return (f"{self.name} · {self.carrier} · {label} {fmt_rate(self.metric, self.rate)}"
                f"（基线 {fmt_rate(self.metric, self.base_rate)}，全国 {fmt_rate(self.metric, self.national)}；"
                f"{self.k}/{self.n}）")


def wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval per row; (0, 1) where n is 0."""
    n = n.astype(float)
    safe = np.where(n > 0, n, 1.0)
    p = k / safe
    z2 = z * z
    denom = 1 + z2 / safe
    centre = (p + z2 / (2 * safe)) / denom
    half = z * np.sqrt(p * (1 - p) / safe + z2 / (4 * safe * safe)) / denom
    return np.where(n > 0, centre - half, 0.0), np.where(n > 0, centre + half, 1.0)


def prepare(facts: pd.DataFrame, cfg: RegionConfig, now: datetime) -> pd.DataFrame:
    """The counting columns per parcel; period 0 = window, 1 = baseline, -1 = neither."""
    w = Windows.of(cfg, now)
    picked = facts["picked_at"]
    signed_at = facts["signed_at"]
    lim = pd.Timedelta(hours=cfg.sign_hours)
    due = (picked + lim) <= pd.Timestamp(now)
    signed = signed_at.notna().to_numpy()
    period = np.where(picked >= pd.Timestamp(w.start), 0, np.where(picked >= pd.Timestamp(w.base_start), 1, -1))
    comp = facts["complaints"].to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "prov_code": facts["prov_code"].to_numpy(dtype=np.int64),
        "city_code": facts["city_code"].to_numpy(dtype=np.int64),
        "dist_code": facts["dist_code"].to_numpy(dtype=np.int64), "carrier": facts["carrier"].astype("category"),
        "period": period.astype(np.int8), "parcels": np.ones(len(facts), dtype=np.int64),
        "due48": due.to_numpy(dtype=np.int64), "ok48": (due & ((signed_at - picked) <= lim)).to_numpy(dtype=np.int64),
        "signed": signed.astype(np.int64), "ret": (facts["returned"].to_numpy(dtype=bool) & signed).astype(np.int64),
        "comp": comp, "ncomp": (comp > 0).astype(np.int64)})


def _level_table(p: pd.DataFrame, level: str) -> pd.DataFrame:
    code = CODE[level]
    sub = p[p[code] > 0]
    g = sub.groupby([code, "carrier", "period"], observed=True, sort=False)[list(COUNTS)].sum()
    tot = g.groupby(level=[0, 2], sort=False).sum()
    tot["carrier"] = ALL
    tot = tot.set_index("carrier", append=True).reorder_levels([0, 2, 1])
    t = pd.concat([g, tot]).unstack("period", fill_value=0)
    t.columns = [f"{c}_{'w' if per == 0 else 'b'}" for c, per in t.columns]
    for c in COUNTS:
        for suf in ("w", "b"):
            if f"{c}_{suf}" not in t.columns:
                t[f"{c}_{suf}"] = 0
    t = t.reset_index().rename(columns={code: "code"})
    t.insert(0, "level", level)
    return t


@dataclass
class RegionReport:
    table: pd.DataFrame  # one row per level × code × carrier (ALL = every carrier)
    national: dict[str, float]
    names: dict[tuple[str, int], str]
    flags: list[Flag]
    windows: Windows
    min_parcels: int

    def rows(self, level: str, parent: int | None = None, carrier: str = ALL) -> pd.DataFrame:
        t = self.table
        m = (t["level"] == level) & (t["carrier"] == carrier)
        if parent is not None:
            m &= _within(t["code"], parent)
        return t[m]

    def values(self, metric: str, level: str, parent: int | None = None) -> dict[int, tuple[float | None, int]]:
        """Per region code: (window rate or None when 样本不足, denominator) over all carriers."""
        t = self.rows(level, parent)
        n = t[f"{METRICS[metric][1]}_w"].to_numpy()
        r = t[f"{metric}_rate"].to_numpy()
        return {int(c): (float(x) if k >= self.min_parcels else None, int(k))
                for c, x, k in zip(t["code"].to_numpy(), r, n, strict=True)}


def _within(codes: pd.Series, parent: int) -> pd.Series:
    if parent % 10000 == 0 or str(parent)[:2] in ("11", "12", "31", "50"):
        return (codes // 10000 == parent // 10000) & (codes != parent)
    return (codes // 100 == parent // 100) & (codes != parent)


def _names(facts: pd.DataFrame) -> dict[tuple[str, int], str]:
    cols = ["province", "city", "district", "prov_code", "city_code", "dist_code"]
    keys = (facts.drop_duplicates("region_id") if "region_id" in facts else facts.drop_duplicates(cols))[cols]
    out: dict[tuple[str, int], str] = {}
    for p, c, d, pc, cc, dc in keys.itertuples(index=False):
        city = "" if c == p else c
        out[("province", int(pc))] = p
        out[("city", int(cc))] = f"{p}{city}"
        out[("district", int(dc))] = f"{p}{city}{d}"
    return out


def build(facts: pd.DataFrame, cfg: RegionConfig, now: datetime) -> RegionReport:
    """The report from per-parcel facts (``orders.reports.parcels.load_facts``)."""
    p = prepare(facts, cfg, now)
    return summarise(p[p["period"] >= 0], _names(facts), cfg, now)


def summarise(p: pd.DataFrame, names: dict[tuple[str, int], str], cfg: RegionConfig, now: datetime) -> RegionReport:
    """The report from counts: ``prepare``'s columns per parcel, or already summed per region ×
    carrier × period (``orders.reports.parcels.load_counts``; the sums add up the same)."""
    table = pd.concat([_level_table(p, lv) for lv in LEVELS], ignore_index=True)
    win = p[p["period"] == 0]
    national: dict[str, float] = {}
    flagged = np.zeros(len(table), dtype=bool)
    for metric, (num, den, worse_high) in METRICS.items():
        k_w, n_w = table[f"{num}_w"].to_numpy(), table[f"{den}_w"].to_numpy()
        k_b, n_b = table[f"{num}_b"].to_numpy(), table[f"{den}_b"].to_numpy()
        nk = "comp" if metric == "complaints" else num
        rate_w = table[f"{nk}_w"].to_numpy() / np.where(n_w > 0, n_w, 1)
        rate_b = table[f"{nk}_b"].to_numpy() / np.where(n_b > 0, n_b, 1)
        table[f"{metric}_rate"], table[f"{metric}_base"] = rate_w, rate_b
        nat_den = int(win[den].sum())
        national[metric] = float(win[nk].sum()) / nat_den if nat_den else 0.0
        if metric == "complaints":  # the interval is on orders with at least one complaint
            k_w, k_b = table["ncomp_w"].to_numpy(), table["ncomp_b"].to_numpy()
        lo_w, hi_w = wilson(k_w, n_w, cfg.z)
        lo_b, hi_b = wilson(k_b, n_b, cfg.z)
        enough = n_w >= cfg.min_parcels
        if worse_high:
            sev = lo_w - hi_b
            flag = enough & (sev > 0) & (rate_w > national[metric]) & (rate_w > rate_b)
        else:
            sev = lo_b - hi_w
            flag = enough & (sev > 0) & (rate_w < national[metric]) & (rate_w < rate_b)
        flag &= (table["carrier"] != ALL).to_numpy()
        table[f"{metric}_flag"], table[f"{metric}_sev"] = flag, sev
        flagged |= flag
    flags = []
    for metric, (num, den, _) in METRICS.items():
        hit = table[table[f"{metric}_flag"]]
        kcol = "comp" if metric == "complaints" else num
        for r in hit.itertuples(index=False):
            d = r._asdict()
            flags.append(Flag(level=d["level"], code=int(d["code"]), name=names.get((d["level"], int(d["code"])), "?"),
                              carrier=str(d["carrier"]), metric=metric, rate=float(d[f"{metric}_rate"]),
                              base_rate=float(d[f"{metric}_base"]), national=national[metric],
                              k=int(d[f"{kcol}_w"]), n=int(d[f"{den}_w"]), severity=float(d[f"{metric}_sev"])))
    flags.sort(key=lambda f: (-f.severity, f.name))
    return RegionReport(table, national, names, flags, Windows.of(cfg, now), cfg.min_parcels)


async def region_report(s: AsyncSession, cfg: RegionConfig, now: datetime, tz: str = "") -> RegionReport:
    """The report over the window and its baseline, counted in the database from the stored
    parcel facts (``tz`` is not needed: carrier times are read as the carrier writes them)."""
    from orders.reports.parcels import load_counts

    counts = await load_counts(s, cfg, now)
    return summarise(counts, _names(counts), cfg, now)


@dataclass(frozen=True)
class Place:
    level: str  # province | city
    code: int
    name: str


def resolve_place(text: str) -> Place | None:
    """A province or city named as people type it (河南省, 河南, 周口市, 周口) via cpca-new."""
    from orders.address import _cpca

    text = text.strip()
    if not text:
        return None
    row = _cpca().transform([text]).iloc[0]
    prov, city, code = row.get("省"), row.get("市"), row.get("adcode")
    if not isinstance(prov, str) or not prov:
        return None
    try:
        adcode = int(code)
    except (TypeError, ValueError):
        return None
    if not isinstance(city, str) or not city or city == prov or str(adcode)[:2] in ("11", "12", "31", "50"):
        return Place("province", adcode // 10000 * 10000, prov)
    return Place("city", adcode // 100 * 100, city)
