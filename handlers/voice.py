"""Voice exception reports from warehouse temps: fetch the AMR, keep it, transcribe it off the
event loop, find the order (the card's 异常上报, else spoken digits among the temp's tasks
today, else ask), record the report, tell the lead, reply with 确认 / 重录."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from bot.dispatch import Request
from bot.keys import MEDIA_FETCHER
from bot.types import Button, Card, Reply
from handlers.registry import registry
from handlers.task_cards import update_card, warehouse_config
from handlers.tasks import VOICE
from orders import conversations
from orders.app import App, AppKey
from orders.board_links import TASKS, link_line
from orders.errors import InvalidInput
from orders.models import Order
from orders.users import has_any_role
from orders.warehouse.exception_reports import MANUAL_LABEL, Heard, attach, record_report
from orders.warehouse.models import MANUAL, ExceptionReport
from orders.warehouse.tasks import STAFF_ROLES, local_day, todays_tasks
from stt.parse import KindTable, resolve, spoken_digits
from stt.service import Transcription, keep_audio, transcribe_voice

log = logging.getLogger(__name__)
KINDS: AppKey[KindTable] = AppKey("exception_kinds", KindTable)
PICK = "report_pick"
PREFIX = "vr:"  # vr:ok:<report id>, vr:redo:<report id>


def kind_table(app: App) -> KindTable:
    return app.cached(KINDS, lambda: KindTable.from_dict(app.config.load("exceptions")))


async def _fetch(req: Request) -> tuple[bytes | None, str]:
    fetcher = req.app.get(MEDIA_FETCHER)
    media_id = req.incoming.media_id
    if fetcher is None or not media_id:
        log.error("voice from %s but no media fetcher / media_id", req.user.user_id)
        return None, "语音文件取不到"
    try:
        return await fetcher.fetch_media(media_id), ""
    except Exception as e:  # the transport's client raises on API errors; nothing may be lost
        log.error("media/get failed for %s: %s", req.user.user_id, e)
        return None, "语音文件下载失败"


def report_card(r: ExceptionReport, order: Order | None, now_ms: int) -> Card:
    heard = r.transcript if r.status != MANUAL else f"{MANUAL_LABEL}（{r.problem}）"
    return Card(task_id=f"vr{r.id}-{now_ms}", title=f"异常上报 · {r.kind}", desc=f"听到：{heard}"[:44],
                fields=(("订单", order.order_no if order else "待选择"), ("类型", r.kind),
                        ("状态", "已识别" if r.status != MANUAL else MANUAL_LABEL)),
                buttons=(Button(f"{PREFIX}ok:{r.id}", "确认", 1), Button(f"{PREFIX}redo:{r.id}", "重录", 2)))


@registry.kind("voice")
async def voice(req: Request) -> list[Reply]:
    app, cfg = req.app, warehouse_config(req.app)
    if not has_any_role(req.user, STAFF_ROLES):
        log.info("voice from %s (%s) ignored: not warehouse staff", req.user.user_id, ",".join(req.user.roles))
        return [Reply(text="语音消息目前只用于仓库异常上报。请发送文字命令，发送「帮助」查看可用命令。")]
    data, problem = await _fetch(req)
    now = app.clock.now()
    path, sha = "", ""
    if data is not None:
        path, sha = await asyncio.to_thread(keep_audio, app.settings.data_dir, data, now)
        tr = await transcribe_voice(app, data)
    else:
        tr = Transcription("", MANUAL, problem)
    table = kind_table(app)
    kind = table.match(tr.text) if tr.text else table.other
    heard = Heard(kind=kind, transcript=tr.text, status=tr.status, problem=tr.problem,
                  media_id=req.incoming.media_id, audio_path=path, audio_sha256=sha, seconds=tr.seconds)
    now = app.clock.now()
    async with app.db.session() as s:
        order: Order | None = None
        conv = await conversations.pending(s, req.user.user_id, (VOICE,), now)
        tasks = []  # the temp's tasks today: only needed when the report does not name its order
        if conv is not None and conv.order_id is not None:
            order = await s.get(Order, conv.order_id)
            await conversations.end(s, req.user.user_id)
        else:
            tasks = await todays_tasks(s, req.user.user_id, local_day(now, app.settings.tz))
        if order is None and tr.text:
            ids = resolve(spoken_digits(tr.text), [(o.id, o.order_no, o.channel_order_id) for _, o in tasks])
            order = next((o for _, o in tasks if o.id == ids[0]), None) if len(ids) == 1 else None
        r, _leads = await record_report(s, reporter=req.user, order=order, heard=heard, now=now,
                                       wh=cfg, link=link_line(app.settings, TASKS, now),
                                       board=app.settings)
        if order is None and tasks:
            await conversations.begin(s, req.user.user_id, PICK, now, cfg.voice_minutes,
                                      data={"report": r.id, "orders": [o.id for _, o in tasks]})
    log.info("exception report #%d by %s: order=%s kind=%s status=%s", r.id, req.user.user_id,
             order.order_no if order else None, r.kind, r.status)
    if r.status == MANUAL:
        kept = "已保存原始语音" if r.audio_path else "已记录这条语音"
        text = f"收到语音，但{r.problem}。{kept}并标记为{MANUAL_LABEL}，已通知仓管，不会丢失。"
    else:
        text = f"收到：{r.transcript}\n识别为「{r.kind}」。请确认，识别有误请点「重录」。"
    if order is not None:
        text += f"\n订单：{order.order_no}"
    elif tasks:
        text += "\n没能确定是哪一单，请回复序号选择：\n" + "\n".join(
            f"{i}. {o.order_no}" for i, (_, o) in enumerate(tasks, 1))
    else:
        text += "\n您今天没有任务，已交给仓管确认订单。"
    return [Reply(text=text), Reply(card=report_card(r, order, int(now.timestamp() * 1000)))]


@registry.conversation
async def pick_order(req: Request) -> list[Reply] | None:
    """After a report whose order was not understood: the temp replies with a number from the list."""
    inc = req.incoming
    if inc.kind != "text" or not inc.text.strip():
        return None
    choice = inc.text.strip()
    if registry.split_command(choice):
        return None
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    async with app.db.session() as s:
        conv = await conversations.pending(s, req.user.user_id, (PICK,), now)
        if conv is None:
            return None
        ids: list[int] = list(conv.data.get("orders") or [])
        orders = {o.id: o for o in (await s.scalars(select(Order).where(Order.id.in_(ids)))).all()}
        picked: Order | None = None
        if choice.isdigit() and 1 <= int(choice) <= len(ids):
            picked = orders.get(ids[int(choice) - 1])
        else:
            hits = resolve(spoken_digits(choice),
                           [(o.id, o.order_no, o.channel_order_id) for o in orders.values()])
            picked = orders.get(hits[0]) if len(hits) == 1 else None
        if picked is None:
            return [Reply(text=f"请回复 1 到 {len(ids)} 之间的序号来选择订单。")]
        r = await s.get(ExceptionReport, int(conv.data["report"]))
        if r is None:
            await conversations.end(s, req.user.user_id)
            return [Reply(text="这条异常上报已不存在。")]
        await attach(s, r, picked, req.user, now, cfg, link_line(req.app.settings, TASKS, now),
                     board=req.app.settings)
        await conversations.end(s, req.user.user_id)
    return [Reply(text=f"✅ 异常上报 #{r.id} 已记到订单 {picked.order_no}（{r.kind}）。")]


@registry.button(PREFIX)
async def review(req: Request, key: str) -> list[Reply]:
    _, action, raw = ([*key.split(":"), "", ""])[:3]
    if action not in ("ok", "redo") or not raw.isdigit():
        return [Reply(text="这个按钮已失效。")]
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    code = req.incoming.response_code
    async with app.db.session() as s:
        r = await s.get(ExceptionReport, int(raw))
        if r is None or r.reporter_id != req.user.user_id:
            raise InvalidInput("抱歉，这条异常上报不是您提交的，不能操作。")
        if r.review != "draft":
            return [Reply(text=f"异常上报 #{r.id} 已经{'确认' if r.review == 'confirmed' else '重录'}过了。")]
        r.updated_at = now
        if action == "ok":
            r.review = "confirmed"
            await update_card(s, req.user.user_id, code, now, replace_name="✅ 已确认", order_id=r.order_id)
            return [Reply(text=f"已确认异常上报 #{r.id}，谢谢！")]
        r.review = "rerecorded"
        await conversations.begin(s, req.user.user_id, VOICE, now, cfg.voice_minutes, order_id=r.order_id,
                                  data={"rerecord": r.id})
        await update_card(s, req.user.user_id, code, now, replace_name="已重录", order_id=r.order_id)
    return [Reply(text=f"好的，请在{cfg.voice_minutes}分钟内重新发一条语音。")]
