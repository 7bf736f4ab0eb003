"""The outbox worker against the fake WeCom API: tokens, retries, limits, outages, dead letters."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from notifications.ratelimit import Limits, RateLimiter
from notifications.wecom_api import WeComError
from notifications.worker import OutboxWorker
from orders.clock import ManualClock
from orders.outbox import OutboxMessage, enqueue
from tests.fakes.wecom_api import SECRET
from tests.wecom.harness import Harness


async def put(h: Harness, to: str, text: str, *, channel: str = "app", msgtype: str = "text",
              payload: dict[str, Any] | None = None) -> int:
    async with h.app.db.session() as s:
        row = await enqueue(s, to=to, msgtype=msgtype, payload=payload or {"content": text}, now=h.app.clock.now(),
                            channel=channel)
        assert row is not None
        await s.flush()
        return row.id


async def rows(h: Harness) -> dict[int, OutboxMessage]:
    async with h.app.db.session() as s:
        return {r.id: r for r in (await s.scalars(select(OutboxMessage))).all()}


def clock(h: Harness) -> ManualClock:
    assert isinstance(h.app.clock, ManualClock)
    return h.app.clock


async def test_token_is_cached_refetched_once_on_expiry_and_never_logged(
        wecom: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for i in range(3):
        await put(wecom, "cs01", f"消息{i}")
    await wecom.worker.run_until_idle()
    assert wecom.fake.tokens_issued == 1
    wecom.fake.expire_tokens()
    await put(wecom, "cs01", "过期后")
    await wecom.worker.run_until_idle()
    assert wecom.fake.tokens_issued == 2
    assert wecom.fake.texts_to("cs01")[-1] == "过期后"
    clock(wecom).advance(timedelta(hours=2))  # the cached token runs out by time too
    await put(wecom, "cs01", "两小时后")
    await wecom.worker.run_until_idle()
    assert wecom.fake.tokens_issued == 3
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")  # the fake's log
    assert "tok1" not in logged and "tok2" not in logged and SECRET not in logged
    # a token error that persists after one refetch is not retried without bound
    wecom.fake.fail_next("message/send", errcode=40014, times=2)
    rid = await put(wecom, "cs02", "x")
    await wecom.worker.run_until_idle()
    assert (await rows(wecom))[rid].status == "pending" and (await rows(wecom))[rid].attempts == 1


async def test_busy_rate_limit_5xx_and_timeouts_back_off_then_deliver(wecom: Harness) -> None:
    wecom.client.timeout = aiohttp.ClientTimeout(total=0.2)
    cases = [dict(errcode=-1), dict(errcode=45009), dict(errcode=45033), dict(status=502), dict(delay=0.5)]
    for i, fault in enumerate(cases):
        wecom.fake.fail_next("message/send", **fault)  # type: ignore[arg-type]
        rid = await put(wecom, "cs01", f"第{i}条")
        await wecom.worker.run_until_idle()
        row = (await rows(wecom))[rid]
        assert row.status == "pending" and row.attempts == 1, fault
        assert row.next_attempt_at > clock(wecom).now()
        clock(wecom).advance(timedelta(seconds=3))
        await wecom.worker.run_until_idle()
        assert (await rows(wecom))[rid].status == "sent", fault
    assert wecom.fake.texts_to("cs01") == [f"第{i}条" for i in range(len(cases))]


async def test_permanent_errors_go_dead_with_one_admin_alert(wecom: Harness) -> None:
    bad = await put(wecom, "ghost1", "发给不存在的人")  # 81013: no valid recipient
    await wecom.worker.run_until_idle()
    wecom.fake.fail_next("message/send", errcode=60020)
    ip = await put(wecom, "cs02", "IP 不在白名单")
    await wecom.worker.run_until_idle()
    r = await rows(wecom)
    assert r[bad].status == "dead" and "81013" in r[bad].last_error
    assert r[ip].status == "dead" and "60020" in r[ip].last_error
    alerts = wecom.fake.texts_to("admin")
    assert len([a for a in alerts if f"#{bad}" in a]) == 1 and len([a for a in alerts if f"#{ip}" in a]) == 1
    clock(wecom).advance(timedelta(hours=1))
    await wecom.worker.run_until_idle()
    assert len(wecom.fake.texts_to("admin")) == 2  # alerted once, not again


async def test_an_alert_that_cannot_be_delivered_does_not_alert_again(wecom: Harness) -> None:
    wecom.fake.users.discard("admin")  # even the admin is not a valid recipient
    await put(wecom, "ghost1", "x")
    for _ in range(3):
        await wecom.worker.run_until_idle()
    statuses = sorted(r.status for r in (await rows(wecom)).values())
    assert statuses == ["dead", "dead"]


async def test_member_limit_holds_back_only_the_excess(wecom: Harness) -> None:
    for i in range(35):
        await put(wecom, "cs01", f"m{i}")
    await put(wecom, "cs02", "别人的消息")
    await wecom.worker.run_until_idle()
    assert len(wecom.fake.texts_to("cs01")) == 30  # a burst under the limit goes at once
    assert wecom.fake.texts_to("cs02") == ["别人的消息"]
    clock(wecom).advance(timedelta(seconds=30))
    await wecom.worker.run_until_idle()
    assert len(wecom.fake.texts_to("cs01")) == 30
    clock(wecom).advance(timedelta(seconds=31))
    await wecom.worker.run_until_idle()
    assert wecom.fake.texts_to("cs01") == [f"m{i}" for i in range(35)]
    assert all(r.status == "sent" for r in (await rows(wecom)).values())


async def test_a_claim_takes_several_rounds_of_requests_and_requests_stay_capped(wecom: Harness) -> None:
    """A claim is a write turn with a fixed cost: it takes CLAIM_ROUNDS x concurrency rows; no more
    than ``concurrency`` requests are out at once (WeCom answers 45033 to too many)."""
    worker = OutboxWorker(wecom.app, wecom.client, robots=wecom.worker.robots, concurrency=4)
    users = [f"user{i:02d}" for i in range(37)]
    wecom.fake.users.update(users)
    for i, u in enumerate(users):
        await put(wecom, u, f"m{i}")
    out, most, claims = 0, 0, []
    send, claim = wecom.client.send, worker._claim

    leases: set[timedelta] = set()

    async def counted_send(*a: Any, **kw: Any) -> Any:
        nonlocal out, most
        out += 1
        most = max(most, out)
        leases.update(r.next_attempt_at - clock(wecom).now() for r in (await rows(wecom)).values()
                      if r.status == "sending")
        try:
            await asyncio.sleep(0.001)  # answers overlap
            return await send(*a, **kw)
        finally:
            out -= 1

    async def counted_claim(batch: list[Any], result: Any) -> Any:
        claims.append(len(batch))
        return await claim(batch, result)

    wecom.client.send = counted_send  # type: ignore[method-assign]
    worker._claim = counted_claim  # type: ignore[method-assign]
    n = await worker.run_until_idle()
    assert n == 37
    assert claims == [16, 16, 5] and most == 4
    # the last of a claim's rounds still goes out within its lease: one lease per round (> the timeout)
    assert leases == {worker.policy.lease * 4, worker.policy.lease * 2}
    assert [wecom.fake.texts_to(u) for u in users] == [[f"m{i}"] for i in range(37)]


async def test_limits_survive_a_restart(wecom: Harness) -> None:
    for i in range(32):
        await put(wecom, "cs01", f"m{i}")
    await wecom.worker.run_until_idle()
    assert len(wecom.fake.texts_to("cs01")) == 30
    fresh = OutboxWorker(wecom.app, wecom.client, robots=wecom.worker.robots)
    await fresh.run_until_idle()  # a restarted process reads the last hour of sends
    assert len(wecom.fake.texts_to("cs01")) == 30


async def test_replicas_share_the_member_limit(wecom: Harness) -> None:
    """Two processes' workers on one database (each with its own in-process view): together they
    send no more than WeCom's 30 a minute to one member; the rest wait for the window."""
    for i in range(40):
        await put(wecom, "cs01", f"m{i}")
    other = OutboxWorker(wecom.app, wecom.client, robots=wecom.worker.robots)
    other.me = "peer-process"
    await asyncio.gather(wecom.worker.load_history(), other.load_history())  # both started before any send
    for _ in range(60):  # both keep passing, as two live processes do
        await asyncio.gather(wecom.worker.run_once(), other.run_once())
    assert len(wecom.fake.texts_to("cs01")) == 30
    clock(wecom).advance(timedelta(seconds=61))
    await asyncio.gather(wecom.worker.run_until_idle(), other.run_until_idle())
    assert sorted(wecom.fake.texts_to("cs01"), key=lambda t: int(t[1:])) == [f"m{i}" for i in range(40)]
    assert all(r.status == "sent" for r in (await rows(wecom)).values())


