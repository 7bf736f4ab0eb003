"""The collaboration heat maps (matplotlib, Agg, no pyplot): interruptions asker × owner
department, and the median handoff wait by weekday × hour. Chinese labels in the bundled CJK font."""

from __future__ import annotations

import io
import math

import numpy as np

from notifications.chart import cjk_font

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def render_heatmaps(rows: list[str], cols: list[str], counts: list[list[int]], waits: np.ndarray,
                    subtitle: str = "") -> bytes:
    """One PNG, two panels. ``counts[i][j]``: interruptions by department ``rows[i]`` about orders
    owned by ``cols[j]``; ``waits``: 7 × 24 median minutes (NaN: no handoff)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    if font:
        matplotlib.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    fig = Figure(figsize=(12, 4.6), dpi=100)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 3]})
    data = np.asarray(counts, dtype=float) if rows and cols else np.zeros((1, 1))
    im1 = ax1.imshow(data, cmap="Reds", aspect="auto", vmin=0)
    ax1.set_xticks(range(len(cols) or 1), cols or ["-"], fontsize=9)
    ax1.set_yticks(range(len(rows) or 1), rows or ["-"], fontsize=9)
    ax1.set_xlabel("订单所在状态的负责部门")
    ax1.set_ylabel("提问部门")
    ax1.set_title("跨部门协作中断（次）")
    for (i, j), v in np.ndenumerate(data):
        if v:
            ax1.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=9)
    fig.colorbar(im1, ax=ax1, shrink=0.8)
    masked = np.ma.masked_invalid(waits)
    im2 = ax2.imshow(masked, cmap="YlOrRd", aspect="auto", vmin=0)
    ax2.set_yticks(range(7), list(WEEKDAYS), fontsize=9)
    ax2.set_xticks(range(0, 24, 2), [str(h) for h in range(0, 24, 2)], fontsize=8)
    ax2.set_xlabel("交接时刻（时）")
    top = np.nanmax(waits) if not np.all(np.isnan(waits)) else math.nan
    ax2.set_title("部门交接等待中位数（分钟）" + ("" if math.isnan(top) else f"，最长 {top:.0f}"))
    fig.colorbar(im2, ax=ax2, shrink=0.8)
    if subtitle:
        fig.suptitle(subtitle, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
