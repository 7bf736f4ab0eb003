"""Board pages over HTTP: who sees what, the risk actions on the timeline, the order page, escaping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.testing import ChatBot
from orders.app import App
from orders.clock import ManualClock
from orders.intake.canonical import CanonOrder
from orders.models import Order, TimelineEvent
from tests.board.conftest import login
from tests.factories import canon
from tests.intake.helpers import importer
from tests.warehouse.helpers import to_sorting
from tests.wecom.harness import Harness


async def _risky(app: App) -> None:
    """Two orders of one phone and product 3 minutes apart (疑似刷单), one that does not add up."""
    rows = [canon("R1", phone="13900001111", created_at="2026-01-22T11:00:00+08:00"),
            canon("R2", phone="13900001111", created_at="2026-01-22T11:03:00+08:00"),
            canon("R3", phone="13700002222", paid="1.00", shop="<script>alert(1)</script>",
                  created_at="2026-01-22T12:00:00+08:00")]
    await importer(app).import_orders([CanonOrder.model_validate(r) for r in rows])


async def _csrf(board: Harness, path: str) -> str:
    html = await (await board.http.get(path)).text()
    return html.split('name="csrf" value="')[1].split('"')[0]


async def test_roles_decide_the_pages(board: Harness) -> None:
    await login(board, "temp01")
    assert (await board.http.get("/board/tasks")).status == 200
    for path in ("/board/risk", "/board/overdue"):
        r = await board.http.get(path)
        assert r.status == 403 and "不能查看" in await r.text()
    board.http.session.cookie_jar.clear()
    await login(board, "cs01")
    assert (await board.http.get("/board/tasks")).status == 403
    assert (await board.http.get("/board/order/BG260122-0001")).status == 200
    board.http.session.cookie_jar.clear()
    await login(board, "boss")
    for path in ("/board/tasks", "/board/risk", "/board/overdue"):
        assert (await board.http.get(path)).status == 200, path


async def test_a_temp_sees_only_their_own_cards_and_orders(board: Harness, bot: ChatBot) -> None:
    await to_sorting(bot, "BG260122-0001", "BG260122-0002")  # round robin: temp01, temp02
    await login(board, "temp01")
    html = await (await board.http.get("/board/tasks")).text()
    assert "BG260122-0001" in html and "BG260122-0002" not in html
    assert (await board.http.get("/board/order/BG260122-0001")).status == 200
    assert (await board.http.get("/board/order/BG260122-0002")).status == 403
    board.http.session.cookie_jar.clear()
    await login(board, "wh01")
    html = await (await board.http.get("/board/tasks")).text()
    assert "BG260122-0001" in html and "BG260122-0002" in html and "钱临时" in html and "周临时" in html


async def test_risk_actions_land_on_the_timeline_and_update_the_flag(board: Harness) -> None:
    app = board.app
    await _risky(app)
    await login(board, "ops01")
    html = await (await board.http.get("/board/risk")).text()
    async with app.db.session() as s:
        r1, r2, r3 = [await s.scalar(select(Order).where(Order.channel_order_id == i)) for i in ("R1", "R2", "R3")]
    assert r1 and r2 and r3 and "疑似刷单" in r1.flags and "金额不一致" in r3.flags
    assert r1.order_no in html and r2.order_no in html and r3.order_no in html
    assert "同一手机号同一商品" in html and "139****1111" in html and "13900001111" not in html
    token = await _csrf(board, "/board/risk")
    assert (await board.http.post(f"/board/risk/{r1.order_no}", data={"verdict": "确认刷单"})).status == 403  # no CSRF
    ok = await board.http.post(f"/board/risk/{r1.order_no}", data={"verdict": "确认刷单", "csrf": token})
    assert ok.status == 200 and "已处理" in await ok.text()
    ok = await board.http.post(f"/board/risk/{r3.order_no}", data={"verdict": "正常", "csrf": token})
    bad = await board.http.post(f"/board/risk/{r3.order_no}", data={"verdict": "正常", "csrf": token})
    assert bad.status == 400 and "没有待审的风险标记" in await bad.text()
    async with app.db.session() as s:
        o1 = await s.get(Order, r1.id)
        o3 = await s.get(Order, r3.id)
        evs = (await s.scalars(select(TimelineEvent).where(TimelineEvent.kind == "risk_reviewed")
                               .order_by(TimelineEvent.id))).all()
    assert o1 and o3 and o1.flags == ["确认刷单"] and "金额不一致" not in o3.flags
    assert [(e.order_id, e.actor, e.source, e.detail["verdict"]) for e in evs] == [
        (r1.id, "ops01", "board", "确认刷单"), (r3.id, "ops01", "board", "正常")]
    board.http.session.cookie_jar.clear()
    await login(board, "boss")  # a manager may look but not decide
    assert "确认刷单</button>" not in await (await board.http.get("/board/risk")).text()
    token = await _csrf(board, "/board/tasks")
    assert (await board.http.post(f"/board/risk/{r2.order_no}", data={"verdict": "正常", "csrf": token})).status == 403


async def test_values_are_escaped_and_personal_data_masked(board: Harness) -> None:
    await _risky(board.app)
    await login(board, "ops01")
    async with board.app.db.session() as s:
        r3 = await s.scalar(select(Order).where(Order.channel_order_id == "R3"))
    assert r3 is not None
    html = await (await board.http.get(f"/board/order/{r3.order_no}")).text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "137****2222" in html and "13700002222" not in html and "文三路100号3幢" not in html
    assert "张**" in html and "张三丰" not in html


async def test_the_order_page_shows_the_whole_timeline(board: Harness, bot: ChatBot) -> None:
    await bot.say("cs01", "运单 BG260122-0003 zto 73123456789012")
    await login(board, "cs01")
    html = await (await board.http.get("/board/order/BG260122-0003")).text()
    assert "73123456789012" in html and "加运单" in html and "导入" in html
    assert (await board.http.get("/board/order/BG999999-9999")).status == 404


async def test_overdue_orders_can_be_filtered(board: Harness, clock: ManualClock) -> None:
    clock.advance(timedelta(hours=72))
    await login(board, "boss")
    html = await (await board.http.get("/board/overdue")).text()
    assert "BG260122-0001" in html
    html = await (await board.http.get("/board/overdue?channel=jd")).text()
    assert "BG260122-0001" not in html and "没有超时订单" in html


async def test_a_deep_link_opens_its_page_after_login(board: Harness) -> None:
    from bot.board.routes import deep_link

    board.app.settings.board_url = str(board.http.make_url("")).rstrip("/")
    link = deep_link(board.app, "/board/order/BG260122-0001")
    path = link.split(board.app.settings.board_url, 1)[1]
    anon = await board.http.get(path, allow_redirects=False)
    assert anon.status == 302 and anon.headers["Location"].startswith("/board/login?next=/board/go")
    await login(board, "cs01")
    r = await board.http.get(path, allow_redirects=False)
    assert r.headers["Location"] == "/board/order/BG260122-0001"
    assert (await board.http.get("/board/go?t=forged", allow_redirects=False)).status == 400


async def test_analytics_pages_reuse_the_chat_figures_and_check_roles(board: Harness) -> None:
    await login(board, "boss")
    html = await (await board.http.get("/board/regions")).text()
    assert "区域健康" in html and "data:image/png;base64," in html and "口径" in html
    html = await (await board.http.get("/board/customers")).text()
    assert "客户池" in html and "重要价值" in html and "高潜留存 TOP 20" in html
    assert (await board.http.get("/board/customers?segment=nope")).status == 400
    html = await (await board.http.get("/board/collab")).text()
    assert "跨部门协作中断" in html and "data:image/png;base64," in html
    board.http.session.cookie_jar.clear()
    await login(board, "cs01")
    assert (await board.http.get("/board/regions")).status == 403
    assert (await board.http.get("/board/customers")).status == 403
    assert (await board.http.get("/board/collab")).status == 403


async def test_analytics_pages_are_built_once_per_five_minutes(board: Harness, clock: ManualClock,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.board import analytics

    calls: list[object] = []
    real = analytics.build_collab

    async def counted(*args: object, **kw: object) -> object:
        calls.append(args)
        return await real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(analytics, "build_collab", counted)
    await login(board, "boss")
    for _ in range(3):
        assert "数据生成于" in await (await board.http.get("/board/collab")).text()
    assert len(calls) == 1
    clock.advance(timedelta(minutes=5))
    assert (await board.http.get("/board/collab")).status == 200
    assert len(calls) == 2
