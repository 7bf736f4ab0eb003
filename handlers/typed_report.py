"""After 异常上报, a typed text (not a command) is the report: its description, and its kind
from the same keyword table as voice. The order is held until the lead's 处理."""

from __future__ import annotations

import logging

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.task_cards import warehouse_config
from handlers.tasks import VOICE
from handlers.voice import kind_table, report_card
from orders import conversations
from orders.board_links import TASKS, link_line
from orders.models import Order
from orders.warehouse.exception_reports import Heard, record_report

log = logging.getLogger(__name__)
MAX_TEXT = 255
TYPED = "typed"  # ExceptionReport.status of a typed report


@registry.conversation
async def typed_report(req: Request) -> list[Reply] | None:
    inc = req.incoming
    if inc.kind != "text" or not inc.text.strip() or registry.split_command(inc.text):
        return None
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    text = " ".join(inc.text.split())[:MAX_TEXT]
    async with app.db.session() as s:
        conv = await conversations.pending(s, req.user.user_id, (VOICE,), now)
        if conv is None or conv.order_id is None:
            return None
        order = await s.get(Order, conv.order_id)
        if order is None:
            await conversations.end(s, req.user.user_id)
            return None
        heard = Heard(kind=kind_table(app).match(text), transcript=text, status=TYPED, problem="", media_id="",
                      audio_path="", audio_sha256="", seconds=None)
        r, _ = await record_report(s, reporter=req.user, order=order, heard=heard, now=now, wh=cfg,
                                   link=link_line(app.settings, TASKS, now), board=app.settings)
        r.description = text
        await conversations.end(s, req.user.user_id)
    log.info("typed exception report #%d by %s on %s: %s", r.id, req.user.user_id, order.order_no, r.kind)
    return [Reply(text=f"收到：{text}\n识别为「{r.kind}」，已通知仓管。订单 {order.order_no} 暂停，等仓管处理。"),
            Reply(card=report_card(r, order, int(now.timestamp() * 1000)))]
