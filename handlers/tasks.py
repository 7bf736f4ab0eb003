"""任务 / 分配 and the task card buttons: 扫码拣货 (then one scan per unit, or a scan and a typed
quantity), 异常上报, 完成打包 (only when every unit is scanned). A temp acts only on the cards
assigned to them; a held order refuses scans and packing."""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.dispatch import Request, may_run
from bot.types import Reply
from handlers.registry import registry
from handlers.task_cards import warehouse_config
from orders import conversations
from orders.errors import InvalidInput
from orders.lookup import find_order
from orders.models import Order
from orders.warehouse import holds
from orders.warehouse.card import PREFIX, cards_for, done, refresh, units
from orders.warehouse.duty import find_staff
from orders.warehouse.flow import advance_to, forward_label, next_stop
from orders.warehouse.models import WarehouseTask
from orders.warehouse.picking import ScanResult, expected_text, parse_qty, scan_goods, undo
from orders.warehouse.tasks import STAFF_ROLES, assign, local_day, todays_tasks

log = logging.getLogger(__name__)
SCAN = "task_scan"
VOICE = "voice_report"
LEADS = ("warehouse", "warehouse_lead")
BARE_QTY = re.compile(r"^\d{1,3}$")


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
        wf = await app.workflows.current(s)
        cards = [c for t, o in shown
                 for c in await cards_for(s, t, o, now, forward=forward_label(wf.definition, o.status, cfg))]
    return [Reply(text=head), *(Reply(card=c) for c in cards)]


@registry.kind("event:click:tasks")
async def tasks_menu(req: Request) -> list[Reply]:
    """The app menu item with key ``tasks`` does what 任务 does (same role check)."""
    if not may_run(req.app, req.user, registry.commands["任务"]):
        return [Reply(text="您的角色不能使用「任务」。")]
    return await my_tasks(req, "")


@registry.command("分配", roles=LEADS, summary="把一个或多个订单分配给仓库临时工（姓名或用户ID）",
                  example="分配 BG260122-8812 BG260122-8813 周临时")
async def assign_cmd(req: Request, args: str) -> list[Reply]:
    parts = args.split()
    if len(parts) < 2:
        raise InvalidInput("用法：分配 <单号> [单号…] <姓名或用户ID>，例如：分配 8812 8813 周临时")
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    async with app.db.session() as s:
        user = await find_staff(s, parts[-1])
        orders = [await find_order(s, q) for q in parts[:-1]]
        for order in orders:
            if order.status not in cfg.assignable_states:
                raise InvalidInput(f"订单 {order.order_no} 当前是「{order.status}」，只能分配"
                                   f"{'、'.join(cfg.assignable_states)}的订单。")
        for order in dict.fromkeys(orders):
            await assign(s, order, user, req.user.user_id, now, app.settings.tz, source=req.actor.source,
                         by_name=req.user.name, wh=cfg)
    nos = "、".join(o.order_no for o in dict.fromkeys(orders))
    log.info("orders %s assigned to %s by %s", nos, user.user_id, req.user.user_id)
    return [Reply(text=f"✅ 订单 {nos} 已分配给 {user.name}（{user.user_id}）。")]


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
        if action == "report":
            await conversations.begin(s, req.user.user_id, VOICE, now, cfg.voice_minutes, order_id=order.id,
                                      data={"task": task.id})
            await refresh(s, task, order, now, response_code=code,
                          note=f"等待语音异常上报（{cfg.voice_minutes}分钟内）")
            return [Reply(text=f"请在{cfg.voice_minutes}分钟内发一条语音（或直接打字），"
                               f"说明订单 {order.order_no} 的异常（例如：外箱破损、漏发一件）。")]
        if task.state == "packed":
            return [Reply(text=f"订单 {order.order_no} 已经打包完成了，不用重复操作。")]
        await holds.require_free(s, order, "扫码拣货" if action == "scan" else "打包")
        if action == "scan":
            await conversations.begin(s, req.user.user_id, SCAN, now, cfg.scan_minutes, order_id=order.id,
                                      data={"task": task.id, "response_code": code})
            return [Reply(text=f"请逐件扫描订单 {order.order_no} 的商品条码（每件扫一次；同一商品多件可扫一次后"
                               f"回复数量）。\n本单：{expected_text(task, order)}")]
        got, want = units(task, order)
        if got < want:
            return [Reply(text=f"订单 {order.order_no} 还有 {want - got} 件没有扫码（已扫 {got}/{want}），不能打包：\n"
                               f"{expected_text(task, order)}\n请点「扫码拣货」逐件扫码。")]
        wf = await app.workflows.current(s)
        stop = next_stop(wf.definition, order.status, cfg)
        await advance_to(app.orders, s, order, stop, actor, wf)
        if stop != cfg.pack_state:  # a state added before packing, with its own button (流程 加状态)
            label = forward_label(wf.definition, order.status, cfg)
            await refresh(s, task, order, now, response_code=code, note=f"{stop}：完成后点「{label}」", forward=label)
            return [Reply(text=f"✅ 订单 {order.order_no} → {stop}。完成后点「{label}」。")]
        task.state, task.packed_at = "packed", now
        await conversations.end(s, req.user.user_id)
        await refresh(s, task, order, now, response_code=code)
    return [Reply(text=f"✅ 订单 {order.order_no} 打包完成（{cfg.pack_state}）。")]


