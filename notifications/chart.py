"""The digest's one chart (matplotlib, Agg, no pyplot: safe off the event loop thread)."""

from __future__ import annotations

import io
import logging
from functools import cache

log = logging.getLogger(__name__)
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN",
                "Droid Sans Fallback")


@cache
def bundled_font_path() -> str | None:
    """The Noto Sans CJK collection that installs with the project (PyPI ``noto-cjk-sans-otc``, OFL)."""
    try:
        from noto_cjk_sans_otc import FONT_PATH
    except ImportError:
        return None
    return str(FONT_PATH)


@cache
def cjk_font() -> str | None:
    """A font family with Chinese glyphs: the bundled Noto Sans CJK, else one installed on the machine."""
    from matplotlib import font_manager

    path = bundled_font_path()
    if path is not None:
        font_manager.fontManager.addfont(path)
        return str(font_manager.FontProperties(fname=path).get_name())
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FAMILIES if f in names), None)
    if found is None:
        log.info("no CJK font found: the digest chart uses ASCII labels")
    return found


def missing_glyphs(text: str) -> set[str]:
    """Characters of ``text`` the CJK font in use cannot draw (empty when every one is there)."""
    from matplotlib import font_manager

    font = cjk_font()
    if font is None:
        return {c for c in text if ord(c) > 127}
    path = font_manager.findfont(font_manager.FontProperties(family=font), fallback_to_default=False)
    from fontTools.ttLib import TTFont

    tt = TTFont(path, fontNumber=0, lazy=True)
    cmap = tt.getBestCmap()
    return {c for c in text if not c.isspace() and ord(c) not in cmap}


def render_chart(stuck: dict[str, int], cases: dict[str, int]) -> bytes:
    """Two bar panels: orders past their limit per state, and after-sales cases. With no CJK
    font, state names become S1..Sn (the digest text gives the legend) and titles English."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    zh = font is not None
    fig = Figure(figsize=(8, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    if font:
        matplotlib.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    labels = list(stuck) if zh else [f"S{i}" for i in range(1, len(stuck) + 1)]
    ax1.bar(labels or ["-"], list(stuck.values()) or [0], color="#d9534f")
    ax1.set_title("超时订单（按状态）" if zh else "Orders past limit, by state")
    case_labels = list(cases) if zh else ["opened", "closed", "overdue"][: len(cases)]
    ax2.bar(case_labels, list(cases.values()), color=["#5bc0de", "#5cb85c", "#f0ad4e"][: len(cases)])
    ax2.set_title("售后（昨日）" if zh else "After-sales (yesterday)")
    for ax, values in ((ax1, stuck.values()), (ax2, cases.values())):
        ax.set_ylim(0, max([*values, 0]) * 1.1 or 1)
        ax.tick_params(axis="x", labelsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
