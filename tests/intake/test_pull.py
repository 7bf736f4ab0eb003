"""Incremental pulls against the fake platform APIs on loopback: signing, windows, backwards
paging, the persisted cursor, resuming after API errors, bad signature answers and timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.intake_jobs import build_importer, channels_of
from orders.app import App
from orders.clock import ManualClock
from orders.intake.models import PullCursor
from orders.intake.pull import ShopConfig, pull_due
from orders.models import Order
from tests.fakes import payloads as P
from tests.fakes.platforms import FakePlatforms

START = P.T0 - timedelta(hours=2)  # 08:00 Beijing; the test clock is at 10:00 Beijing


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakePlatforms, str]]:
    fp = FakePlatforms()
    server = TestServer(fp.app(), host="127.0.0.1")
    await server.start_server()
    yield fp, str(server.make_url("")).rstrip("/")
    await server.close()


def shop(base: str, channel: str, **kw: object) -> ShopConfig:
    path = {"taobao": "/taobao/router/rest", "pdd": "/pdd/api/router", "douyin": "/douyin", "jd": "/jd/routerjson",
            "youzan": "/youzan/api"}[channel]
    d: dict[str, object] = {"name": f"{channel}-1", "channel": channel, "base_url": base + path,
                            "app_key": "ak-test", "secret": "sk-test", "session": "sess", "window_minutes": 30,
                            "lag_minutes": 0, "page_size": 10, "start": START.isoformat(), "timeout_s": 5}
    d.update(kw)
    return ShopConfig.from_dict(d)


async def pull(app: App, *shops: ShopConfig, force: bool = True) -> list:
    return await pull_due(app.db, app.clock, channels_of(app), build_importer(app), list(shops), force=force)


async def count(app: App, channel: str) -> int:
    async with app.db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Order).where(Order.shop == f"{channel}-1")) or 0)


async def cursor(app: App, name: str) -> PullCursor:
    async with app.db.session() as s:
        c = await s.get(PullCursor, name)
        assert c is not None
        return c


def spread(fp: FakePlatforms, channel: str, n: int, make: object) -> None:
    for i in range(n):  # n orders modified over the two hours before now
        at = START + timedelta(seconds=i * 7200 // n)
        fp.add(channel, at, make(f"{channel[:2].upper()}{i:05d}", at=at))  # type: ignore[operator]


async def test_taobao_pull_windows_pages_backwards_and_keeps_the_cursor(app: App, fake, clock: ManualClock) -> None:
    fp, base = fake
    spread(fp, "taobao", 100, P.taobao)
    [res] = await pull(app, shop(base, "taobao"))
    assert res.error == "" and res.windows == 4 and res.report.added == 100
    assert await count(app, "taobao") == 100
    # each 30-minute window holds 25 orders = 3 pages of 10: first page 1 (for the total), then 3, 2, 1
    assert fp.requests[:4] == [("taobao", 1), ("taobao", 3), ("taobao", 2), ("taobao", 1)]
    assert (await cursor(app, "taobao-1")).cursor_at == clock.now()
    # a restart pulls nothing again until time has passed; then only the new window
    fp.requests.clear()
    assert (await pull(app, shop(base, "taobao")))[0].windows == 0 and fp.requests == []
    clock.advance(timedelta(minutes=15))
    fp.add("taobao", clock.now() - timedelta(minutes=5), P.taobao("NEW1"))
    [res] = await pull(app, shop(base, "taobao"))
    assert (res.windows, res.report.added, res.report.unchanged) == (1, 1, 0)


async def test_pull_only_when_due(app: App, fake, clock: ManualClock) -> None:
    _fp, base = fake
    s = shop(base, "taobao", every_minutes=15)
    assert len(await pull(app, s, force=False)) == 1
    assert await pull(app, s, force=False) == []  # not due yet: nothing asked
    clock.advance(timedelta(minutes=15))
    assert len(await pull(app, s, force=False)) == 1


async def test_bad_signature_answer_keeps_cursor_then_resumes(app: App, fake) -> None:
    fp, base = fake
    spread(fp, "taobao", 20, P.taobao)
    [res] = await pull(app, shop(base, "taobao", secret="wrong"))
    assert "Invalid signature" in res.error and await count(app, "taobao") == 0
    c = await cursor(app, "taobao-1")
    assert c.cursor_at == START and "Invalid signature" in c.last_error and c.failures == 1
    [res] = await pull(app, shop(base, "taobao"))
    assert res.error == "" and await count(app, "taobao") == 20
    assert (await cursor(app, "taobao-1")).failures == 0


async def test_api_error_mid_pull_resumes_from_the_last_full_window(app: App, fake) -> None:
    fp, base = fake
    spread(fp, "pdd", 40, P.pdd)
    fp.fail_on_request = 3  # 10 orders per window = one page each; the third window's answer is an error
    [res] = await pull(app, shop(base, "pdd", window_minutes=60))  # clamped to the 30-minute limit
    assert "70031" in res.error and res.windows == 2 and await count(app, "pdd") == 20
    assert (await cursor(app, "pdd-1")).cursor_at == START + timedelta(minutes=60)
    fp.fail_on_request = None
    [res] = await pull(app, shop(base, "pdd"))
    assert res.error == "" and res.windows == 2 and await count(app, "pdd") == 40
    assert res.report.unchanged == 0  # the two complete windows were not pulled again


async def test_timeout_mid_pull_loses_nothing_and_repeats_nothing(app: App, fake) -> None:
    fp, base = fake
    spread(fp, "douyin", 30, P.douyin)
    fp.delay_on_request, fp.delay_s = 3, 1.5  # window 1: page 0 (for the total), page 1, then page 0 hangs
    [res] = await pull(app, shop(base, "douyin", timeout_s=0.5, page_size=5))
    assert "Timeout" in res.error
    assert (await cursor(app, "douyin-1")).cursor_at == START
    fp.delay_on_request = None
    [res] = await pull(app, shop(base, "douyin", page_size=5))
    assert res.error == "" and await count(app, "douyin") == 30
    assert res.report.added + res.report.unchanged == 30


async def test_order_changed_while_paging_is_taken_once_in_its_newest_state(app: App, fake) -> None:
    fp, base = fake
    spread(fp, "taobao", 12, P.taobao)
    # the same trade on two pages (2 a page): first as paid, then (modified later) as shipped
    fp.add("taobao", START + timedelta(minutes=2), P.taobao("MOVER", at=START - timedelta(minutes=10)))
    shipped = P.taobao("MOVER", "WAIT_BUYER_CONFIRM_GOODS", at=START - timedelta(minutes=10))
    shipped["modified"] = "2026-01-22 08:29:30"
    fp.add("taobao", START + timedelta(minutes=29, seconds=30), shipped)
    [res] = await pull(app, shop(base, "taobao", page_size=2))
    assert res.error == "" and res.report.failed == 0
    from tests.intake.helpers import order_of

    assert (await order_of(app, "taobao", "MOVER")).status == "物流揽收"


async def test_jd_and_youzan_pulls(app: App, fake, clock: ManualClock) -> None:
    fp, base = fake
    spread(fp, "jd", 15, P.jd)
    spread(fp, "youzan", 15, P.youzan)
    res = await pull(app, shop(base, "jd"), shop(base, "youzan"))
    assert [r.error for r in res] == ["", ""]
    assert await count(app, "jd") == 15 and await count(app, "youzan") == 15
    # a bad JD signature and an expired Youzan token are errors; the cursors stay
    clock.advance(timedelta(minutes=15))
    res = await pull(app, shop(base, "jd", secret="bad"), shop(base, "youzan", session="expired"))
    assert "jd error 12" in res[0].error and "4201" in res[1].error
    assert (await cursor(app, "jd-1")).cursor_at == P.T0 and (await cursor(app, "youzan-1")).cursor_at == P.T0


async def test_run_due_pulls_job_reads_shops_from_config(app: App, fake, clock: ManualClock, monkeypatch) -> None:
    import copy

    from bot.intake_jobs import CHANNELS, run_due_pulls
    from orders.intake.channels import Channels

    fp, base = fake
    spread(fp, "taobao", 5, P.taobao)
    fp.add("taobao", START + timedelta(minutes=1), P.taobao("ODD1", "SOME_NEW_STATUS"))
    raw = copy.deepcopy(channels_of(app).raw)
    raw["shops"] = [{"name": "tb-cfg", "channel": "taobao", "base_url": base + "/taobao/router/rest",
                     "app_key": "ak-test", "secret_env": "ORDERBOT_TEST_TB_SECRET", "every_minutes": 15,
                     "lag_minutes": 0, "start": START.isoformat()}]
    app[CHANNELS] = Channels(raw, app.settings.tz)
    monkeypatch.setenv("ORDERBOT_TEST_TB_SECRET", "sk-test")  # secrets come from the environment
    [res] = await run_due_pulls(app)
    assert res.error == "" and res.report.added == 5 and res.report.failed == 1
    rejects = (app.settings.data_dir / "rejects" / "pull-tb-cfg.csv").read_text(encoding="utf-8").splitlines()
    assert len(rejects) == 2 and ",ODD1,status,unknown status code 'SOME_NEW_STATUS'" in rejects[1]
    assert "138" not in rejects[1]  # no personal data in the rejects file
    assert await run_due_pulls(app) == []  # not due again for 15 minutes
    clock.advance(timedelta(minutes=15))
    assert [r.shop for r in await run_due_pulls(app)] == ["tb-cfg"]
