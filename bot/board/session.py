"""Signed tokens of the board: the session cookie and the login ``state`` bound to the browser
(deep links: ``orders.board_links``). Signed with ``ORDERBOT_SECRET_KEY`` (itsdangerous); nothing
is stored server-side."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "ob_session"
STATE_COOKIE = "ob_state"
STATE_SECONDS = 300  # a WeCom login code lives 5 minutes


@dataclass(frozen=True)
class Session:
    user_id: str
    csrf: str


class Signer:
    def __init__(self, secret: str, session_seconds: float) -> None:
        if not secret:
            raise ValueError("the board needs ORDERBOT_SECRET_KEY")
        self._session = URLSafeTimedSerializer(secret, salt="board-session")
        self._state = URLSafeTimedSerializer(secret, salt="board-state")
        self.session_seconds = session_seconds

    @staticmethod
    def _load(s: URLSafeTimedSerializer, token: str, max_age: float) -> Any:
        try:
            return s.loads(token, max_age=int(max_age))
        except BadSignature:  # includes SignatureExpired
            return None

    # -- session ---------------------------------------------------------------------------------

    def new_session(self, user_id: str) -> str:
        return str(self._session.dumps({"u": user_id, "c": secrets.token_urlsafe(16)}))

    def session(self, token: str | None) -> Session | None:
        data = self._load(self._session, token or "", self.session_seconds)
        if not isinstance(data, dict) or not isinstance(data.get("u"), str):
            return None
        return Session(data["u"], str(data.get("c", "")))

    # -- login state -----------------------------------------------------------------------------

    def new_state(self, next_path: str) -> tuple[str, str]:
        """(state for WeCom: a-zA-Z0-9, cookie value binding it and ``next`` to this browser)."""
        state = secrets.token_hex(16)
        return state, str(self._state.dumps({"s": state, "n": next_path}))

    def check_state(self, cookie: str | None, state: str) -> str | None:
        """The ``next`` path when ``state`` is the one this browser was given, else None."""
        data = self._load(self._state, cookie or "", STATE_SECONDS)
        if not isinstance(data, dict) or not hmac.compare_digest(str(data.get("s", "")), state or ""):
            return None
        return str(data.get("n") or "/board/")


def safe_next(path: str | None) -> str:
    """Only a local board path may be a redirect target (no open redirect)."""
    if path and path.startswith("/board/") and "//" not in path and "\\" not in path:
        return path
    return "/board/"
