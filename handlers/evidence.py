"""Images sent to the bot: kept as evidence on the order the user is working on."""

from __future__ import annotations

import logging

from bot.dispatch import Request
from bot.keys import MEDIA_FETCHER
from bot.types import Reply
from handlers.registry import registry
from orders.warehouse.evidence import attach

log = logging.getLogger(__name__)
MAX_IMAGE = 10 * 1024 * 1024


@registry.kind("image")
async def image_evidence(req: Request) -> list[Reply]:
    order = await req.app.orders.focused(req.user.user_id)
    if order is None:
        return [Reply(text="请先发送「查 <单号>」打开要附图的订单，再发送图片，图片会存为该订单的凭证。")]
    fetcher = req.app.get(MEDIA_FETCHER)
    media_id = req.incoming.media_id
    if fetcher is None or not media_id:
        log.warning("image from %s cannot be fetched (fetcher=%s, media_id=%r)", req.user.user_id,
                    fetcher is not None, media_id[:20])
        return [Reply(text="暂时无法接收图片，请稍后再试。")]
    try:
        data = await fetcher.fetch_media(media_id)
    except Exception as e:
        log.warning("image %s from %s: fetch failed: %s", media_id[:20], req.user.user_id, e)
        return [Reply(text="图片获取失败，请重新发送一次。")]
    if not data or len(data) > MAX_IMAGE:
        log.warning("image from %s has %d bytes; refused", req.user.user_id, len(data))
        return [Reply(text="图片为空或超过10MB，请压缩后重新发送。")]
    ev = await attach(req.app.db, req.app.clock, req.app.settings.data_dir, order.id, data,
                      actor=req.user.user_id, actor_name=req.user.name, source=req.actor.source, media_id=media_id)
    if ev.duplicate:
        return [Reply(text=f"这张图片已经是订单 {ev.order_no} 的凭证了（共{ev.count}张）。")]
    log.info("evidence %s added to %s by %s", ev.sha256[:12], ev.order_no, req.user.user_id)
    return [Reply(text=f"📎 已把图片存为订单 {ev.order_no} 的凭证（共{ev.count}张）。\n"
                       f"如果不是这个订单，请先「查」对的订单再发一次。")]
