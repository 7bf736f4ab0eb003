"""Templates (Jinja2 through aiohttp-jinja2, autoescaped) and the headers every board page carries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.board.access import nav
from bot.board.state import CSRF, USER, board_of
from orders.labels import channel_name
from orders.money import fen_to_yuan

HERE = Path(__file__).parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'; object-src 'none'")


def setup_templates(web_app: web.Application) -> None:
    env = aiohttp_jinja2.setup(web_app, loader=jinja2.FileSystemLoader(HERE / "templates"),
                               autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                               undefined=jinja2.StrictUndefined)
    env.filters["yuan"] = fen_to_yuan
    env.filters["channel"] = channel_name


def page(request: web.Request, template: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    user = request.get(USER)
    csrf = request.get(CSRF, "")
    tz = board_of(request).app.settings.tz
    base = {"title": "", "live": False, "page_name": "", "user": user, "csrf": csrf,
            "nav": nav(user) if user is not None else [],
            "when": lambda dt, fmt="%m-%d %H:%M": dt.astimezone(ZoneInfo(tz)).strftime(fmt) if dt else "-",
            "now": datetime.now(ZoneInfo(tz))}
    return aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def secure_headers(resp: web.StreamResponse) -> None:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("Cache-Control", "no-store")
