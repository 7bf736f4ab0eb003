"""``orderbot serve`` in process (real TCP port, worker running) and the ``orderbot outbox`` CLI."""

from __future__ import annotations

import asyncio
import gc
import socket
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.dispatch import Dispatcher
from bot.wecom.collector import THRESHOLDS
from bot.wecom.crypto import CallbackCrypto
from bot.wecom.runner import serve
from orders.app import App
from orders.outbox import enqueue_text
from tests.fakes.wecom_api import CORP_ID, SECRET, FakeWeCom
from tests.wecom.harness import AES_KEY, AGENT_ID, TOKEN, text_xml


def _digests_to(fake: FakeWeCom, user: str) -> list[str]:
    return [c.body["markdown"]["content"] for c in fake.sent() if c.body.get("msgtype") == "markdown"
            and user in c.body["touser"].split("|")]


def _images_to(fake: FakeWeCom, user: str) -> list[str]:
    return [c.body["image"]["media_id"] for c in fake.sent() if c.body.get("msgtype") == "image"
            and user in c.body["touser"].split("|")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_answers_callbacks_and_delivers_then_stops_gracefully(app: App) -> None:
    from handlers import registry

    before = gc.get_threshold()
    fake = await FakeWeCom().start()
    s = app.settings
    s.wecom_corp_id, s.wecom_token, s.wecom_aes_key, s.wecom_agent_id = CORP_ID, TOKEN, AES_KEY, AGENT_ID
    s.wecom_secret, s.wecom_api_base, s.http_port = SECRET, fake.base_url, _free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, Dispatcher(app, registry), stop=stop))
    base = f"http://127.0.0.1:{s.http_port}"
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    body, sig = crypto.encrypt(text_xml("cs02", "查 BG260122-0005", "31337"), "abc", "1769047200")
    async with aiohttp.ClientSession() as http:
        for _ in range(100):  # wait for the port to open
            try:
                async with http.get(base + "/healthz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        async with http.post(base + "/intake/carrier/kuaidi100", data={"param": "{}", "sign": "bad"}) as r:
            assert r.status == 400  # the carrier push route is served by the same process
        async with http.post(base + "/wecom/callback", data=body,
                             params={"msg_signature": sig, "timestamp": "1769047200", "nonce": "abc"}) as r:
            assert r.status == 200 and await r.read() == b""
        for _ in range(200):
            if fake.texts_to("cs02") and _digests_to(fake, "boss") and _images_to(fake, "boss"):
                break
            await asyncio.sleep(0.05)
    serving = gc.get_threshold(), gc.get_freeze_count()
    stop.set()
    await asyncio.wait_for(task, 10)
    await fake.close()
    assert serving[0] == THRESHOLDS and serving[1] > 100_000  # the start-up heap frozen (bot.wecom.collector)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert len(fake.texts_to("cs02")) == 1 and "BG260122-0005" in fake.texts_to("cs02")[0]
    # the scheduler ran its start-up sweep: 10:00 local is past the 09:00 digest, so it caught up
    assert "运营日报" in _digests_to(fake, "boss")[0]
    assert len(_images_to(fake, "boss")) == 1 and fake.sent("media/upload")  # the chart, uploaded then sent


def test_outbox_cli_lists_and_retries_dead_rows(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERBOT_DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")

    async def seed() -> None:
        from config import load_settings
        from orders.app import build_app

        a = await build_app(load_settings())
        async with a.db.session() as s:
            dead = await enqueue_text(s, "cs01", "失败的消息", a.clock.now())
            await enqueue_text(s, "cs02", "排队的消息", a.clock.now())
            assert dead is not None
            dead.status, dead.last_error = "dead", "message/send: errcode 81013"
        await a.close()

    asyncio.run(seed())
    runner = CliRunner()
    out = runner.invoke(cli, ["outbox"])
    assert out.exit_code == 0, out.output
    assert "dead" in out.output and "81013" in out.output and "pending" in out.output
    out = runner.invoke(cli, ["outbox", "--retry", "1"])
    assert out.exit_code == 0 and "queued again: 1" in out.output
    out = runner.invoke(cli, ["outbox", "--status", "dead"])
    assert "nothing dead" in out.output
    assert runner.invoke(cli, ["outbox", "--retry", "1"]).exit_code == 1


def test_serve_refuses_to_start_without_wecom_settings(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERBOT_DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    for name in ("WECOM_CORP_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY", "WECOM_AGENT_ID"):
        monkeypatch.delenv(name, raising=False)
    out = CliRunner().invoke(cli, ["serve"])
    assert out.exit_code == 2 and "missing settings: WECOM_CORP_ID" in out.output
    env = {"WECOM_CORP_ID": CORP_ID, "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AGENT_ID": "1",
           "WECOM_AES_KEY": "too-short"}
    out = CliRunner().invoke(cli, ["serve"], env=env)
    assert out.exit_code == 2 and "43 characters" in out.output