def test_hour_window_of_the_limiter() -> None:
    from datetime import UTC, datetime

    lim = RateLimiter(Limits(member=((timedelta(minutes=1), 3), (timedelta(hours=1), 5))))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(5):
        at = t0 + timedelta(minutes=2 * i)
        assert lim.ready_at(["u:a"], at) == at
        lim.record(["u:a"], at)
    assert lim.ready_at(["u:a"], t0 + timedelta(minutes=10)) == t0 + timedelta(hours=1)
    assert lim.ready_at(["u:b"], t0) == t0


async def test_group_robot_limit_image_and_unknown_robot(wecom: Harness) -> None:
    for i in range(22):
        await put(wecom, "team", f"群消息{i}", channel="webhook")
    img = wecom.app.settings.data_dir / "replies" / "a.png"
    img.parent.mkdir(parents=True, exist_ok=True)
    img.write_bytes(b"\x89PNG fake image")
    await put(wecom, "team", "", channel="webhook", msgtype="image", payload={"path": "replies/a.png"})
    nokey = await put(wecom, "nokey", "没有 key 的机器人", channel="webhook")
    await wecom.worker.run_until_idle()
    hooks = wecom.fake.sent("webhook/send")
    assert len(hooks) == 20
    clock(wecom).advance(timedelta(seconds=61))
    await wecom.worker.run_until_idle()
    hooks = wecom.fake.sent("webhook/send")
    assert [c.body["text"]["content"] for c in hooks[:22]] == [f"群消息{i}" for i in range(22)]
    assert hooks[22].body["msgtype"] == "image" and hooks[22].body["image"]["md5"]
    assert (await rows(wecom))[nokey].status == "dead"


