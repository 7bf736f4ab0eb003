"""Opening the app (enter_agent) greets the user once a day with their first commands."""

from __future__ import annotations

from datetime import timedelta

from orders.clock import ManualClock
from tests.wecom.harness import Harness, event_xml


async def test_greeting_once_a_day(wecom: Harness) -> None:
    for t in (1769047401, 1769047402):
        await wecom.post(event_xml("temp01", "enter_agent", "", t))
        await wecom.post(event_xml("cs01", "enter_agent", "", t))
    await wecom.settle()
    assert wecom.fake.texts_to("temp01") == ["钱临时，您好！常用：「任务」。发送「帮助」查看全部命令。"]
    [cs] = wecom.fake.texts_to("cs01")
    assert "「查 BG260122-8812 或 查 8812」" in cs and "「售后 " in cs
    clock = wecom.app.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(days=1))
    await wecom.post(event_xml("temp01", "enter_agent", "", 1769047403))
    await wecom.settle()
    assert len(wecom.fake.texts_to("temp01")) == 2
