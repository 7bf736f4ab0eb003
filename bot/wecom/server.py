"""The aiohttp server: ``GET /healthz`` and WeCom's ``GET|POST /wecom/callback``.

A POST is verified, decrypted and stored in the inbox, then answered ``200`` with an empty body at
once; the dispatcher runs afterwards in a background task and replies go out through the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiohttp import web
from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from bot.dispatch import Dispatcher
from bot.wecom.crypto import CallbackCrypto, CallbackError
from bot.wecom.messages import parse
from bot.wecom.processor import InboxProcessor
from bot.wecom.writer import InboxWriter
from orders.app import App

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024  # 1 MiB; larger bodies get 413
CALLBACK_PATH = "/wecom/callback"

APP: web.AppKey[App] = web.AppKey("orderbot_app", App)
CRYPTO: web.AppKey[CallbackCrypto] = web.AppKey("wecom_crypto", CallbackCrypto)
PROCESSOR: web.AppKey[InboxProcessor] = web.AppKey("inbox_processor", InboxProcessor)
WRITER: web.AppKey[InboxWriter] = web.AppKey("inbox_writer", InboxWriter)

RouteAdder = Callable[[web.Application], None]


def _params(request: web.Request) -> tuple[str, str, str]:
    q = request.query
    return q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")


def _refuse(request: web.Request, e: CallbackError) -> web.Response:
    log.warning("callback refused (%d) from %s: %s", e.status, request.remote, e.reason)
    return web.Response(status=e.status, text="")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def verify_url(request: web.Request) -> web.Response:
    sig, ts, nonce = _params(request)
    try:
        plain = request.app[CRYPTO].verify_url(sig, ts, nonce, request.query.get("echostr", ""))
    except CallbackError as e:
        return _refuse(request, e)
    log.info("callback URL verified")
    return web.Response(text=plain, content_type="text/plain")


async def callback(request: web.Request) -> web.Response:
    with request.app[PROCESSOR].acks.answer():  # the processor holds back meanwhile (bot.wecom.acks)
        return await _callback(request)


async def _callback(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        log.warning("callback refused (413) from %s: %d bytes", request.remote, request.content_length)
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    body = await request.read()  # client_max_size makes a chunked over-size body a 413 too
    app = request.app[APP]
    sig, ts, nonce = _params(request)
    try:
        xml = request.app[CRYPTO].decrypt(body, sig, ts, nonce)
        now = app.clock.now()
        parsed = parse(xml, received_at=now)
    except CallbackError as e:
        return _refuse(request, e)
    user_id = parsed.sender
    row_id = await request.app[WRITER].store(dedupe_key=parsed.dedupe_key, msg_id=parsed.msg_id, user_id=user_id,
                                             kind=parsed.kind, xml=xml, received_at=now)
    if row_id is None:
        log.info("duplicate callback %s from %s ignored", parsed.dedupe_key, user_id)
    else:
        request.app[PROCESSOR].submit(row_id, parsed)  # parsed once: the processor does not parse it again
    return web.Response(status=200, body=b"")


class QuietCallbacks(AccessLogger):
    """aiohttp's access log without WeCom's answered callbacks: each is in the inbox table already.
    With the other per-message lines they were 96 % of ``serve``'s log at INFO (the default) under
    load. Refused callbacks and every other request are logged."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if response.status < 300 and request.method == "POST" and request.path == CALLBACK_PATH:
            return
        super().log(request, response, time)


def create_web_app(
    app: App,
    dispatcher: Dispatcher,
    *,
    extra_routes: Sequence[RouteAdder] = (),
    processor: InboxProcessor | None = None,
) -> web.Application:
    """The web application. ``extra_routes`` add other endpoints (carrier or platform pushes).
    Unprocessed inbox rows are replayed on start; background work is awaited on shutdown."""
    s = app.settings
    web_app = web.Application(client_max_size=MAX_BODY)
    web_app[APP] = app
    web_app[CRYPTO] = CallbackCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id)
    web_app[PROCESSOR] = processor or InboxProcessor(app, dispatcher)
    web_app[WRITER] = InboxWriter(app)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get(CALLBACK_PATH, verify_url)
    web_app.router.add_post(CALLBACK_PATH, callback)
    for add in extra_routes:
        add(web_app)

    async def on_startup(wa: web.Application) -> None:
        await wa[PROCESSOR].replay()

    async def on_shutdown(wa: web.Application) -> None:
        await wa[PROCESSOR].drain()

    web_app.on_startup.append(on_startup)
    web_app.on_shutdown.append(on_shutdown)
    return web_app
