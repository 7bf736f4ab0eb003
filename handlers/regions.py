"""区域 (region fulfilment health: flags and a map) and 投诉 (record a complaint)."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from notifications.region_digest import region_map_png
from orders.aftersales.complaints import parse_complaint, record_complaint
from orders.errors import InvalidInput
from orders.reports.region_config import RegionConfig
from orders.reports.regions import DENOMINATORS, LABELS, METRICS, WORDS, fmt_rate, region_report, resolve_place

USAGE = "用法：区域 [省/市] [签收率|退货率|投诉率]，例如：区域、区域 河南省、区域 周口市 退货率"
SUB = {"province": "city", "city": "district"}
SUB_NAME = {"province": "各市", "city": "各区县"}


@registry.command("区域", roles=("manager", "ops", "cs_lead"), summary="各地区签收/退货/投诉预警与地图",
                  example="区域 或 区域 河南省 退货率")
async def regions(req: Request, args: str) -> list[Reply]:
    metric, place_text = None, ""
    for tok in args.split():
        if tok in WORDS:
            metric = WORDS[tok]
        elif not place_text:
            place_text = tok
        else:
            raise InvalidInput(USAGE)
    place = resolve_place(place_text) if place_text else None
    if place_text and place is None:
        raise InvalidInput(f"无法识别地区「{place_text[:20]}」，请写省或市的名称。\n{USAGE}")
    cfg = RegionConfig.load(req.app.config)
    async with req.app.db.session() as s:
        rep = await region_report(s, cfg, req.app.clock.now(), req.app.settings.tz)
    flags = rep.flags
    if place is not None:
        prefix = rep.names.get((place.level, place.code), place.name)
        flags = [f for f in flags if f.name.startswith(prefix)]
    metric = metric or (flags[0].metric if flags else "sign48")
    label = LABELS[metric]
    where = place.name if place else "全国"
    lines = [f"区域健康 · {where} · 揽收于近{cfg.window_days}天（基线：之前{cfg.baseline_weeks}周）",
             "全国：" + " · ".join(f"{LABELS[m]} {fmt_rate(m, rep.national[m])}" for m in METRICS)]
    if flags:
        lines.append(f"🚩 预警 {len(flags)} 条（最严重在前）：")
        lines += [f"{i}. {f.line()}" for i, f in enumerate(flags[:cfg.top_flags], 1)]
    else:
        lines.append("无预警。")
    level, parent = "province", None
    if place is not None:
        muni = str(place.code)[:2] in ("11", "12", "31", "50")
        level, parent = ("district" if muni else SUB[place.level]), place.code
        rows = rep.rows(level, parent)
        den = f"{METRICS[metric][1]}_w"
        rows = rows.sort_values(f"{metric}_rate", ascending=not METRICS[metric][2])
        lines.append(f"{place.name}{SUB_NAME[place.level]}（{label}）：" if len(rows) else
                     f"{place.name} 近{cfg.window_days}天没有揽收数据。")
        for r in rows.head(20).itertuples(index=False):
            d = r._asdict()
            name = rep.names.get((level, int(d["code"])), str(d["code"])).removeprefix(rep.names.get(
                (place.level, place.code), ""))
            n = int(d[den])
            value = fmt_rate(metric, float(d[f"{metric}_rate"])) if n >= cfg.min_parcels else "样本不足"
            lines.append(f"· {name} {value}（n={n}）")
    lines.append(f"口径：{label} = {DENOMINATORS[metric]}；分母少于{cfg.min_parcels}为「样本不足」，不预警。")
    png = await region_map_png(rep, metric, level, parent, f"{where} {label}（近{cfg.window_days}天）")
    return [Reply(text="\n".join(lines)), Reply(image=png)]


@registry.command("投诉", roles=("cs", "cs_lead"), summary="记录客户投诉（破损/延误/错发/态度…）",
                  example="投诉 BG260122-8812 破损 外箱压坏")
async def complain(req: Request, args: str) -> list[Reply]:
    cfg = RegionConfig.load(req.app.config)
    query, kind, note = parse_complaint(args, cfg.complaint_kinds)
    order = await record_complaint(req.app.orders, query, kind, note, req.actor)
    return [Reply(text=f"✅ 已记录订单 {order.order_no} 的投诉：{kind}{'（' + note + '）' if note else ''}。")]
