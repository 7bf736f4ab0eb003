"""任务 / 分配 and the task card buttons: 扫码拣货 (then a scan or a typed code), 异常上报,
完成打包. A temp acts only on the cards assigned to them."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.dispatch import Request, may_run
from bot.types import Reply
from handlers.registry import registry
from handlers.task_cards import PREFIX, task_card, update_card, warehouse_config
from orders import conversations, timeline
from orders.errors import InvalidInput
from orders.lookup import find_order
from orders.models import Order
from orders.users import get_user
from orders.warehouse.models import WarehouseTask
from orders.warehouse.tasks import STAFF_ROLES, assign, local_day, normalize_code, scan_matches, todays_tasks

log = logging.getLogger(__name__)
SCAN = "task_scan"
VOICE = "voice_report"
LEADS = ("warehouse",)


@registry.command("任务", roles=STAFF_ROLES, summary="今天分配给我的拣货任务（每单一张卡片）",
                  example="任务", aliases=("我的任务",))
async def my_tasks(req: Request, args: str) -> list[Reply]:
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    async with app.db.session() as s:
        rows = await todays_tasks(s, req.user.user_id, local_day(now, app.settings.tz))
    if not rows:
        return [Reply(text="今天还没有分配给您的任务。有新任务时再发送「任务」。")]
    open_ = [(t, o) for t, o in rows if t.state != "packed"]
    head = f"今天的任务：共{len(rows)}单，已完成{len(rows) - len(open_)}单，待处理{len(open_)}单。"
    shown = open_[: cfg.cards_per_request]
    if len(open_) > len(shown):
        head += f"\n先显示前{len(shown)}单，完成后再发送「任务」查看其余。"
    if not open_:
        head += "\n全部完成，辛苦了！"
    return [Reply(text=head), *(Reply(card=task_card(t, o, now)) for t, o in shown)]


@registry.kind("event:click:tasks")
async def tasks_menu(req: Request) -> list[Reply]:
    """The app menu item with key ``tasks`` does what 任务 does (same role check)."""
    if not may_run(req.app, req.user, registry.commands["任务"]):
        return [Reply(text="您的角色不能使用「任务」。")]
    return await my_tasks(req, "")


@registry.command("分配", roles=LEADS, summary="把订单分配给仓库临时工", example="分配 BG260122-8812 temp01")
async def assign_cmd(req: Request, args: str) -> list[Reply]:
    parts = args.split()
    if len(parts) != 2:
        raise InvalidInput("用法：分配 <单号> <用户ID>，例如：分配 BG260122-8812 temp01")
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    async with app.db.session() as s:
        order = await find_order(s, parts[0])
        user = await get_user(s, parts[1])
        if user is None:
            raise InvalidInput(f"没有用户「{parts[1][:64]}」，请检查用户ID。")
        if not set(STAFF_ROLES) & set(user.roles):
            raise InvalidInput(f"{user.name}（{user.user_id}）不是仓库人员，不能分配拣货任务。")
        if order.status not in cfg.assignable_states:
            raise InvalidInput(f"订单 {order.order_no} 当前是「{order.status}」，只能分配"
                               f"{'、'.join(cfg.assignable_states)}的订单。")
        await assign(s, order, user, req.user.user_id, now, app.settings.tz, source=req.actor.source,
                     by_name=req.user.name)
    log.info("order %s assigned to %s by %s", order.order_no, user.user_id, req.user.user_id)
    return [Reply(text=f"✅ 订单 {order.order_no} 已分配给 {user.name}（{user.user_id}）。")]


async def _own_task(s: AsyncSession, req: Request, task_id: int) -> tuple[WarehouseTask, Order]:
    task = await s.get(WarehouseTask, task_id)
    if task is None or task.assignee_id != req.user.user_id:
        log.warning("user %s pressed a card of task %s not assigned to them", req.user.user_id, task_id)
        raise InvalidInput("抱歉，这张任务卡没有分配给您，不能操作。请发送「任务」查看您自己的任务。")
    order = await s.scalar(select(Order).where(Order.id == task.order_id).options(selectinload(Order.lines)))
    assert order is not None
    return task, order


@registry.button(PREFIX)
async def press(req: Request, key: str) -> list[Reply]:
    _, action, raw_id = ([*key.split(":"), "", ""])[:3]
    if action not in ("scan", "report", "pack") or not raw_id.isdigit():
        log.warning("bad task button key %r from %s", key[:60], req.user.user_id)
        return [Reply(text="这个按钮已失效，请发送「任务」重新打开任务卡。")]
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    code = req.incoming.response_code
    actor = dataclasses.replace(req.actor, source="button")
    async with app.db.session() as s:
        task, order = await _own_task(s, req, int(raw_id))
        if action == "scan":
            if task.state != "assigned":
                return [Reply(text=f"订单 {order.order_no} 已经扫码拣货过了，不用重复操作。")]
            await conversations.begin(s, req.user.user_id, SCAN, now, cfg.scan_minutes, order_id=order.id,
                                      data={"task": task.id, "response_code": code})
            return [Reply(text=f"请扫描订单 {order.order_no} 的商品条码或面单（也可以直接输入编码）。")]
        if action == "report":
            await conversations.begin(s, req.user.user_id, VOICE, now, cfg.voice_minutes, order_id=order.id,
                                      data={"task": task.id})
            await update_card(s, req.user.user_id, code, now, order_id=order.id,
                              card=task_card(task, order, now, note=f"等待语音异常上报（{cfg.voice_minutes}分钟内）"))
            return [Reply(text=f"请在{cfg.voice_minutes}分钟内发一条语音，说明订单 {order.order_no} 的异常"
                               "（例如：外箱破损、漏发一件）。")]
        if task.state == "packed":
            return [Reply(text=f"订单 {order.order_no} 已经打包完成了，不用重复操作。")]
        if task.state != "picking":
            return [Reply(text=f"订单 {order.order_no} 还没有扫码核对，请先点「扫码拣货」再打包。")]
        await app.orders.move(s, order, cfg.pack_state, actor)
        task.state, task.packed_at = "packed", now
        await update_card(s, req.user.user_id, code, now, replace_name="✅ 已打包完成", order_id=order.id)
    return [Reply(text=f"✅ 订单 {order.order_no} 打包完成（{cfg.pack_state}）。")]


@registry.conversation
async def pending_scan(req: Request) -> list[Reply] | None:
    """After 扫码拣货: the next scan, or a typed code, is checked against the card's order."""
    inc = req.incoming
    if inc.kind not in ("scan", "text"):
        return None
    if inc.kind == "text" and (not inc.text.strip() or registry.split_command(inc.text)):
        return None
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    code = normalize_code(inc.scan_result if inc.kind == "scan" else inc.text)[:64]
    async with app.db.session() as s:
        conv = await conversations.pending(s, req.user.user_id, (SCAN,), now)
        if conv is None:
            return None
        task, order = await _own_task(s, req, int(conv.data["task"]))
        if not scan_matches(order, code):
            task.wrong_scans += 1
            timeline.record(s, order_id=order.id, at=now, actor=req.user.user_id, source="button",
                            kind="scan_mismatch", detail={"actor_name": req.user.name, "code": code,
                                                          "summary": f"扫码不符 {code}，已拦截"})
            log.warning("mis-ship refused: %s scanned %r for order %s", req.user.user_id, code, order.order_no)
            skus = "、".join(f"{ln.sku}×{ln.qty}" for ln in order.lines)
            return [Reply(text=f"⚠️ 扫码不符！「{code}」不是订单 {order.order_no} 的商品或单号，请勿装箱发货。\n"
                               f"本单商品：{skus}\n请核对后重新扫码。")]
        actor = dataclasses.replace(req.actor, source="button")
        if order.status != cfg.pick_state:  # assigned while already picking: nothing to move
            await app.orders.move(s, order, cfg.pick_state, actor, detail={"scan": code})
        task.state, task.picked_at = "picking", now
        await conversations.end(s, req.user.user_id)
        await update_card(s, req.user.user_id, str(conv.data.get("response_code") or ""), now,
                          card=task_card(task, order, now), order_id=order.id)
    return [Reply(text=f"✅ 扫码一致：订单 {order.order_no} → {cfg.pick_state}。拣完后点「完成打包」。")]

