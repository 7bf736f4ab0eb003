"""``orderbot serve`` killed with SIGKILL mid-processing and mid-send, then restarted: every reply
arrives exactly once (a request in flight at a kill may arrive once more: the documented duplicate),
in each user's message order, within 10 s of the restart, with no admin alert.

The server is a real subprocess on a real SQLite file; the fake WeCom API answers message/send
slowly (the message counts as delivered when it arrives, as at WeCom), so a kill catches requests
in flight. The test reads the database file itself to pick the moment to kill."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.wecom.crypto import CallbackCrypto
from tests.fakes.wecom_api import CORP_ID, SECRET, FakeWeCom
from tests.wecom.harness import AES_KEY, AGENT_ID, TOKEN, text_xml
from tests.wecom.test_serve_cli import _free_port

USERS = ["cs01", "cs02", "cslead", "wh01", "fin01", "ops01", "boss", "admin"]
WORD = re.compile(r"「(m\d+-\d+)」")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    tmp: Path
    db: Path
    fake: FakeWeCom
    port: int = field(default_factory=_free_port)
    proc: asyncio.subprocess.Process | None = None
    n: int = 0
    sent_words: dict[str, list[str]] = field(default_factory=dict)  # user -> words in message order

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT), "ORDERBOT_DATABASE_URL": f"sqlite+aiosqlite:///{self.db}",
                "ORDERBOT_DATA_DIR": str(self.tmp / "var"), "ORDERBOT_CONFIG_DIR": str(self.tmp / "config"),
                "WECOM_CORP_ID": CORP_ID, "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY,
                "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_API_BASE": self.fake.base_url,
                "ORDERBOT_HTTP_PORT": str(self.port), "ORDERBOT_LOG_LEVEL": "WARNING"}

    async def start(self, http: aiohttp.ClientSession) -> float:
        """Start ``orderbot serve``; the time it answered /healthz."""
        log = (self.tmp / "serve.log").open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from bot.cli import main; main()", "serve", env=self.env(), stdout=log, stderr=log)
        end = time.monotonic() + 90  # imports alone take seconds on a busy 2-core machine
        while time.monotonic() < end:
            try:
                async with http.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                    if r.status == 200:
                        return time.monotonic()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)
        raise AssertionError("serve did not come up:\n" + (self.tmp / "serve.log").read_text()[-3000:])

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 20)

    async def say_all(self, http: aiohttp.ClientSession, per_user: int) -> None:
        """Each user sends ``per_user`` messages one after another; users in parallel."""
        crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)

        async def one_user(u: str) -> None:
            for _ in range(per_user):
                self.n += 1
                word = f"m{USERS.index(u)}-{self.n:03d}"
                self.sent_words.setdefault(u, []).append(word)
                xml = text_xml(u, word, f"9{self.n:018d}", 1769047200 + self.n)
                body, sig = crypto.encrypt(xml, "nonce", "1769047200")
                async with http.post(f"http://127.0.0.1:{self.port}/wecom/callback", data=body,
                                     params={"msg_signature": sig, "timestamp": "1769047200", "nonce": "nonce"}) as r:
                    assert r.status == 200

        await asyncio.gather(*(one_user(u) for u in USERS))

    def received(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for u in USERS:
            out[u] = [m.group(1) for t in self.fake.texts_to(u) if (m := WORD.search(t))]
        return out

    def all_delivered(self) -> bool:
        got = self.received()
        return all(set(ws) <= set(got[u]) for u, ws in self.sent_words.items())

    def query(self, sql: str) -> int:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5) as c:
            return int(c.execute(sql).fetchone()[0])


async def wait_for(cond: Callable[[], bool], within: float, what: str) -> None:
    end = time.monotonic() + within
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@pytest.fixture
def run_dir(template_db: Path, tmp_path: Path) -> Path:
    shutil.copyfile(template_db, tmp_path / "orderbot.db")
    config = tmp_path / "config"
    config.mkdir()
    text = (ROOT / "config" / "digests.yaml").read_text()  # no digest noise in the recipients' feeds
    (config / "digests.yaml").write_text(re.sub(r"(?ms)^digests:.*?^(?=\S)", "digests: []\n", text, count=1))
    return tmp_path


def in_flight(fake: FakeWeCom) -> int:
    """message/send requests that arrived (delivered) and were not answered yet."""
    return sum(1 for c in fake.calls if c.api == "message/send" and c.ok and c.answer is None)


def interrupted(run: Run) -> int:
    """Rows the killed process left 'sending': the only ones that may be delivered twice."""
    return run.query("select count(*) from outbox where status = 'sending'")


def check(run: Run, possible_dups: int, kills: int) -> None:
    got = run.received()
    dups = 0
    for u, words in run.sent_words.items():
        firsts = list(dict.fromkeys(got[u]))
        assert firsts == words, f"{u}: replies out of order or missing: {firsts} != {words}"
        counts = {w: got[u].count(w) for w in words}
        # one possible duplicate per kill that caught its request in flight
        assert max(counts.values()) <= 1 + kills, f"{u}: a reply arrived too often: {counts}"
        dups += sum(c - 1 for c in counts.values())
    assert dups <= possible_dups, f"{dups} duplicates, but only {possible_dups} rows were left sending by the kills"
    assert not any("消息发送失败" in t for t in run.fake.texts_to("admin")), "an admin alert for a resend"
    assert run.query("select count(*) from outbox where status != 'sent'") == 0
    assert run.query("select count(*) from outbox where status = 'sent' and channel = 'app' and msgid = ''") == 0


async def restart_and_finish(run: Run, http: aiohttp.ClientSession, possible_dups: int, kills: int) -> None:
    ready = await run.start(http)
    await run.say_all(http, 2)  # new messages right after the restart queue behind the replayed ones
    await wait_for(run.all_delivered, 10 + ready - time.monotonic(), "every reply within 10 s of the restart")
    await asyncio.sleep(0.3)  # a late duplicate would show up now
    await run.stop()
    check(run, possible_dups, kills)


@pytest.mark.timeout(300)
async def test_killed_mid_processing_then_restarted(run_dir: Path) -> None:
    fake = await FakeWeCom(latency=0.3).start()
    run = Run(run_dir, run_dir / "orderbot.db", fake)
    try:
        async with aiohttp.ClientSession() as http:
            await run.start(http)
            await run.say_all(http, 6)
            # kill while messages are claimed and being handled, before their replies were queued
            await wait_for(lambda: run.query("select count(*) from wecom_inbox where status = 'processing'") > 0,
                           10, "a claimed inbox row")
            await run.kill()
            assert run.query("select count(*) from wecom_inbox where status != 'done'") > 0
            dups = interrupted(run)
            await restart_and_finish(run, http, dups, kills=1)
    finally:
        if run.proc is not None and run.proc.returncode is None:
            run.proc.kill()
        await fake.close()


@pytest.mark.timeout(400)
async def test_killed_mid_send_twice_then_restarted(run_dir: Path) -> None:
    fake = await FakeWeCom(latency=0.4).start()
    run = Run(run_dir, run_dir / "orderbot.db", fake)
    try:
        async with aiohttp.ClientSession() as http:
            await run.start(http)
            await run.say_all(http, 6)
            total = len(USERS) * 6
            # first kill: some replies delivered, requests in flight, more queued behind them
            await wait_for(lambda: len(fake.sent()) >= total // 4 and in_flight(fake) > 0, 20, "sends in flight")
            await run.kill()
            dups = interrupted(run)
            assert dups > 0 and dups >= in_flight(fake)
            assert run.query("select count(*) from outbox where status = 'pending'") > 0
            # second kill: right after the restart, while the interrupted rows are being resent
            await run.start(http)
            seen = len(fake.sent())
            await wait_for(lambda: len(fake.sent()) > seen and in_flight(fake) > 0, 20, "resends in flight")
            await run.kill()
            dups += interrupted(run)
            await restart_and_finish(run, http, dups, kills=2)
    finally:
        if run.proc is not None and run.proc.returncode is None:
            run.proc.kill()
        await fake.close()
