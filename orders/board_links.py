"""Signed, expiring links to PC board pages, for chat replies, notifications and the digest.
A link only says which page to open: the board still asks for a WeCom login. Kept below the
board (``bot.board``) so the digest and the warehouse notifications can add links too."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from config import Settings

LINK_TTL = timedelta(days=7)
TASKS, OVERDUE, REGIONS, CUSTOMERS, COLLAB = ("/board/tasks", "/board/overdue", "/board/regions",
                                              "/board/customers", "/board/collab")


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="board-link")


def sign_path(secret: str, path: str, now: datetime, ttl: timedelta = LINK_TTL) -> str:
    """The token of ``/board/go?t=…`` for ``path``, valid until ``now + ttl``."""
    return str(_serializer(secret).dumps({"p": path, "e": int((now + ttl).timestamp())}))


def path_of(secret: str, token: str, now: datetime) -> str | None:
    """The board path a token names, or None when forged, expired or not a board path."""
    try:
        data = _serializer(secret).loads(token or "")
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), str) or not isinstance(data.get("e"), int):
        return None
    path = data["p"]
    if data["e"] < now.timestamp() or not path.startswith("/board/") or "//" in path or "\\" in path:
        return None
    return str(path)


def deep_link(settings: Settings, path: str, now: datetime) -> str:
    """A signed link to a board page ('' when the board has no public URL or no secret: no broken links)."""
    if not (settings.secret_key and settings.board_url):
        return ""
    return f"{settings.board_url.rstrip('/')}/board/go?t={quote(sign_path(settings.secret_key, path, now))}"


def order_path(order_no: str) -> str:
    return f"/board/order/{quote(order_no, safe='')}"


def link_line(settings: Settings, path: str, now: datetime, label: str = "在看板中打开") -> str:
    """'\\n<label>：<url>' for a chat text, or '' when there is no board URL."""
    url = deep_link(settings, path, now)
    return f"\n{label}：{url}" if url else ""
