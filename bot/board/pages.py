"""The board's pages: 任务墙, 超时订单, 风控 (with its two actions) and one order."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.board.access import PAGES, may_act_on_risk, may_open, nav, only_own_tasks
from bot.board.render import page
from bot.board.state import board_of, user_of
from handlers.render import address_masked, event_line
from orders import board_links, timeline
from orders.errors import DomainError
from orders.labels import CHANNELS
from orders.lookup import find_order
from orders.models import Order, User
from orders.privacy import mask_name
from orders.reports.board import RISK_PAGE, review_risk, risk_orders, task_wall
from orders.reports.digest import stuck_orders
from orders.warehouse.models import ExceptionReport, WarehouseTask
from orders.warehouse.tasks import local_day

log = logging.getLogger(__name__)
COUNT_CAP = 9999  # the 超时订单 counts stop there ("9999+")


def allowed(request: web.Request, name: str) -> None:
    if not may_open(user_of(request), name):
        log.info("board: %s may not open %s", user_of(request).user_id, name)
        raise web.HTTPForbidden(text=f"您的角色不能查看「{PAGES[name][0]}」。")


async def index(request: web.Request) -> web.StreamResponse:
    pages = nav(user_of(request))
    if not pages:
        raise web.HTTPForbidden(text="您的角色没有可查看的看板页面。")
    raise web.HTTPFound(f"/board/{pages[0][0]}")


async def tasks(request: web.Request) -> web.StreamResponse:
    allowed(request, "tasks")
    board, user = board_of(request), user_of(request)
    day = local_day(board.app.clock.now(), board.app.settings.tz)
    async with board.app.db.session() as s:
        wall = await task_wall(s, day, user.user_id if only_own_tasks(user) else None)
    template = "wall.html" if request.query.get("part") == "wall" else "tasks.html"
    return page(request, template, {"title": "任务墙", "wall": wall, "day": day, "live": True})


async def overdue(request: web.Request) -> web.StreamResponse:
    allowed(request, "overdue")
    app = board_of(request).app
    f = {k: request.query.get(k, "")[:64] for k in ("state", "channel", "shop")}
    async with app.db.session() as s:
        wf = await app.workflows.current(s)
        rows, counts = await stuck_orders(s, wf.definition, app.clock.now(), 20, count_cap=COUNT_CAP, **f)
    states = [st.name for st in wf.definition.states if st.limit_hours]
    template = "overdue_rows.html" if request.query.get("part") == "rows" else "overdue.html"
    return page(request, template, {"title": "超时订单", "rows": rows, "counts": counts, "filters": f,
                                    "states": states, "channels": CHANNELS, "live": True,
                                    "cap": COUNT_CAP})


async def risk(request: web.Request) -> web.StreamResponse:
    allowed(request, "risk")
    app = board_of(request).app
    n = request.query.get("page", "1")
    n_page = min(int(n), 1000) if n.isdigit() and int(n) > 0 else 1
    async with app.db.session() as s:
        found = await risk_orders(s, RISK_PAGE, (n_page - 1) * RISK_PAGE)
    return page(request, "risk.html", {"title": "风控", "items": found.items, "more": found.more, "page_no": n_page,
                                       "may_act": may_act_on_risk(user_of(request)),
                                       "done": request.query.get("done", "")})


async def review(request: web.Request) -> web.StreamResponse:
    """POST /board/risk/{order_no}: 确认刷单 or 正常 (ops), on the order's timeline."""
    allowed(request, "risk")
    user = user_of(request)
    if not may_act_on_risk(user):
        raise web.HTTPForbidden(text="只有运营可以处理风控标记。")
    form = await request.post()
    app = board_of(request).app
    no = request.match_info["order_no"]
    try:
        async with app.db.session() as s:
            await review_risk(s, no, str(form.get("verdict", "")), actor=user.user_id, actor_name=user.name,
                              now=app.clock.now())
    except DomainError as e:
        log.info("board risk review refused: %s", e)
        raise web.HTTPBadRequest(text=str(e)) from None
    log.info("board: %s reviewed %s as %s", user.user_id, no, form.get("verdict"))
    raise web.HTTPSeeOther(f"/board/risk?done={no}")


async def order(request: web.Request) -> web.StreamResponse:
    allowed(request, "order")
    app, user = board_of(request).app, user_of(request)
    async with app.db.session() as s:
        try:
            o = await find_order(s, request.match_info["order_no"], full=True)
        except DomainError as e:
            raise web.HTTPNotFound(text=str(e)) from None
        if only_own_tasks(user):
            task = await s.scalar(select(WarehouseTask).where(WarehouseTask.order_id == o.id))
            if task is None or task.assignee_id != user.user_id:
                raise web.HTTPForbidden(text="您只能查看分配给自己的订单。")
        events = await timeline.events(s, o.id)
        reports = (await s.scalars(select(ExceptionReport).where(ExceptionReport.order_id == o.id)
                                   .order_by(ExceptionReport.id))).all()
        reporters = {u.user_id: u.name for u in (await s.scalars(
            select(User).where(User.user_id.in_([r.reporter_id for r in reports])))).all()}
    tz = app.settings.tz
    photos = [ev for ev in events if ev.kind == "evidence" and ev.detail.get("path")]
    return page(request, "order.html", {
        "title": f"订单 {o.order_no}", "o": o, "lines": [event_line(ev, tz) for ev in events], "photos": photos,
        "reports": reports, "reporters": reporters, "buyer": mask_name(o.buyer_name), "address": address_masked(o)})


async def deep_link(request: web.Request) -> web.StreamResponse:
    """``/board/go?t=…``: a signed, expiring link from chat or the digest (login still required)."""
    app = board_of(request).app
    path = board_links.path_of(app.settings.secret_key, request.query.get("t", ""), app.clock.now())
    if path is None:
        raise web.HTTPBadRequest(text="链接无效或已过期。")
    raise web.HTTPFound(path)


async def load_order_for_media(request: web.Request, order_id: int) -> Order:
    """The order a photo or recording belongs to, if the user may see that order."""
    allowed(request, "order")
    app, user = board_of(request).app, user_of(request)
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.id == order_id).options(selectinload(Order.lines)))
        if o is None:
            raise web.HTTPNotFound()
        if only_own_tasks(user):
            task = await s.scalar(select(WarehouseTask).where(WarehouseTask.order_id == o.id))
            if task is None or task.assignee_id != user.user_id:
                raise web.HTTPForbidden()
    return o
