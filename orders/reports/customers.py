"""The customer value pool's arithmetic: one buyer across channels, RFM, interval stability,
channel migration, after-sales tolerance and the segments. Pure pandas, vectorised (no
``groupby().apply``): the frames in are plain columns, the frame out has one row per buyer.

Definitions (also in the README):
- buyer: the phone hash, else ``id:`` + the platform buyer id's hash; orders with neither are
  left out (nothing to match them by).
- recency: days from the buyer's last order to the build time; frequency: orders in the window;
  monetary: paid amount in the window.
- 订单频次稳定性: standard deviation (population) of the days between consecutive orders, and its
  coefficient of variation (std ÷ mean gap); needs at least two gaps (three orders), else empty.
- 渠道迁移: the channel of the first order in the window differs from the latest one's (from → to).
- 售后容忍度: the buyer's after-sales cases closed (approved or rejected) without a complaint ÷ all
  of the buyer's cases; a complaint is a case whose reason or rejection names a complaint word.
  Empty when the buyer has no case.
- RFM eight: recency, frequency and monetary each high or low (against the population mean, or the
  fixed values in customers.yaml), giving 重要价值 … 一般挽留.
- 高潜留存: every configured rule holds (min orders, max recency, min amount, max interval CV,
  min tolerance); an empty CV or tolerance passes its rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from orders.money import yuan_to_fen

# index = recency_high * 4 + frequency_high * 2 + monetary_high
SEGMENTS = ("一般挽留", "重要挽留", "一般保持", "重要保持", "一般发展", "重要发展", "一般价值", "重要价值")
SEGMENT_ORDER = ("重要价值", "重要发展", "重要保持", "重要挽留", "一般价值", "一般发展", "一般保持", "一般挽留")
HIGH_POTENTIAL = "高潜留存"
ORDER_COLUMNS = ("oid", "channel", "phone_hash", "buyer_id_hash", "at", "fen")
CASE_COLUMNS = ("order_id", "status", "reason", "reject_reason")


@dataclass(frozen=True)
class PoolConfig:
    window_days: int = 90
    build_at: time = time(2, 30)
    exclude_states: tuple[str, ...] = ("已取消",)
    compare: str = "mean"  # mean | fixed
    recency_days: float = 30
    min_orders_f: float = 2
    amount_fen: int = 30_000
    hp_min_orders: int | None = 2
    hp_max_recency: float | None = 45
    hp_min_amount_fen: int | None = 10_000
    hp_max_cv: float | None = 0.8
    hp_min_tolerance: float | None = 0.5
    complaint_words: tuple[str, ...] = ("投诉", "差评")
    top: int = 20

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoolConfig:
        rfm = d.get("rfm") or {}
        hp = d.get("high_potential") or {}
        compare = str(rfm.get("compare", "mean"))
        if compare not in ("mean", "fixed"):
            raise ValueError(f"customers.yaml: rfm.compare must be mean or fixed, got {compare!r}")
        hh, _, mm = str(d.get("build_at", "02:30")).partition(":")

        def opt(key: str, conv: Any) -> Any:
            return conv(hp[key]) if hp.get(key) is not None else None

        return cls(
            window_days=int(d.get("window_days", 90)), build_at=time(int(hh), int(mm or 0)),
            exclude_states=tuple(str(s) for s in d.get("exclude_states") or ()), compare=compare,
            recency_days=float(rfm.get("recency_days", 30)), min_orders_f=float(rfm.get("orders", 2)),
            amount_fen=yuan_to_fen(Decimal(str(rfm.get("amount", "300")))),
            hp_min_orders=opt("min_orders", int), hp_max_recency=opt("max_recency_days", float),
            hp_min_amount_fen=opt("min_amount", lambda v: yuan_to_fen(Decimal(str(v)))),
            hp_max_cv=opt("max_interval_cv", float), hp_min_tolerance=opt("min_tolerance", float),
            complaint_words=tuple(str(w) for w in d.get("complaint_words") or ()), top=int(d.get("top", 20)))


def _naive_utc(col: pd.Series) -> pd.Series:
    """Timestamps from either driver (SQLite text, PostgreSQL datetimes) as naive UTC."""
    out = pd.to_datetime(col, format="ISO8601", utc=True)
    return out.dt.tz_localize(None)


def compute_pool(orders: pd.DataFrame, cases: pd.DataFrame, now: datetime, cfg: PoolConfig) -> pd.DataFrame:
    """One row per buyer (index ``buyer_key``) with every metric and the segment."""
    o = orders.loc[:, list(ORDER_COLUMNS)].copy()
    phone = o["phone_hash"].fillna("").astype(str)
    bid = o["buyer_id_hash"].fillna("").astype(str)
    o["key"] = phone.where(phone != "", ("id:" + bid).where(bid != "", ""))
    o = o[o["key"] != ""]
    o["at"] = _naive_utc(o["at"])
    o = o.sort_values(["key", "at", "oid"], kind="mergesort").reset_index(drop=True)
    g = o.groupby("key", sort=False)
    out = g.agg(orders=("oid", "size"), amount_fen=("fen", "sum"), last_at=("at", "max"),
                last_order_id=("oid", "last"), first_ch=("channel", "first"), last_ch=("channel", "last"))
    now_naive = pd.Timestamp(now).tz_convert("UTC").tz_localize(None)
    out["recency_days"] = (now_naive - out["last_at"]).dt.total_seconds() / 86400
    # interval stability: gaps between consecutive orders of the same buyer
    same = o["key"].eq(o["key"].shift())
    gaps = (o["at"].diff().dt.total_seconds() / 86400)[same]
    gg = gaps.groupby(o.loc[same, "key"], sort=False)
    n_gaps = gg.size().reindex(out.index, fill_value=0)
    std = gg.std(ddof=0).reindex(out.index)
    mean = gg.mean().reindex(out.index)
    enough = n_gaps >= 2
    out["interval_std_days"] = std.where(enough)
    out["interval_cv"] = (std / mean.where(mean > 0)).where(enough)
    # channels used, and migration first → latest
    pairs = o[["key", "channel"]].drop_duplicates().sort_values(["key", "channel"])
    out["channels"] = pairs.groupby("key", sort=False)["channel"].agg(",".join).reindex(out.index).str[:120]
    moved = out["first_ch"] != out["last_ch"]
    out["channel_from"] = out["first_ch"].where(moved, "")
    out["channel_to"] = out["last_ch"].where(moved, "")
    # after-sales tolerance
    out["cases"] = 0
    out["tolerance"] = np.nan
    if len(cases):
        c = cases.merge(o[["oid", "key"]], left_on="order_id", right_on="oid", how="inner")
        if len(c):
            words = "|".join(re.escape(w) for w in cfg.complaint_words)
            text = c["reason"].fillna("").astype(str) + " " + c["reject_reason"].fillna("").astype(str)
            complaint = text.str.contains(words, regex=True) if words else pd.Series(False, index=c.index)
            c["ok"] = (c["status"] != "open") & ~complaint
            cs = c.groupby("key", sort=False).agg(n=("ok", "size"), ok=("ok", "sum"))
            out["cases"] = cs["n"].reindex(out.index, fill_value=0).astype(int)
            out["tolerance"] = (cs["ok"] / cs["n"]).reindex(out.index)
    # RFM eight
    if cfg.compare == "mean":
        r_cut, f_cut, m_cut = out["recency_days"].mean(), out["orders"].mean(), out["amount_fen"].mean()
    else:
        r_cut, f_cut, m_cut = cfg.recency_days, cfg.min_orders_f, cfg.amount_fen
    idx = ((out["recency_days"] <= r_cut).astype(int) * 4 + (out["orders"] >= f_cut).astype(int) * 2
           + (out["amount_fen"] >= m_cut).astype(int))
    out["segment"] = np.asarray(SEGMENTS, dtype=object)[idx.to_numpy()]
    out["high_potential"] = high_potential(out, cfg)
    out.index.name = "buyer_key"
    return out.drop(columns=["first_ch", "last_ch", "last_at"])


def high_potential(p: pd.DataFrame, cfg: PoolConfig) -> pd.Series:
    ok = pd.Series(True, index=p.index)
    if cfg.hp_min_orders is not None:
        ok &= p["orders"] >= cfg.hp_min_orders
    if cfg.hp_max_recency is not None:
        ok &= p["recency_days"] <= cfg.hp_max_recency
    if cfg.hp_min_amount_fen is not None:
        ok &= p["amount_fen"] >= cfg.hp_min_amount_fen
    if cfg.hp_max_cv is not None:
        ok &= p["interval_cv"].isna() | (p["interval_cv"] <= cfg.hp_max_cv)
    if cfg.hp_min_tolerance is not None:
        ok &= p["tolerance"].isna() | (p["tolerance"] >= cfg.hp_min_tolerance)
    return ok


def segment_sizes(pool: pd.DataFrame) -> dict[str, int]:
    """Buyers per RFM segment (all eight, zeros included) and in 高潜留存."""
    counts = pool["segment"].value_counts()
    sizes = {s: int(counts.get(s, 0)) for s in SEGMENT_ORDER}
    sizes[HIGH_POTENTIAL] = int(pool["high_potential"].sum())
    return sizes
