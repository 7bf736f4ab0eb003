"""Helpers for task-wall tests: button presses, scans, outbox rows."""

from __future__ import annotations

from bot.testing import ChatBot
from bot.types import Card, Incoming, Reply
from tests.aftersales.helpers import outbox  # noqa: F401  (re-exported for the task tests)


def press(user: str, key: str, code: str = "rc-1") -> Incoming:
    return Incoming(user_id=user, kind="card_action", event="template_card_event", event_key=key,
                    task_id="wt-card", response_code=code, transport="wecom")


def scan(user: str, code: str) -> Incoming:
    return Incoming(user_id=user, kind="scan", event="scancode_waitmsg", event_key="scan", scan_result=code)


def cards(replies: list[Reply]) -> list[Card]:
    return [r.card for r in replies if r.card is not None]


def text(replies: list[Reply]) -> str:
    return "\n".join(r.as_text() for r in replies)


async def to_sorting(bot: ChatBot, *order_nos: str) -> None:
    """cs01 moves orders into 仓库分单 (which assigns them to the temps on duty)."""
    for no in order_nos:
        out = await bot.say("cs01", f"推进 {no}")
        assert "→ 仓库分单" in out, out


async def my_card(bot: ChatBot, user: str, order_no: str) -> Card:
    for c in cards(await bot.replies(user, "任务")):
        if c.title == f"订单 {order_no}":
            return c
    raise AssertionError(f"no card for {order_no} in {user}'s tasks")


def button(card: Card, label: str) -> str:
    return next(b.key for b in card.buttons if b.text == label)
