"""Units of the transport: message parsing and dedupe keys, text splitting, robots, redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.wecom.crypto import Malformed
from bot.wecom.messages import dedupe_key, parse
from bot.wecom.replies import split_text
from notifications.robots import RobotBook
from notifications.wecom_api import redact
from orders.warehouse.picking import normalize_code
from tests.wecom.harness import card_xml, media_xml, text_xml

NOW = datetime(2026, 1, 22, 2, 0, tzinfo=UTC)


def _selected(items: str) -> str:
    return card_xml("cs01", "k", "t", "rc", 1).replace("</xml>", f"<SelectedItems>{items}</SelectedItems></xml>")


def test_template_card_event_with_one_or_several_selected_items() -> None:
    one = "<SelectedItem><QuestionKey>q1</QuestionKey><OptionIds><OptionId>a</OptionId></OptionIds></SelectedItem>"
    p = parse(_selected(one), received_at=NOW)
    assert p.incoming is not None and p.incoming.kind == "card_action"
    assert (p.incoming.event_key, p.incoming.task_id, p.incoming.response_code) == ("k", "t", "rc")
    assert p.incoming.raw["selected"] == [{"question_key": "q1", "option_ids": ["a"]}]
    two = one + "<SelectedItem><QuestionKey>q2</QuestionKey><OptionIds><OptionId>b</OptionId>" \
                "<OptionId>c</OptionId></OptionIds></SelectedItem>"
    p = parse(_selected(two), received_at=NOW)
    assert p.incoming is not None
    assert p.incoming.raw["selected"][1] == {"question_key": "q2", "option_ids": ["b", "c"]}


def test_kinds_and_dedupe_keys() -> None:
    t = parse(text_xml("cs01", " 查 1 ", "123"), received_at=NOW)
    assert t.incoming is not None and t.incoming.text == "查 1" and t.dedupe_key == "msg:123"
    v = parse(media_xml("cs01", "voice", "MV", "124"), received_at=NOW)
    assert v.incoming is not None and v.incoming.kind == "voice" and v.incoming.media_id == "MV"
    c = parse(card_xml("cs01", "k", "task9", "rc", 1769047200), received_at=NOW)
    assert c.dedupe_key == "ev:cs01:1769047200:template_card_event:k:task9"
    long = dedupe_key({"FromUserName": "u" * 64, "CreateTime": "1", "Event": "click", "EventKey": "k" * 200})
    assert long.startswith("h:") and len(long) <= 191
    with pytest.raises(Malformed):
        parse("<xml><MsgType>text</MsgType></xml>", received_at=NOW)
    with pytest.raises(Malformed):
        parse("<nope/>", received_at=NOW)
    with pytest.raises(Malformed):  # an event that does not say which
        parse("<xml><FromUserName>cs01</FromUserName><MsgType>event</MsgType></xml>", received_at=NOW)


def test_split_text_respects_the_byte_limit_and_keeps_everything() -> None:
    text = "\n".join(f"第{i}行：" + "订单状态" * 20 for i in range(60))
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(p + "\n" for p in parts).replace("\n", "") == text.replace("\n", "")
    one_line = "很" * 3000
    parts = split_text(one_line)
    assert all(len(p.encode()) <= 2048 for p in parts) and "".join(parts) == one_line


def test_robot_keys_come_from_config_or_env_never_from_git() -> None:
    book = RobotBook({"wh": {"key_env": "MY_KEY"}, "cs": {}, "x": {"key": "inline"}},
                     env={"MY_KEY": "k1", "ORDERBOT_ROBOT_CS": "k2"})
    assert (book.key("wh"), book.key("cs"), book.key("x"), book.key("nope")) == ("k1", "k2", "inline", None)


def test_redact_and_scan_result() -> None:
    assert redact("GET /cgi-bin/message/send?access_token=abc&x=1 key=zzz") == \
        "GET /cgi-bin/message/send?access_token=***&x=1 key=***"
    assert normalize_code("CODE_128,BG260122-0001") == "BG260122-0001"  # what the menu scan looks up
    assert normalize_code("BG260122-0001") == "BG260122-0001"
