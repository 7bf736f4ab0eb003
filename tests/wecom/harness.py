"""The WeCom end-to-end harness: the fake Tencent API on loopback, our callback server on
loopback, the outbox worker sending to the fake. Callbacks are encrypted exactly as WeCom does."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.dispatch import Dispatcher
from bot.keys import MEDIA_FETCHER
from bot.wecom.crypto import CallbackCrypto
from bot.wecom.processor import InboxProcessor
from bot.wecom.server import create_web_app
from notifications.robots import RobotBook
from notifications.wecom_api import WeComClient
from notifications.worker import OutboxWorker
from orders.app import App
from orders.seed import DEMO_USERS
from tests.fakes.wecom_api import CORP_ID, ROBOT_KEY, SECRET, FakeWeCom

TOKEN = "orderbotTestToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
AGENT_ID = 1000002


def text_xml(user: str, content: str, msg_id: str, create_time: int = 1769047200) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")


def media_xml(user: str, msgtype: str, media_id: str, msg_id: str, create_time: int = 1769047200) -> str:
    extra = "<Format><![CDATA[amr]]></Format>" if msgtype == "voice" else "<PicUrl><![CDATA[http://x/p]]></PicUrl>"
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msgtype}]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId>{extra}<MsgId>{msg_id}</MsgId>"
            f"<AgentID>{AGENT_ID}</AgentID></xml>")


def event_xml(user: str, event: str, key: str = "", create_time: int = 1769047200, extra: str = "") -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>{extra}"
            f"<AgentID>{AGENT_ID}</AgentID></xml>")


def card_xml(user: str, key: str, task_id: str, response_code: str, create_time: int) -> str:
    extra = (f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
             f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode>")
    return event_xml(user, "template_card_event", key, create_time, extra)


@dataclass
class Harness:
    app: App
    fake: FakeWeCom
    client: WeComClient
    worker: OutboxWorker
    processor: InboxProcessor
    http: TestClient
    crypto: CallbackCrypto
    _n: itertools.count[int]

    def encrypt(self, xml: str, nonce: str = "n0nce", timestamp: str = "1769047200") -> tuple[bytes, dict[str, str]]:
        body, sig = self.crypto.encrypt(xml, nonce, timestamp)
        return body, {"msg_signature": sig, "timestamp": timestamp, "nonce": nonce}

    async def post(self, xml: str) -> ClientResponse:
        body, params = self.encrypt(xml)
        return await self.http.post("/wecom/callback", params=params, data=body)

    async def say(self, user: str, text: str) -> ClientResponse:
        n = next(self._n)
        return await self.post(text_xml(user, text, msg_id=f"7{n:018d}", create_time=1769047200 + n))

    async def settle(self) -> int:
        """Finish background processing, then deliver whatever is due now."""
        await self.processor.drain()
        return await self.worker.run_until_idle()


BOARD_SECRET = "board-test-secret-0123456789"


async def make_harness(app: App, *, crypto_corp: str = CORP_ID, board: bool = False) -> AsyncIterator[Harness]:
    """``board``: also serve the PC board (its WeCom login pages point at the fake)."""
    from handlers import registry

    s = app.settings
    s.wecom_corp_id, s.wecom_token, s.wecom_aes_key, s.wecom_agent_id = CORP_ID, TOKEN, AES_KEY, AGENT_ID
    s.wecom_secret = SECRET
    fake = await FakeWeCom(users={u[0] for u in DEMO_USERS}).start()
    s.wecom_api_base = fake.base_url
    client = WeComClient(api_base=fake.base_url, corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID,
                         clock=app.clock, timeout=1.0)
    app[MEDIA_FETCHER] = client
    worker = OutboxWorker(app, client, robots=RobotBook({"team": {"key": ROBOT_KEY}, "nokey": {}}, env={}),
                          rng=random.Random(7))
    dispatcher = Dispatcher(app, registry)
    processor = InboxProcessor(app, dispatcher, on_outbox=worker.wake)
    extra = []
    if board:
        from bot.board import add_board_routes

        s.secret_key = BOARD_SECRET
        s.wecom_oauth_url, s.wecom_sso_url = fake.url("/connect/oauth2/authorize"), fake.url("/wwlogin/sso/login")
        extra.append(lambda web_app: add_board_routes(web_app, app, client))
    http = TestClient(TestServer(create_web_app(app, dispatcher, processor=processor, extra_routes=extra),
                                 host="127.0.0.1"))
    await http.start_server()
    try:
        yield Harness(app, fake, client, worker, processor, http, CallbackCrypto(TOKEN, AES_KEY, crypto_corp),
                      itertools.count(1))
    finally:
        await http.close()
        await client.close()
        await fake.close()