async def test_image_card_and_card_update(wecom: Harness) -> None:
    img = wecom.app.settings.data_dir / "replies" / "b.jpg"
    img.parent.mkdir(parents=True, exist_ok=True)
    img.write_bytes(b"\xff\xd8 jpeg")
    await put(wecom, "cs01", "", msgtype="image", payload={"path": "replies/b.jpg"})
    escape = await put(wecom, "cs01", "", msgtype="image", payload={"path": "../../etc/passwd"})
    card = {"card_type": "button_interaction", "main_title": {"title": "t"}, "task_id": "t1",
            "button_list": [{"text": "好", "style": 1, "key": "k"}]}
    await put(wecom, "cs01|cs02", "", msgtype="template_card", payload={"template_card": card})
    await put(wecom, "cs01|cs02", "", msgtype="update_card", payload={"response_code": "rc9", "replace_name": "已处理"})
    await wecom.worker.run_until_idle()
    assert wecom.fake.sent("media/upload")[0].body["size"] == len(b"\xff\xd8 jpeg")
    kinds = [c.body["msgtype"] for c in wecom.fake.sent() if c.body["touser"] != "admin"]
    assert kinds == ["image", "template_card"]
    upd = wecom.fake.sent("message/update_template_card")[0].body
    assert upd["userids"] == ["cs01", "cs02"] and upd["button"] == {"replace_name": "已处理"}
    assert (await rows(wecom))[escape].status == "dead"


async def test_api_down_ten_minutes_messages_wait_then_go_in_order(wecom: Harness) -> None:
    wecom.fake.down = True
    expected: dict[str, list[str]] = {"cs01": [], "cs02": [], "wh01": []}
    for i in range(12):
        user = ["cs01", "cs02", "wh01"][i % 3]
        expected[user].append(f"{user}-{i}")
        await put(wecom, user, f"{user}-{i}")
    start = clock(wecom).now()
    while clock(wecom).now() - start < timedelta(minutes=10):
        await wecom.worker.run_until_idle()
        clock(wecom).advance(timedelta(seconds=20))
    assert wecom.fake.sent() == []
    assert all(r.status == "pending" for r in (await rows(wecom)).values())
    wecom.fake.down = False
    for _ in range(60):  # the longest backoff step so far is a few minutes
        await wecom.worker.run_until_idle()
        clock(wecom).advance(timedelta(seconds=20))
    for user, texts in expected.items():
        assert wecom.fake.texts_to(user) == texts
    assert all(r.status == "sent" for r in (await rows(wecom)).values())


