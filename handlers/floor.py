"""The warehouse lead's floor: 看板 (who has what), 异常 (open reports, audio sent back as voice
messages), 处理 (resolve one), 上岗 / 下岗 (the on-duty list), 错发 (a parcel that went out wrong)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from handlers.task_cards import warehouse_config
from orders.board_links import TASKS, link_line
from orders.errors import InvalidInput
from orders.lookup import find_order
from orders.outbox import enqueue
from orders.warehouse import duty, floor, holds
from orders.warehouse.tasks import local_day

log = logging.getLogger(__name__)
LEADS = ("warehouse", "warehouse_lead")
SHOWN = 20


def age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    mins = max(0, int((now - since) / timedelta(minutes=1)))
    return f"{mins}分钟" if mins < 60 else f"{mins // 60}小时{mins % 60}分"


@registry.command("看板", roles=LEADS, summary="仓库看板：每位在岗临时工的任务数、今日完成、最久等待",
                  example="看板")
async def board_cmd(req: Request, args: str) -> list[Reply]:
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    async with app.db.session() as s:
        wf = await app.workflows.current(s)
        b = await floor.board(s, wf.definition, cfg.assign_state, local_day(now, app.settings.tz), now)
    lines = [f"仓库看板（{local_day(now, app.settings.tz)}）："]
    for t in b.temps:
        tag = "" if t.on_duty else "（已下岗）"
        oldest = f"，最久等待 {t.oldest_no} {age(t.oldest_since, now)}" if t.oldest_no else ""
        extra = (f"，超时{t.late}单" if t.late else "") + (f"，暂停{t.held}单" if t.held else "")
        lines.append(f"· {t.name}{tag}：待处理 {t.open} 单，今日完成 {t.done_today} 单{extra}{oldest}")
    if not b.temps:
        lines.append("没有在岗的临时工。用「上岗 <姓名>」安排人员。")
    if b.unassigned:
        lines.append(f"⚠️ {cfg.assign_state} 中还有 {b.unassigned} 单没有分配（无人在岗时进入的订单），"
                     "用「分配 <单号…> <姓名>」分配。")
    return [Reply(text="\n".join(lines) + link_line(app.settings, TASKS, now, "任务墙（电脑看板）"))]


@registry.command("异常", roles=LEADS, summary="待处理的异常上报（语音原声一并发给您）", example="异常")
async def reports_cmd(req: Request, args: str) -> list[Reply]:
    app = req.app
    now = app.clock.now()
    async with app.db.session() as s:
        found, total = await floor.open_reports(s, SHOWN)
        if not found:
            return [Reply(text="没有待处理的异常上报。")]
        lines = [f"待处理的异常上报 {total} 条" + (f"（先列出最早的{SHOWN}条）" if total > SHOWN else "") + "："]
        voices = 0
        for o in found:
            r = o.report
            what = r.description or r.transcript or "待人工转写"
            lines.append(f"#{r.id} {r.kind} · 订单 {o.order_no or '待确认'} · {o.reporter} · {age(r.created_at, now)}前"
                         f"\n   {what[:60]}")
            if r.audio_path:  # the kept AMR, back to the lead as a WeCom voice message
                await enqueue(s, to=[req.user.user_id], msgtype="voice", payload={"path": r.audio_path}, now=now,
                              order_id=r.order_id)
                voices += 1
    lines.append("处理：发送「处理 <报告号> <结果>」，例如：处理 12 已换新外箱。")
    if voices:
        lines.append(f"已把 {voices} 条语音原声发给您（企业微信里点开即可播放）。")
    return [Reply(text="\n".join(lines))]


@registry.command("处理", roles=LEADS, summary="处理一条异常上报（解除它对订单的暂停）", example="处理 12 已换新外箱")
async def resolve_cmd(req: Request, args: str) -> list[Reply]:
    raw, _, result = args.strip().partition(" ")
    raw = raw.lstrip("#＃")
    if not raw.isdigit() or not result.strip():
        raise InvalidInput("用法：处理 <报告号> <结果>，例如：处理 12 已换新外箱")
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    async with app.db.session() as s:
        r, order, left = await floor.resolve(s, int(raw), result, actor=req.actor, now=now, wh=cfg,
                                             board=app.settings)
    log.info("report #%d resolved by %s", r.id, req.user.user_id)
    text = f"✅ 异常上报 #{r.id}（{r.kind}）已处理：{r.resolution}"
    if order is not None:
        text += f"\n订单 {order.order_no} " + (f"仍暂停：{holds.reasons(left)}" if left
                                                else "已解除暂停，可以继续拣货打包。")
    return [Reply(text=text)]


@registry.command("上岗", roles=LEADS, summary="安排临时工上岗（自动分配新订单）", example="上岗 周临时")
async def on_cmd(req: Request, args: str) -> list[Reply]:
    if not args.strip():
        raise InvalidInput("用法：上岗 <姓名或用户ID>，例如：上岗 周临时")
    app = req.app
    async with app.db.session() as s:
        user = await duty.find_staff(s, args)
        changed = await duty.go_on(s, user, req.user.user_id, app.clock.now())
    if not changed:
        return [Reply(text=f"{user.name}（{user.user_id}）已经在岗。")]
    return [Reply(text=f"✅ {user.name}（{user.user_id}）已上岗，新进入分单的订单会自动分配给 TA。")]


@registry.command("下岗", roles=LEADS, summary="让临时工下岗（未完成的任务改派给在岗的人）", example="下岗 周临时")
async def off_cmd(req: Request, args: str) -> list[Reply]:
    if not args.strip():
        raise InvalidInput("用法：下岗 <姓名或用户ID>，例如：下岗 周临时")
    app = req.app
    async with app.db.session() as s:
        user = await duty.find_staff(s, args)
        was, moved = await duty.go_off(s, user, req.user.user_id, req.user.name, app.clock.now(), app.settings.tz,
                                       wh=warehouse_config(app))
    head = f"✅ {user.name}（{user.user_id}）已下岗，不再分配新任务。" if was else \
        f"{user.name}（{user.user_id}）本来就不在岗。"
    done = [f"{o.order_no} → {u.name}" for o, u in moved if u is not None]
    stuck = [o.order_no for o, u in moved if u is None]
    if done:
        head += "\n未完成的任务已改派：" + "、".join(done)
    if stuck:
        head += f"\n⚠️ 没有其他在岗人员，这些任务仍在 TA 名下：{'、'.join(stuck)}。请先「上岗」其他人再「分配」。"
    return [Reply(text=head)]


@registry.command("错发", roles=LEADS, summary="登记一单错发/漏发（计入日报错发率）",
                  example="错发 BG260122-8812 发错颜色")
async def misship_cmd(req: Request, args: str) -> list[Reply]:
    query, _, note = args.strip().partition(" ")
    if not query:
        raise InvalidInput("用法：错发 <单号> [说明]，例如：错发 BG260122-8812 发错颜色")
    if len(note) > 100:
        raise InvalidInput("说明太长（最多100个字）。")
    app = req.app
    async with app.db.session() as s:
        order = await find_order(s, query)
        new = await floor.mark_misship(s, order, note.strip(), actor=req.actor, now=app.clock.now())
    if not new:
        return [Reply(text=f"订单 {order.order_no} 已经登记过错发，不重复计数。")]
    return [Reply(text=f"已登记订单 {order.order_no} 错发/漏发{('：' + note.strip()) if note.strip() else ''}，"
                       "计入日报错发率。")]
