"""Links to the board from chat and the digest: signed, expiring, still behind login; none without
ORDERBOT_BOARD_URL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.testing import ChatBot
from notifications.digest import build_digest
from orders.board_links import deep_link, path_of, sign_path
from orders.clock import ManualClock
from tests.board.conftest import login
from tests.warehouse.helpers import button, my_card, outbox, press, to_sorting
from tests.wecom.harness import Harness

LINK = re.compile(r"(https?://[^\s)]+/board/go\?t=[\w.%-]+)")


def _serve_links(board: Harness) -> str:
    base = str(board.http.make_url("")).rstrip("/")
    board.app.settings.board_url = base
    return base


async def _follow(board: Harness, url: str) -> str:
    """Open a link as a logged-in browser; the page path it lands on."""
    path = url.split(board.app.settings.board_url, 1)[1]
    r = await board.http.get(path, allow_redirects=False)
    assert r.status == 302, await r.text()
    page = await board.http.get(r.headers["Location"])
    assert page.status == 200, r.headers["Location"]
    return r.headers["Location"]


async def test_query_reply_links_to_the_order_page(board: Harness, bot: ChatBot) -> None:
    out = await bot.say("cs01", "查 BG260122-0001")
    assert "/board/" not in out  # no ORDERBOT_BOARD_URL: no link
    _serve_links(board)
    out = await bot.say("cs01", "查 BG260122-0001")
    assert "在看板中打开：" in out and len(out.splitlines()) <= 12
    (url,) = LINK.findall(out)
    anon = await board.http.get(url.split(board.app.settings.board_url, 1)[1], allow_redirects=False)
    assert anon.status == 302 and anon.headers["Location"].startswith("/board/login?next=/board/go")
    await login(board, "cs01")
    assert await _follow(board, url) == "/board/order/BG260122-0001"


async def test_digest_links_to_overdue_and_analytics_pages(board: Harness, clock: ManualClock) -> None:
    clock.advance(timedelta(hours=30))
    assert "/board/go" not in (await build_digest(board.app)).markdown
    _serve_links(board)
    md = (await build_digest(board.app)).markdown
    section = md.split("## 看板", 1)[1]
    assert all(f"[{name}](" in section for name in ("超时订单", "区域健康", "客户池", "跨部门协作"))
    await login(board, "boss")
    landed = [await _follow(board, url) for url in LINK.findall(section)]
    assert landed == ["/board/overdue", "/board/regions", "/board/customers", "/board/collab"]
    weekly = (await build_digest(board.app, ("stuck", "channels"))).markdown.split("## 看板", 1)[1]
    assert "超时订单" in weekly and "区域健康" not in weekly  # only the pages of the sections sent (+ 客户池)


async def test_exception_report_tells_the_leads_with_a_task_wall_link(board: Harness, bot: ChatBot) -> None:
    _serve_links(board)
    await to_sorting(bot, "BG260122-0001")
    card = await my_card(bot, "temp01", "BG260122-0001")
    await bot.send(press("temp01", button(card, "异常上报")))
    await bot.say("temp01", "外箱破损 羽绒服袋子破了")
    told = [r.payload["content"] for r in await outbox(board.app, "text") if r.target == "wh01"]
    (text,) = [t for t in told if "异常上报 #1" in t]
    (url,) = LINK.findall(text)
    await login(board, "wh01")
    assert await _follow(board, url) == "/board/tasks"
    (url,) = LINK.findall(await bot.say("wh01", "看板"))  # the lead's floor in chat links the wall too
    assert await _follow(board, url) == "/board/tasks"


async def test_expired_forged_and_foreign_links_are_refused(board: Harness, clock: ManualClock) -> None:
    _serve_links(board)
    url = deep_link(board.app.settings, "/board/overdue", clock.now())
    await login(board, "boss")
    path = url.split(board.app.settings.board_url, 1)[1]
    clock.advance(timedelta(days=7, minutes=1))
    r = await board.http.get(path, allow_redirects=False)
    assert r.status == 400 and "已过期" in await r.text()
    assert (await board.http.get(path + "x", allow_redirects=False)).status == 400
    now = datetime(2026, 1, 22, tzinfo=UTC)
    secret = board.app.settings.secret_key
    assert path_of(secret, sign_path(secret, "/board/tasks", now), now) == "/board/tasks"
    assert path_of("another-secret", sign_path(secret, "/board/tasks", now), now) is None
    assert path_of(secret, sign_path(secret, "https://evil.example/", now), now) is None  # never off the board
    assert path_of(secret, sign_path(secret, "/board//evil.example", now), now) is None


async def test_no_link_without_a_board_url_or_secret(board: Harness, clock: ManualClock) -> None:
    s = board.app.settings
    assert deep_link(s, "/board/tasks", clock.now()) == ""  # no ORDERBOT_BOARD_URL
    _serve_links(board)
    assert deep_link(s, "/board/tasks", clock.now()).startswith(s.board_url + "/board/go?t=")
    s.secret_key = ""
    assert deep_link(s, "/board/tasks", clock.now()) == ""
