"""Deadlines in business hours (approvals.yaml business_hours): across a night, a holiday and a
closed weekday; shown as working hours on the card."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.dispatch import Dispatcher
from bot.testing import ChatBot
from config import ConfigDir, load_settings
from notifications.sweeper import sweep_deadlines
from orders.aftersales.hours import BusinessHours
from orders.app import App, build_app
from orders.clock import ManualClock
from tests.aftersales.helpers import card_of, outbox

TZ = "Asia/Shanghai"
NIGHT = datetime(2026, 1, 22, 15, 8, tzinfo=UTC)  # Thursday 23:08 in Shanghai


def sh(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 1, day, hh - 8, mm, tzinfo=UTC) if hh >= 8 else datetime(2026, 1, day - 1, hh + 16, mm,
                                                                                     tzinfo=UTC)


def test_add_and_between_in_working_hours() -> None:
    cal = BusinessHours()
    assert cal.add(NIGHT, 4, TZ) == sh(23, 13)  # not 03:08
    assert cal.add(sh(22, 19), 4, TZ) == sh(23, 11)  # 2 h today, 2 h tomorrow
    assert cal.between(sh(22, 20), sh(23, 10), TZ) == 2.0
    cal = BusinessHours.from_dict({"default": "09:00-18:00", "days": {"sat": "closed", "sun": "10:00-16:00"},
                                   "holidays": ["2026-01-23"]})
    assert cal.add(NIGHT, 4, TZ) == sh(25, 14)  # Fri holiday, Sat closed, Sun 10:00 + 4 h
    assert "周六 休息" in cal.describe()
    with pytest.raises(ValueError, match="weekday"):
        BusinessHours.from_dict({"days": {"someday": "closed"}})


async def test_case_opened_at_night_is_due_in_working_hours(bot: ChatBot, app: App, clock: ManualClock) -> None:
    clock.set(NIGHT)
    await bot.say("cs01", "售后 BG260122-0001 退款 10 少发")
    card = card_of((await outbox(app, "template_card"))[0])
    assert card["main_title"]["desc"] == "第2/2步 · 4工作小时内（01-23 13:00前）"
    clock.set(sh(23, 7, 8))  # the old plain-hours deadline: nobody is pinged at dawn
    assert await sweep_deadlines(app) == 0
    clock.set(sh(23, 12, 59))
    assert await sweep_deadlines(app) == 0
    clock.set(sh(23, 13))
    assert await sweep_deadlines(app) == 1


@pytest.fixture
async def holiday_app(db_path: Path, tmp_path: Path) -> AsyncIterator[App]:
    raw = ConfigDir().load("approvals")
    raw["business_hours"] = {"default": "09:00-21:00", "days": {"sat": "closed"}, "holidays": ["2026-01-23"]}
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "approvals.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{db_path}", data_dir=tmp_path / "var",
                             config_dir=folder)
    a = await build_app(settings, clock=ManualClock(NIGHT), migrate=False)
    yield a
    await a.close()


async def test_holiday_and_closed_day_push_the_deadline(holiday_app: App) -> None:
    from handlers import registry

    bot = ChatBot(holiday_app, Dispatcher(holiday_app, registry))
    clock = holiday_app.clock
    assert isinstance(clock, ManualClock)
    await bot.say("cs01", "售后 BG260122-0001 退款 10 少发")
    card = card_of((await outbox(holiday_app, "template_card"))[0])
    assert "01-25 13:00前" in card["main_title"]["desc"]  # Fri holiday, Sat closed
    clock.set(sh(24, 20))
    assert await sweep_deadlines(holiday_app) == 0
    clock.set(sh(25, 13) + timedelta(seconds=1))
    assert await sweep_deadlines(holiday_app) == 1
