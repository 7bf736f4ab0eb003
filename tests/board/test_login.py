"""Board login through WeCom: the QR path and the in-client OAuth path, and every refusal."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.board.conftest import login
from tests.wecom.harness import CORP_ID, Harness


async def test_qr_login_on_a_pc_browser_opens_the_asked_page(board: Harness) -> None:
    start = await board.http.get("/board/login?next=/board/tasks", allow_redirects=False)
    loc = urlsplit(start.headers["Location"])
    q = parse_qs(loc.query)
    assert loc.path == "/wwlogin/sso/login" and q["login_type"] == ["CorpApp"] and q["appid"] == [CORP_ID]
    assert q["redirect_uri"][0].endswith("/board/auth") and q["state"][0].isalnum()
    cookie = start.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    done = await login(board, "wh01")
    assert done.status == 302 and done.headers["Location"] == "/board/tasks"
    set_cookie = done.headers.getall("Set-Cookie")
    session = next(c for c in set_cookie if c.startswith("ob_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" not in session  # plain HTTP here
    page = await board.http.get("/board/tasks")
    assert page.status == 200 and "任务墙" in await page.text()


async def test_inside_the_wecom_client_the_oauth_link_is_used(board: Harness) -> None:
    ua = "Mozilla/5.0 (Windows NT 10.0) wxwork/4.1.22 MicroMessenger/7.0.1"
    start = await board.http.get("/board/login", allow_redirects=False, headers={"User-Agent": ua})
    loc = start.headers["Location"]
    assert urlsplit(loc).path == "/connect/oauth2/authorize" and loc.endswith("#wechat_redirect")
    q = parse_qs(urlsplit(loc).query)
    assert q["scope"] == ["snsapi_base"] and q["response_type"] == ["code"] and q["agentid"] == ["1000002"]
    done = await login(board, "boss", ua=ua)
    assert done.status == 302 and (await board.http.get("/board/tasks")).status == 200


async def test_a_bad_code_a_non_member_and_an_unknown_user_are_refused(board: Harness) -> None:
    start = await board.http.get("/board/login", allow_redirects=False)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    bad = await board.http.get(f"/board/auth?code=nosuchcode&state={state}", allow_redirects=False)
    assert bad.status == 403 and "登录码无效" in await bad.text()
    outsider = await login(board, None)
    assert outsider.status == 403 and "仅限本企业成员" in await outsider.text()
    stranger = await login(board, "ghost99")
    assert stranger.status == 403 and "还没有开通" in await stranger.text()
    assert (await board.http.get("/board/tasks", allow_redirects=False)).status == 302  # still logged out


async def test_a_forged_or_missing_state_is_refused(board: Harness) -> None:
    await board.http.get("/board/login", allow_redirects=False)  # this browser's state cookie
    code = board.fake.issue_code("wh01")
    forged = await board.http.get(f"/board/auth?code={code}&state=deadbeef", allow_redirects=False)
    assert forged.status == 400 and "登录状态不符" in await forged.text()
    board.http.session.cookie_jar.clear()
    no_cookie = await board.http.get(f"/board/auth?code={code}&state=deadbeef", allow_redirects=False)
    assert no_cookie.status == 400
    assert (await board.http.get("/board/tasks", allow_redirects=False)).status == 302


async def test_pages_need_a_session_and_logout_needs_the_csrf_token(board: Harness) -> None:
    anon = await board.http.get("/board/risk", allow_redirects=False)
    assert anon.status == 302 and anon.headers["Location"] == "/board/login?next=/board/risk"
    assert (await board.http.get("/board/events")).status == 401
    await login(board, "ops01")
    assert (await board.http.post("/board/logout", data={"csrf": "wrong"})).status == 403
    page = await board.http.get("/board/risk")
    html = await page.text()
    token = html.split('name="csrf" value="')[1].split('"')[0]
    out = await board.http.post("/board/logout", data={"csrf": token})
    assert out.status == 200 and "已退出" in await out.text()
    assert (await board.http.get("/board/risk", allow_redirects=False)).status == 302


async def test_an_expired_session_goes_back_to_login(board: Harness) -> None:
    import asyncio

    from bot.board.state import BOARD

    board.http.server.app[BOARD].signer.session_seconds = 1  # as if ORDERBOT_BOARD_SESSION_HOURS were 1 s
    await login(board, "wh01")
    assert (await board.http.get("/board/tasks", allow_redirects=False)).status == 200
    await asyncio.sleep(2.1)
    r = await board.http.get("/board/tasks", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith("/board/login")


async def test_login_endpoints_are_rate_limited(board: Harness) -> None:
    codes = [(await board.http.get("/board/login", allow_redirects=False)).status for _ in range(25)]
    assert codes[:20] == [302] * 20 and set(codes[20:]) == {429}


async def test_every_page_carries_a_content_security_policy(board: Harness) -> None:
    r = await board.http.get("/board/login", allow_redirects=False)
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    await login(board, "wh01")
    r = await board.http.get("/board/tasks")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"] and r.headers["X-Content-Type-Options"]
    assert (await board.http.get("/healthz")).status == 200  # still public
