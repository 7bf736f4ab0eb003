"""Wiring the board into the ``orderbot serve`` web app: routes, the login guard, security headers."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import select

from bot.board import analytics, live, login, media, pages
from bot.board.render import HERE, secure_headers, setup_templates
from bot.board.session import SESSION_COOKIE, Signer
from bot.board.state import BOARD, CSRF, USER, Board, CodeResolver, PageCache
from orders import board_links
from orders.app import App
from orders.models import User

log = logging.getLogger(__name__)
PUBLIC = ("/board/login", "/board/auth", "/board/static/")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every board path but the login flow needs a valid session of an active user; POSTs need the
    session's CSRF token."""
    if not request.path.startswith("/board") or request.path.startswith(PUBLIC):
        return await handler(request)
    board = request.app[BOARD]
    sess = board.signer.session(request.cookies.get(SESSION_COOKIE))
    user = None
    if sess is not None:
        async with board.app.db.session() as s:
            user = await s.scalar(select(User).where(User.user_id == sess.user_id))
    if sess is None or user is None or not user.active:
        if request.method == "GET" and request.path != "/board/events":
            raise web.HTTPFound(f"/board/login?next={request.path_qs}" if request.path_qs.startswith("/board/")
                                else "/board/login")
        raise web.HTTPUnauthorized(text="请先登录看板。")
    request[USER], request[CSRF] = user, sess.csrf
    if request.method == "POST":
        form = await request.post()
        if not hmac.compare_digest(str(form.get("csrf", "")), sess.csrf):
            log.warning("board: CSRF token mismatch for %s on %s", user.user_id, request.path)
            raise web.HTTPForbidden(text="页面已过期，请刷新后再试。")
    return await handler(request)


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/board"):
        secure_headers(response)


async def _disabled(request: web.Request) -> web.StreamResponse:
    return web.Response(status=503, text="看板未启用：请设置 ORDERBOT_SECRET_KEY。")


def add_board_routes(web_app: web.Application, app: App, wecom: CodeResolver) -> None:
    """Serve the board under ``/board/`` (disabled, with a 503 saying why, without a secret key)."""
    if not app.settings.secret_key:
        log.warning("board disabled: ORDERBOT_SECRET_KEY is not set")
        web_app.router.add_route("*", "/board{tail:.*}", _disabled)
        return
    web_app[BOARD] = Board(app, wecom, Signer(app.settings.secret_key, app.settings.board_session_hours * 3600),
                           cache=PageCache(clock=lambda: app.clock.now().timestamp()))
    web_app.middlewares.append(guard)
    web_app.on_response_prepare.append(_headers)
    setup_templates(web_app)
    live.install_feed(web_app, app.db)
    r = web_app.router
    r.add_get("/board/login", login.login)
    r.add_get("/board/auth", login.auth)
    r.add_post("/board/logout", login.logout)
    r.add_get("/board/", pages.index)
    r.add_get("/board", pages.index)
    r.add_get("/board/tasks", pages.tasks)
    r.add_get("/board/overdue", pages.overdue)
    r.add_get("/board/risk", pages.risk)
    r.add_post("/board/risk/{order_no}", pages.review)
    r.add_get("/board/order/{order_no}", pages.order)
    r.add_get("/board/regions", analytics.regions)
    r.add_get("/board/customers", analytics.customers)
    r.add_get("/board/collab", analytics.collab)
    r.add_get("/board/go", pages.deep_link)
    r.add_get("/board/photo/{event_id:\\d+}", media.photo)
    r.add_get("/board/audio/{report_id:\\d+}.wav", media.audio)
    r.add_get("/board/events", live.events)
    r.add_static("/board/static/", HERE / "static", append_version=True)


def deep_link(app: App, path: str) -> str:
    """A signed link to a board page for chat and the digest ('' when the board is off or has no URL)."""
    return board_links.deep_link(app.settings, path, app.clock.now())