def _refusal(order: Order, task: WarehouseTask, r: ScanResult) -> str:
    need = f"本单还需：{expected_text(task, order)}"
    if r.kind == "other_order":
        return (f"⚠️ 扫码不符！「{r.code}」是订单 {r.other_order} 的单号/面单，不是本单商品，请勿装箱发货。\n{need}")
    if r.kind == "bad_code":
        return f"⚠️ 扫码不符！条码「{r.code}」无效：{r.problem}。请重新扫描。\n{need}"
    if r.kind == "mispick":
        return (f"⚠️ 扫码不符，拣错了！「{r.code}」是 {r.sku}，订单 {order.order_no} 不需要这个商品，"
                f"请放回，勿装箱发货。\n{need}")
    if r.kind == "over":
        assert r.line is not None
        return (f"⚠️ 数量不对：{r.sku} 本单只要 {r.line.qty} 件，已扫 {r.line_done} 件，请勿多装。\n{need}")
    return f"⚠️ 扫码不符！「{r.code}」不是订单 {order.order_no} 的商品（条码表里没有这个编码），请勿装箱发货。\n{need}"


@registry.conversation
async def pending_scan(req: Request) -> list[Reply] | None:
    """After 扫码拣货: each scan (or typed code, ``code*2``, or a bare quantity after a scan) is
    checked against the card's order and counted towards its line."""
    inc = req.incoming
    if inc.kind not in ("scan", "text"):
        return None
    if inc.kind == "text" and (not inc.text.strip() or registry.split_command(inc.text)):
        return None
    app, cfg = req.app, warehouse_config(req.app)
    now = app.clock.now()
    raw = inc.scan_result if inc.kind == "scan" else inc.text
    async with app.db.session() as s:
        conv = await conversations.pending(s, req.user.user_id, (SCAN,), now)
        if conv is None:
            return None
        task, order = await _own_task(s, req, int(conv.data["task"]))
        await holds.require_free(s, order, "扫码拣货")
        actor = dataclasses.replace(req.actor, source="button")
        typed = unicodedata.normalize("NFKC", raw).strip()
        last = conv.data.get("last")
        if inc.kind == "text" and BARE_QTY.match(typed):
            if not last:
                return [Reply(text="请先扫描商品条码，再回复数量。")]
            line = next(ln for ln in order.lines if ln.id == last["line"])
            before = done(task, line) - int(last["n"])
            if not 1 <= int(typed) <= line.qty - before:
                return [Reply(text=f"⚠️ 数量不对：{line.sku} 本单要 {line.qty} 件，这次最多记 {line.qty - before} 件。")]
            undo(task, line, int(last["n"]))
            r = await scan_goods(s, task, order, str(last["code"]), int(typed), actor=actor, now=now)
        else:
            code, qty = parse_qty(raw)
            r = await scan_goods(s, task, order, code, qty, actor=actor, now=now)
        if r.kind == "slip":
            cards = await cards_for(s, task, order, now)
            return [Reply(text=f"「{r.code}」是订单号/面单：已打开任务卡，但不算商品。请扫描商品上的条码。\n"
                               f"已扫 {r.got}/{r.want} 件。"), *(Reply(card=c) for c in cards)]
        if r.kind != "goods":
            log.warning("scan refused (%s): %s scanned %r for order %s", r.kind, req.user.user_id, r.code,
                        order.order_no)
            return [Reply(text=_refusal(order, task, r))]
        assert r.line is not None
        wf = await app.workflows.current(s)
        names = wf.definition.names
        if order.status in names and cfg.pick_state in names and \
                names.index(order.status) < names.index(cfg.pick_state):  # the first goods scan starts the pick
            await advance_to(app.orders, s, order, cfg.pick_state, actor, wf, detail={"scan": r.code})
        task.state = "picking"
        task.picked_at = task.picked_at or now
        press_code = str(conv.data.get("response_code") or "")  # one use: the first goods scan
        conv.data = {**conv.data, "last": {"line": r.line.id, "n": r.counted, "code": r.code}, "response_code": ""}
        if press_code or r.complete:
            await refresh(s, task, order, now, response_code=press_code,
                          forward=forward_label(wf.definition, order.status, cfg))
    head = f"✅ 扫码一致：{r.sku} {r.line.name} {r.line_done}/{r.line.qty}，本单已扫 {r.got}/{r.want} 件"
    if r.complete:
        return [Reply(text=f"{head}。\n全部扫完，可以点「{forward_label(wf.definition, order.status, cfg)}」。")]
    return [Reply(text=f"{head}。\n还需：{expected_text(task, order)}")]
