"""WeCom login for the board: OAuth2 inside the WeCom client, the web-login QR on a PC browser.
Both come back to ``/board/auth?code=…&state=…``; ``auth/getuserinfo`` turns the code into a member."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from bot.board.render import page, redirect
from bot.board.session import SESSION_COOKIE, STATE_COOKIE, STATE_SECONDS, safe_next
from bot.board.state import board_of
from notifications.wecom_api import WeComError
from orders.models import User

log = logging.getLogger(__name__)
MAX_CODE = 512


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


def _base(request: web.Request) -> str:
    configured = board_of(request).app.settings.board_url.rstrip("/")
    return configured or f"{request.scheme}://{request.host}"


def _limited(request: web.Request) -> web.Response | None:
    peer = request.remote or "?"
    if board_of(request).limiter.allow(peer):
        return None
    log.warning("board login rate limit hit by %s", peer)
    return web.Response(status=429, text="登录请求太频繁，请稍后再试。", content_type="text/plain")


def login_url(request: web.Request, state: str) -> str:
    s = board_of(request).app.settings
    redirect = f"{_base(request)}/board/auth"
    if "wxwork" in request.headers.get("User-Agent", "").lower():  # inside the WeCom client: OAuth2
        q = urlencode({"appid": s.wecom_corp_id, "redirect_uri": redirect, "response_type": "code",
                       "scope": "snsapi_base", "state": state, "agentid": s.wecom_agent_id})
        return f"{s.wecom_oauth_url}?{q}#wechat_redirect"
    q = urlencode({"login_type": "CorpApp", "appid": s.wecom_corp_id, "agentid": s.wecom_agent_id,
                   "redirect_uri": redirect, "state": state})
    return f"{s.wecom_sso_url}?{q}"


async def login(request: web.Request) -> web.StreamResponse:
    """Start a login: bind a fresh ``state`` to this browser (cookie), then go to WeCom."""
    if (r := _limited(request)) is not None:
        return r
    state, cookie = board_of(request).signer.new_state(safe_next(request.query.get("next")))
    resp = redirect(login_url(request, state))
    resp.set_cookie(STATE_COOKIE, cookie, max_age=STATE_SECONDS, path="/board/", httponly=True,
                    secure=_secure(request), samesite="Lax")
    return resp


def _refuse(request: web.Request, status: int, why: str, log_why: str) -> web.Response:
    log.warning("board login refused (%s) from %s", log_why, request.remote)
    return page(request, "message.html", {"title": "无法登录", "message": why, "retry": True}, status=status)


async def auth(request: web.Request) -> web.StreamResponse:
    """WeCom's return: check the state against this browser, the code with WeCom, the user with us."""
    if (r := _limited(request)) is not None:
        return r
    board = board_of(request)
    code, state = request.query.get("code", ""), request.query.get("state", "")
    next_path = board.signer.check_state(request.cookies.get(STATE_COOKIE), state)
    if next_path is None:
        return _refuse(request, 400, "登录状态不符或已过期，请重新登录。", "state mismatch")
    if not code or len(code.encode()) > MAX_CODE:
        return _refuse(request, 400, "缺少登录码，请重新登录。", "no or oversized code")
    try:
        who = await board.wecom.user_of_code(code)
    except WeComError as e:
        return _refuse(request, 403, "登录码无效或已过期，请重新登录。", f"getuserinfo errcode {e.errcode}")
    user_id = str(who.get("userid") or who.get("UserId") or "")
    if not user_id:
        return _refuse(request, 403, "仅限本企业成员使用看板。", "not a member")
    async with board.app.db.session() as s:
        user = await s.scalar(select(User).where(User.user_id == user_id))
    if user is None or not user.active:
        return _refuse(request, 403, f"您的账号「{user_id}」还没有开通 orderbot，请联系管理员。", "unknown user")
    log.info("board login: %s", user_id)
    resp = redirect(safe_next(next_path))
    resp.set_cookie(SESSION_COOKIE, board.signer.new_session(user_id), max_age=int(board.signer.session_seconds),
                    path="/board/", httponly=True, secure=_secure(request), samesite="Lax")
    resp.del_cookie(STATE_COOKIE, path="/board/")
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    """POST with the CSRF token (checked by the middleware): the session cookie is dropped."""
    resp = page(request, "message.html", {"title": "已退出", "message": "您已退出看板。", "retry": True})
    resp.del_cookie(SESSION_COOKIE, path="/board/")
    return resp
