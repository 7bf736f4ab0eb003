"""Words for people: every timeline kind the code records has a Chinese label, and 轨迹 shows
flags and carrier exceptions by name (疑似刷单, 金额不一致, 物流异常), never the raw code."""

from __future__ import annotations

import re
from pathlib import Path

from bot.testing import ChatBot
from orders.app import App
from orders.labels import KINDS, kind_label
from tests.fakes import payloads as P
from tests.intake.helpers import pull_in

ROOT = Path(__file__).resolve().parent.parent
CALL = re.compile(r"(timeline\.record\(|\.move\(|events\.append\(dict\(|TimelineEvent\(|event_row\()")
KIND = re.compile(r'kind="([a-z_]+)"(?:\s+if\s+\w+\s+else\s+"([a-z_]+)")?')


def recorded_kinds() -> set[str]:
    """Kinds written in a timeline call (within the call's first 400 characters) anywhere in the code."""
    found: set[str] = set()
    for folder in ("orders", "handlers", "bot", "notifications", "stt"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for m in CALL.finditer(text):
                for k in KIND.finditer(text[m.end():m.end() + 400].split("\n\n")[0]):
                    found.update(x for x in k.groups() if x)
    return found


def test_every_recorded_timeline_kind_has_a_label() -> None:
    kinds = recorded_kinds()
    assert {"flagged", "exception_opened", "imported", "aftersales_rejected"} <= kinds  # the scan sees them
    assert kinds - set(KINDS) == set()
    assert all(re.search(r"[\u4e00-\u9fff]", v) for v in KINDS.values())


def test_flag_rows_name_the_flag() -> None:
    assert kind_label("flagged", {"flag": "疑似刷单"}) == "疑似刷单"
    assert kind_label("flagged", {"flag": "金额不一致", "diff": "-0.01"}) == "金额不一致（差额-0.01元）"
    assert kind_label("exception_opened", {"label": "疑难件"}) == "物流异常：疑难件"
    assert kind_label("flags_changed") == "平台标记变化"


async def test_track_shows_chinese_words(app: App, bot: ChatBot) -> None:
    await pull_in(app, "taobao", P.taobao("TBL1", payment=29519))  # one fen short: 金额不一致
    out = await bot.say("cs01", "轨迹 TBL1")
    assert "金额不一致（差额-0.01元）" in out and "flagged" not in out and "导入" in out
