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
  of the buyer's cases; a complaint is a case whose reason or rejection names a complaint word,
  or whose order has a 投诉 recorded.
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
CASE_COLUMNS = ("order_id", "status", "reason", "reject_reason", "complained")


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


def _naive_utc(col: pd.Series) -> np.ndarray:
    """Timestamps from either driver (SQLite text, PostgreSQL datetimes) as int64 ns, naive UTC."""
    out = pd.to_datetime(col, format="ISO8601", utc=True)
    return out.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)


def compute_pool(orders: pd.DataFrame, cases: pd.DataFrame, now: datetime, cfg: PoolConfig) -> pd.DataFrame:
    """One row per buyer (index ``buyer_key``) with every metric and the segment. The buyer key
    is factorised once; every per-buyer figure is then a ``bincount`` or an index into the rows
    sorted by (buyer, time)."""
    phone = orders["phone_hash"].fillna("").astype(str)
    bid = orders["buyer_id_hash"].fillna("").astype(str)
    key = phone.where(phone != "", ("id:" + bid).where(bid != "", ""))
    keep = (key != "").to_numpy()
    codes, uniq = pd.factorize(key[keep])
    n = len(uniq)
    at = _naive_utc(orders["at"][keep]) if keep.any() else np.zeros(0, dtype=np.int64)
    oid = orders["oid"].to_numpy()[keep]
    fen = orders["fen"].to_numpy()[keep].astype(np.int64)
    ch_codes, ch_names = pd.factorize(orders["channel"][keep])
    order = np.lexsort((oid, at, codes))
    codes, at, oid, fen, ch_codes = codes[order], at[order], oid[order], fen[order], ch_codes[order]
    out = pd.DataFrame(index=pd.Index(uniq, name="buyer_key"))
    out["orders"] = np.bincount(codes, minlength=n)
    out["amount_fen"] = np.bincount(codes, weights=fen, minlength=n).round().astype(np.int64)
    if n:
        starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
        ends = np.r_[starts[1:], len(codes)] - 1
    else:
        starts = ends = np.zeros(0, dtype=np.int64)
    out["last_order_id"] = oid[ends]
    now_ns = pd.Timestamp(now).tz_convert("UTC").tz_localize(None).value
    out["recency_days"] = (now_ns - at[ends]) / 86_400e9
    # interval stability: gaps between consecutive orders of the same buyer (population std)
    same = codes[1:] == codes[:-1]
    g = codes[1:][same]
    gap = (np.diff(at) / 86_400e9)[same]
    n_gaps = np.bincount(g, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(g, weights=gap, minlength=n) / n_gaps
        std = np.sqrt(np.clip(np.bincount(g, weights=gap * gap, minlength=n) / n_gaps - mean * mean, 0, None))
        cv = np.where(mean > 0, std / mean, np.nan)
    enough = n_gaps >= 2
    out["interval_std_days"] = np.where(enough, std, np.nan)
    out["interval_cv"] = np.where(enough, cv, np.nan)
    # channels used (a bit per channel), and migration: first channel → latest channel
    mask = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(mask, codes, np.left_shift(1, ch_codes.astype(np.int64)))
    names = [str(c) for c in ch_names]
    labels = {m: ",".join(sorted(c for i, c in enumerate(names) if m >> i & 1))[:120] for m in np.unique(mask)}
    out["channels"] = pd.Series(mask, index=out.index).map(labels)
    ch_arr = np.asarray(names, dtype=object)
    first_ch, last_ch = ch_arr[ch_codes[starts]], ch_arr[ch_codes[ends]]
    moved = first_ch != last_ch
    out["channel_from"] = np.where(moved, first_ch, "")
    out["channel_to"] = np.where(moved, last_ch, "")
    # after-sales tolerance
    n_cases: Any = np.zeros(n, dtype=np.int64)
    n_ok: Any = np.zeros(n, dtype=np.float64)
    if len(cases) and n:
        buyer_of = pd.Series(codes, index=oid)
        c_code = buyer_of.reindex(cases["order_id"].to_numpy()).to_numpy()
        found = ~np.isnan(c_code)
        words = "|".join(re.escape(w) for w in cfg.complaint_words)
        text = cases["reason"].fillna("").astype(str) + " " + cases["reject_reason"].fillna("").astype(str)
        complaint = (text.str.contains(words, regex=True).to_numpy(dtype=bool, copy=True) if words
                     else np.zeros(len(cases), dtype=bool))
        if "complained" in cases:  # a 投诉 recorded on the case's order
            complaint |= cases["complained"].fillna(False).astype(bool).to_numpy()
        ok = (cases["status"].to_numpy() != "open") & ~complaint
        cc = c_code[found].astype(np.int64)
        n_cases = np.bincount(cc, minlength=n)
        n_ok = np.bincount(cc, weights=ok[found].astype(np.float64), minlength=n)
    out["cases"] = n_cases
    with np.errstate(divide="ignore", invalid="ignore"):
        out["tolerance"] = np.where(n_cases > 0, n_ok / n_cases, np.nan)
    # RFM eight
    if cfg.compare == "mean":
        r_cut, f_cut, m_cut = out["recency_days"].mean(), out["orders"].mean(), out["amount_fen"].mean()
    else:
        r_cut, f_cut, m_cut = cfg.recency_days, cfg.min_orders_f, cfg.amount_fen
    idx = ((out["recency_days"] <= r_cut).astype(int) * 4 + (out["orders"] >= f_cut).astype(int) * 2
           + (out["amount_fen"] >= m_cut).astype(int))
    out["segment"] = np.asarray(SEGMENTS, dtype=object)[idx.to_numpy()]
    out["high_potential"] = high_potential(out, cfg)
    return out


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
