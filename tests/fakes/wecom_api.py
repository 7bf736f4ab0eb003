"""A fake of Tencent's WeCom API on loopback, speaking the documented JSON: gettoken,
message/send, message/update_template_card, media/upload, media/get, webhook/send and
auth/getuserinfo, plus the web-login pages (OAuth2 authorize, QR login) that send the browser back
to ``redirect_uri?code=…&state=…`` as the member set in ``login_as``.

It records every request (tokens removed) and can inject token expiry, errcodes (rate limits),
5xx answers, slow answers (timeouts) and a whole outage."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

CORP_ID = "wwfakecorp0001"
SECRET = "fake-secret-1234567890"
ROBOT_KEY = "robot-key-0001"


@dataclass
class Call:
    api: str  # "message/send", "gettoken", ...
    params: dict[str, str]
    body: Any
    at: float  # time.perf_counter() on arrival
    ok: bool = True
    answer: dict[str, Any] | None = None  # the JSON the fake answered (message/send)


@dataclass
class Fault:
    errcode: int = 0
    status: int = 200
    delay: float = 0.0


@dataclass
class FakeWeCom:
    users: set[str] = field(default_factory=set)  # known userids; empty = everyone is valid
    robot_keys: set[str] = field(default_factory=lambda: {ROBOT_KEY})
    calls: list[Call] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # media_id -> (body, content type)
    down: bool = False  # every call answers 503
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    tokens_issued: int = 0
    latency: float = 0.0  # message/send answers this late (the message is delivered on arrival)
    task_ids: set[str] = field(default_factory=set)  # template card task_ids used (a repeat is 42014)
    _tokens: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    server: TestServer | None = None
    login_as: str | None = None  # who "scans the QR" / opens the OAuth link; None = a non-member
    codes: dict[str, tuple[str | None, float]] = field(default_factory=dict)  # code -> (userid, issued)

    # -- control -----------------------------------------------------------------------------

    def fail_next(self, api: str, *, errcode: int = 0, status: int = 200, delay: float = 0.0, times: int = 1) -> None:
        self.faults.setdefault(api, []).extend(Fault(errcode, status, delay) for _ in range(times))

    def expire_tokens(self) -> None:
        """Every token issued so far becomes expired (42001)."""
        self._tokens.clear()

    def serve_media(self, media_id: str, body: bytes, content_type: str = "image/jpeg") -> None:
        self.media[media_id] = (body, content_type)

    def issue_code(self, userid: str | None) -> str:
        """A single-use web-login code (5 minutes) for ``userid`` (None: an outside WeChat user)."""
        code = f"code{next(self._ids)}x" + "k" * 20
        self.codes[code] = (userid, time.monotonic())
        return code

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/cgi-bin/"))

    def sent(self, api: str = "message/send") -> list[Call]:
        return [c for c in self.calls if c.api == api and c.ok]

    def texts_to(self, user: str) -> list[str]:
        out = []
        for c in self.sent():
            if user in c.body["touser"].split("|") and c.body["msgtype"] in ("text", "markdown"):
                out.append(c.body[c.body["msgtype"]]["content"])
        return out

    async def start(self) -> FakeWeCom:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/cgi-bin/{api:.+}", self._handle)
        app.router.add_get("/connect/oauth2/authorize", self._web_login)
        app.router.add_get("/wwlogin/sso/login", self._web_login)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _web_login(self, request: web.Request) -> web.StreamResponse:
        """The member confirms at once: back to the app's redirect_uri with a fresh code."""
        q = request.query
        if q.get("appid") != CORP_ID or not q.get("redirect_uri") or "state" not in q:
            return web.Response(status=400, text="bad login request")
        sep = "&" if "?" in q["redirect_uri"] else "?"
        code = self.issue_code(self.login_as)
        raise web.HTTPFound(f"{q['redirect_uri']}{sep}code={code}&state={q['state']}")

    # -- the API -------------------------------------------------------------------------------

    @staticmethod
    def _err(code: int, msg: str) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": msg})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        api = request.match_info["api"]
        params = {k: v for k, v in request.query.items() if k not in ("access_token", "corpsecret")}
        body: Any = None
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            form = await request.post()
            f = form.get("media")
            body = {"filename": getattr(f, "filename", None), "size": len(f.file.read()) if f is not None and
                    hasattr(f, "file") else 0}
        call = Call(api, params, body, time.perf_counter())
        self.calls.append(call)
        faults = self.faults.get(api)
        if faults:
            fault = faults.pop(0)
            if fault.delay:  # a hung upstream: nothing is delivered, the answer comes too late
                call.ok = False
                await asyncio.sleep(fault.delay)
                return web.Response(status=504, text="gateway timeout")
            if fault.status != 200 or fault.errcode:
                call.ok = False
                if fault.status != 200:
                    return web.Response(status=fault.status, text="server error")
                return self._err(fault.errcode, "injected error")
        if self.down:
            call.ok = False
            return web.Response(status=503, text="down")
        if api == "gettoken":
            if request.query.get("corpid") != CORP_ID or request.query.get("corpsecret") != SECRET:
                call.ok = False
                return self._err(40001, "invalid secret")
            self.tokens_issued += 1
            token = f"tok{self.tokens_issued}"
            self._tokens.add(token)
            return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})
        if api == "webhook/send":
            if request.query.get("key") not in self.robot_keys:
                call.ok = False
                return self._err(93000, "invalid webhook url")
            return self._err(0, "ok")
        token = request.query.get("access_token", "")
        if token not in self._tokens:
            call.ok = False
            if token.startswith("tok"):
                return self._err(42001, "access_token expired")
            return self._err(40014, "invalid access_token")
        if api == "message/send":
            if self.latency:
                await asyncio.sleep(self.latency)
            return self._send(call, body)
        if api == "auth/getuserinfo":
            return self._userinfo(call, request.query.get("code", ""))
        if api == "message/update_template_card":
            if not body.get("response_code") or not (body.get("button") or body.get("template_card")):
                call.ok = False
                return self._err(40058, "invalid parameter")
            return self._err(0, "ok")
        if api == "media/upload":
            if request.query.get("type") not in ("image", "voice", "video", "file"):
                call.ok = False
                return self._err(40004, "invalid media type")
            call.answer = {"errcode": 0, "errmsg": "ok", "type": request.query.get("type"),
                           "media_id": f"m{next(self._ids)}", "created_at": str(int(time.time()))}
            return web.json_response(call.answer)
        if api == "media/get":
            found = self.media.get(request.query.get("media_id", ""))
            if found is None:
                call.ok = False
                return self._err(40007, "invalid media_id")
            return web.Response(body=found[0], content_type=found[1],
                                headers={"Content-disposition": 'attachment; filename="media.bin"'})
        call.ok = False
        return web.json_response({"errcode": 404, "errmsg": "unknown api"}, status=404)

    def _userinfo(self, call: Call, code: str) -> web.Response:
        found = self.codes.pop(code, None)  # single use
        if found is None or time.monotonic() - found[1] > 300:
            call.ok = False
            return self._err(40029, "invalid code")
        userid = found[0]
        if userid is None:
            return web.json_response({"errcode": 0, "errmsg": "ok", "openid": "oAbc123", "external_userid": "wmX"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "userid": userid})

    def _send(self, call: Call, body: dict[str, Any]) -> web.Response:
        msgtype = body.get("msgtype")
        known = ("text", "markdown", "image", "voice", "template_card")
        if msgtype not in known or msgtype not in body or "agentid" not in body:
            call.ok = False
            return self._err(40008, "invalid message type")
        if msgtype in ("text", "markdown") and len(str(body[msgtype]["content"]).encode()) > 2048:
            call.ok = False
            return self._err(45002, "content size out of limit")
        if msgtype == "template_card":
            task_id = str(body["template_card"].get("task_id") or "")
            if task_id in self.task_ids:
                call.ok = False
                return self._err(42014, "task_id exist")
            self.task_ids.add(task_id)
        to = body.get("touser", "").split("|")
        invalid = [u for u in to if self.users and u not in self.users]
        if len(invalid) == len(to):
            call.ok = False
            return self._err(81013, "user & party & tag all invalid")
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                                  "msgid": f"msg{next(self._ids)}"}
        if msgtype == "template_card":
            answer["response_code"] = f"rc{next(self._ids)}"
        call.answer = answer
        return web.json_response(answer)
