"""A small async WeCom API client on aiohttp: cached access token, timeouts on every call,
errcode checked on every answer, one token refetch on an expired/invalid token.

wechatpy's ``WeChatClient`` is synchronous, ignores the API base for ``gettoken``, sets no
timeouts and retries token errors without bound, so it is not used for sending."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from orders.clock import Clock, SystemClock

log = logging.getLogger(__name__)
TOKEN_ERRORS = frozenset({40014, 42001, 42009})  # invalid / expired access_token: refetch once
RETRYABLE = frozenset({-1, 45009, 45033}) | TOKEN_ERRORS  # busy, frequency and concurrency limits
TOKEN_MARGIN = timedelta(minutes=5)
_SECRET_IN_URL = re.compile(r"(access_token|corpsecret|key)=[^&\s'\"]+")


def redact(text: str) -> str:
    """Remove tokens, secrets and robot keys from a text (URLs in exception messages)."""
    return _SECRET_IN_URL.sub(r"\1=***", text)


class WeComError(Exception):
    """WeCom answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, api: str) -> None:
        super().__init__(f"{api}: errcode {errcode} {redact(errmsg)[:200]}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api

    @property
    def retryable(self) -> bool:
        return self.errcode in RETRYABLE


class WeComUnavailable(Exception):
    """Network error, timeout, a 5xx or an answer that is not WeCom JSON: try again later."""


class WeComClient:
    """One client per app (corp id + secret + agent id); its token cache is shared by all senders."""

    def __init__(self, *, api_base: str, corp_id: str, secret: str, agent_id: int, timeout: float = 10.0,
                 clock: Clock | None = None, session: aiohttp.ClientSession | None = None) -> None:
        self.api_base = api_base if api_base.endswith("/") else api_base + "/"
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id = agent_id
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock or SystemClock()
        self._session = session
        self._own_session = session is None
        self._token: str | None = None
        self._token_until: datetime | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:  # never print the secret or token
        return f"WeComClient(api_base={self.api_base!r}, corp_id={self.corp_id!r}, agent_id={self.agent_id})"

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()

    # -- transport ---------------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, params: dict[str, str], api: str,
                       json: Any = None, data: Any = None) -> tuple[bytes, str]:
        try:
            async with self.session.request(method, self.api_base + path, params=params, json=json, data=data,
                                            timeout=self.timeout) as resp:
                body = await resp.read()
                if resp.status >= 500 or resp.status == 429:
                    raise WeComUnavailable(f"{api}: HTTP {resp.status}")
                if resp.status != 200:
                    raise WeComUnavailable(f"{api}: unexpected HTTP {resp.status}")
                return body, resp.headers.get("Content-Type", "")
        except (aiohttp.ClientError, TimeoutError) as e:
            raise WeComUnavailable(f"{api}: {type(e).__name__} {redact(str(e))[:200]}") from None

    @staticmethod
    def _decode(body: bytes, api: str) -> dict[str, Any]:
        import json as _json

        try:
            data = _json.loads(body)
        except ValueError:
            raise WeComUnavailable(f"{api}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise WeComUnavailable(f"{api}: answer is not a JSON object")
        code = int(data.get("errcode", 0) or 0)
        if code != 0:
            raise WeComError(code, str(data.get("errmsg", "")), api)
        return data

    async def token(self) -> str:
        """The cached access token, fetched when missing or about to expire."""
        async with self._token_lock:
            now = self.clock.now()
            if self._token and self._token_until and now < self._token_until:
                return self._token
            body, _ = await self._request("GET", "gettoken", api="gettoken",
                                          params={"corpid": self.corp_id, "corpsecret": self._secret})
            data = self._decode(body, "gettoken")
            token = str(data.get("access_token") or "")
            if not token:
                raise WeComUnavailable("gettoken: no access_token in the answer")
            expires = int(data.get("expires_in") or 7200)
            self._token = token
            self._token_until = now + max(timedelta(seconds=expires) - TOKEN_MARGIN, timedelta(seconds=expires / 2))
            log.info("fetched a WeCom access token (valid %d s)", expires)
            return token

    def _drop_token(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _authed(self, method: str, path: str, *, params: dict[str, str] | None = None, json: Any = None,
                      data: Any = None, file: bool = False) -> tuple[bytes, str, dict[str, Any] | None]:
        """A request with the access token; a token error refetches the token once. Returns the
        body, its content type and the decoded JSON answer (None for a file when ``file``)."""
        for attempt in (1, 2):
            tok = await self.token()
            body, ctype = await self._request(method, path, params={**(params or {}), "access_token": tok}, api=path,
                                              json=json, data=data)
            if file and not ("json" in ctype or ctype.startswith("text/") or body[:1] == b"{"):
                return body, ctype, None
            try:
                return body, ctype, self._decode(body, path)
            except WeComError as e:
                if e.errcode in TOKEN_ERRORS and attempt == 1:
                    log.info("%s: token rejected (errcode %d), fetching a new one", path, e.errcode)
                    self._drop_token(tok)
                    continue
                raise
        raise AssertionError("unreachable")

    async def call(self, method: str, path: str, *, json: Any = None, data: Any = None,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        """An API call with the access token; the decoded answer (errcode 0)."""
        _, _, answer = await self._authed(method, path, params=params, json=json, data=data)
        assert answer is not None
        return answer

    async def user_of_code(self, code: str) -> dict[str, Any]:
        """``auth/getuserinfo``: a web-login code -> ``{"userid": …}`` for a member, ``openid`` otherwise."""
        return await self.call("GET", "auth/getuserinfo", params={"code": code})

    # -- app messages ------------------------------------------------------------------------

    async def send(self, touser: str, msgtype: str, body: dict[str, Any]) -> dict[str, Any]:
        """``message/send``; a partial ``invaliduser`` is logged, a total failure is errcode 81013."""
        payload = {"touser": touser, "msgtype": msgtype, "agentid": self.agent_id, msgtype: body}
        data = await self.call("POST", "message/send", json=payload)
        if data.get("invaliduser"):
            log.warning("message/send: invalid recipients %s", data.get("invaliduser"))
        return data

    async def send_template_card(self, touser: str, card: dict[str, Any]) -> dict[str, Any]:
        return await self.send(touser, "template_card", card)

    async def send_image(self, touser: str, filename: str, content: bytes) -> dict[str, Any]:
        media_id = await self.upload_media("image", filename, content)
        return await self.send(touser, "image", {"media_id": media_id})

    async def send_voice(self, touser: str, filename: str, content: bytes) -> dict[str, Any]:
        """``media/upload?type=voice`` (AMR, at most 2 MB / 60 s) then a voice message."""
        media_id = await self.upload_media("voice", filename, content)
        return await self.send(touser, "voice", {"media_id": media_id})

    async def upload_media(self, kind: str, filename: str, content: bytes) -> str:
        form = aiohttp.FormData()
        form.add_field("media", content, filename=filename, content_type="application/octet-stream")
        data = await self.call("POST", "media/upload", data=form, params={"type": kind})
        return str(data["media_id"])

    async def update_template_card(self, userids: list[str], response_code: str, *, replace_name: str | None = None,
                                   template_card: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"userids": userids, "agentid": self.agent_id, "response_code": response_code}
        if template_card is not None:
            body["template_card"] = template_card
        else:
            body["button"] = {"replace_name": replace_name or "已处理"}
        return await self.call("POST", "message/update_template_card", json=body)

    async def fetch_media(self, media_id: str) -> bytes:
        """``media/get``: the file bytes, or WeComError when WeCom answers JSON with an errcode."""
        body, ctype, answer = await self._authed("GET", "media/get", params={"media_id": media_id}, file=True)
        if answer is not None and "json" in ctype:
            raise WeComUnavailable("media/get: JSON answer without a file")
        return body

    # -- group robots ------------------------------------------------------------------------

    async def webhook_send(self, key: str, msgtype: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A group-robot message (``webhook/send?key=``): text, markdown or image {"content"|"path"}."""
        if msgtype == "image":
            raw: bytes = payload["bytes"]
            body: dict[str, Any] = {"msgtype": "image", "image": {"base64": base64.b64encode(raw).decode(),
                                                                  "md5": hashlib.md5(raw).hexdigest()}}
        else:
            body = {"msgtype": msgtype, msgtype: {"content": payload["content"]}}
        resp, _ = await self._request("POST", "webhook/send", params={"key": key}, json=body, api="webhook/send")
        return self._decode(resp, "webhook/send")
