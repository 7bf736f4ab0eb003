"""查 and 轨迹: read an order and its timeline."""

from __future__ import annotations

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.render import MAX_SHEET_LINES, event_line, scan_line, sheet_text, when
from orders.app import AppKey
from orders.board_links import link_line, order_path
from orders.models import Order
from orders.reports.collaboration import collab_config, record_ask
from orders.reports.region_config import RegionConfig
from orders.reports.unsigned import overdue_since
from orders.sheet import order_sheet, order_track
from orders.shown import OrderShown

READERS = ("cs", "cs_lead", "warehouse", "finance", "ops", "manager")
MAX_TIMELINE_LINES = 60
MAX_SHEET_EVENTS = 5
LOGISTICS = "【物流】"
# 帮助 shows these under 查 (each finds an order in the demo data; tests/test_tour.py asks them)
KEY_EXAMPLES = ("查 3968421047724458", "查 尾号4458", "查 13812345678", "查 138****5678", "查 张三丰",
                "查 73123456789012", "查 789012")
REGIONS: AppKey[RegionConfig] = AppKey("query_regions_yaml", RegionConfig)  # read once per process, not per 查


@registry.command("查", roles=READERS, summary="查订单：单号/尾号、平台单号、手机号或尾号、买家姓名、运单号都能查",
                  example="查 BG260122-8812 或 查 8812", aliases=("查询", "查单", "查看"))
async def query(req: Request, args: str) -> list[Reply]:
    sheet = await order_sheet(req.app.orders, args, user_id=req.user.user_id, last=MAX_SHEET_EVENTS)
    tz = req.app.settings.tz
    await _asked(req, sheet.order, "查")
    hours = req.app.cached(REGIONS, lambda: RegionConfig.load(req.app.config)).sign_hours
    link = _board(req, sheet.order)  # the board's order page, on the last of the lines a phone shows
    room = MAX_SHEET_LINES - bool(link)
    picked = await overdue_since(req.app.db, sheet.order, req.app.clock.now(), hours)
    if picked is not None:
        warn = f"⚠️ 超{hours}小时未签收（{when(picked, tz)} 揽收），请跟进。"
        return [Reply(text=sheet_text(sheet, tz, max_lines=room - 1) + "\n" + warn + link)]
    return [Reply(text=sheet_text(sheet, tz, max_lines=room) + link)]


@registry.command("轨迹", roles=READERS, summary="订单的完整时间线", example="轨迹 BG260122-8812")
async def history(req: Request, args: str) -> list[Reply]:
    order, events, scans = await order_track(req.app.orders, args)
    await _asked(req, order, "轨迹")
    tz = req.app.settings.tz
    # the order's events and the parcel's own scans, by time (a scan without a readable time last)
    merged = sorted([(ev.at, 0, event_line(ev, tz)) for ev in events]
                    + [(sc.event_at or sc.received_at, 1, f"{LOGISTICS}{scan_line(sc, tz)}") for sc in scans],
                    key=lambda x: (x[0], x[1]))
    lines = [f"订单 {order.order_no} 的完整轨迹（{len(merged)}条，含物流 {len(scans)} 条）：" if scans
             else f"订单 {order.order_no} 的完整轨迹（{len(merged)}条）："]
    shown = merged[-MAX_TIMELINE_LINES:]
    if len(merged) > len(shown):
        lines.append(f"（较早的 {len(merged) - len(shown)} 条省略）")
    lines += [f"{i}. {text}" for i, (_, _, text) in enumerate(shown, len(merged) - len(shown) + 1)]
    if not merged:
        lines.append("（暂无记录）")
    return [Reply(text="\n".join(lines))]


def _board(req: Request, order: Order | OrderShown) -> str:
    """The order's board page as a signed link ('' when the board has no public URL)."""
    return link_line(req.app.settings, order_path(order.order_no), req.app.clock.now())


async def _asked(req: Request, order: Order | OrderShown, command: str) -> None:
    """Note the look-up for the collaboration report (who asked, the order's state then)."""
    await record_ask(req.app.db, order_id=order.id, state=order.status, state_since=order.status_since, user=req.user,
                     command=command, at=req.app.clock.now(), msg_id=req.incoming.msg_id,
                     cfg=collab_config(req.app))