async def test_nothing_sent_twice_after_restart_and_two_workers_never_double_send(wecom: Harness) -> None:
    for i in range(20):
        await put(wecom, f"{['cs01', 'cs02', 'wh01', 'boss'][i % 4]}", f"x{i}")
    other = OutboxWorker(wecom.app, wecom.client, robots=wecom.worker.robots)
    await asyncio.gather(wecom.worker.run_until_idle(), other.run_until_idle())
    assert len(wecom.fake.sent()) == 20
    assert sorted(c.body["text"]["content"] for c in wecom.fake.sent()) == sorted(f"x{i}" for i in range(20))
    # a restart: new worker, same database
    await OutboxWorker(wecom.app, wecom.client, robots=wecom.worker.robots).run_until_idle()
    assert len(wecom.fake.sent()) == 20
    # a row a crashed process left mid-send: sent again once its lease is over (a possible
    # duplicate rather than a loss), no admin alert
    rid = await put(wecom, "cs01", "发送中崩溃")
    async with wecom.app.db.session() as s:
        row = await s.get(OutboxMessage, rid)
        assert row is not None
        row.status, row.next_attempt_at, row.claimed_by = "sending", clock(wecom).now() + timedelta(seconds=30), "x:1:a"
    await wecom.worker.run_until_idle()
    assert "发送中崩溃" not in wecom.fake.texts_to("cs01")  # the lease of an unknown claimer still holds
    clock(wecom).advance(timedelta(seconds=31))
    await wecom.worker.run_until_idle()
    assert wecom.fake.texts_to("cs01").count("发送中崩溃") == 1
    row = (await rows(wecom))[rid]
    assert row.status == "sent" and row.msgid.startswith("msg") and "interrupted" in row.last_error
    assert not wecom.fake.texts_to("admin")


async def test_a_gone_process_frees_its_claims_at_once_and_a_resent_card_is_not_doubled(wecom: Harness) -> None:
    from orders import processes

    dead = processes.Identity("h:1:dead", processes.current().host, 2 ** 22 + 12345)  # a pid that does not run
    card = {"card_type": "button_interaction", "main_title": {"title": "t"}, "task_id": "T-1",
            "button_list": [{"text": "ok", "key": "k"}]}
    rid = await put(wecom, "wh01", "", msgtype="template_card", payload={"template_card": card})
    tid = await put(wecom, "cs02", "第二条")
    async with wecom.app.db.session() as s:
        await processes.register(s, clock(wecom).now(), dead)
        for i in (rid, tid):
            row = await s.get(OutboxMessage, i)
            assert row is not None
            row.status, row.claimed_by = "sending", dead.id
            row.next_attempt_at = clock(wecom).now() + timedelta(seconds=30)
    wecom.fake.task_ids.add("T-1")  # the card reached WeCom before the crash
    await wecom.worker.run_until_idle()  # no lease to wait out: the claimer is gone
    assert wecom.fake.texts_to("cs02") == ["第二条"]
    r = await rows(wecom)
    assert r[rid].status == "sent" and "42014" in r[rid].last_error and r[tid].status == "sent"
    assert not [c for c in wecom.fake.sent() if c.body["msgtype"] == "template_card"]  # not shown twice
    assert not wecom.fake.texts_to("admin")


async def test_media_get_binary_and_json_error(wecom: Harness) -> None:
    wecom.fake.serve_media("MEDIA1", b"#!AMR\n1234", "audio/amr")
    assert await wecom.client.fetch_media("MEDIA1") == b"#!AMR\n1234"
    with pytest.raises(WeComError) as e:
        await wecom.client.fetch_media("nope")
    assert e.value.errcode == 40007
    wecom.fake.expire_tokens()
    assert await wecom.client.fetch_media("MEDIA1") == b"#!AMR\n1234"


async def test_bad_secret_is_permanent(wecom: Harness) -> None:
    wecom.client._secret = "wrong"
    rid = await put(wecom, "cs01", "x")
    await wecom.worker.run_until_idle()
    row = (await rows(wecom))[rid]
    assert row.status == "dead" and "40001" in row.last_error
    assert [c.api for c in wecom.fake.calls].count("gettoken") >= 1
    assert wecom.fake.sent() == []
