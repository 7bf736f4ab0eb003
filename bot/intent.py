"""What a message without a command word means: an order key alone or in a short question
("8812 这单到哪了", "查一下 8812", "BG261130-0023") is a 查; a greeting is a greeting."""

from __future__ import annotations

import re

MAX_QUESTION = 30
# An order key: hub number, platform id, tracking number, mobile, or a suffix of 4+ (with a digit).
_KEY = re.compile(r"(?:尾号)?(?<![A-Za-z0-9-])([A-Za-z0-9][A-Za-z0-9-]{2,39})(?![A-Za-z0-9-])")
_RUN4 = re.compile(r"\d{4}")  # an order key holds 4+ digits in a row (BG…-0003, T1003, a mobile)
_MASKED_PHONE = re.compile(r"(?<!\d)1\d{2}\*{3,4}\d{4}(?!\d)")
# What may surround a key in a short question (everything else makes it not a question).
_FILLER = re.compile(r"^[\s查询看下一帮我这个单子订单号的呢吗么了到哪里儿什么时候发货没有状态怎样如何"
                     r"物流快递进度请问麻烦尾号是啥?,:]*$")
GREETINGS = ("你好", "您好", "hi", "hello", "在吗", "在不在", "早", "早上好", "上午好", "下午好", "晚上好", "嗨",
             "哈喽", "你好呀", "您好呀", "在么")


def order_key(text: str) -> str | None:
    """The order key a command-less message asks about, or None. ``text`` is normalised."""
    m = _MASKED_PHONE.search(text)
    found = [m.group(0)] if m else [k for k in _KEY.findall(text) if _RUN4.search(k)]
    if len(found) != 1:
        return None
    key = found[0]
    if text == key:
        return key
    if len(text) > MAX_QUESTION:
        return None
    rest = text.replace(key, " ", 1)
    if not _FILLER.match(rest):
        return None
    return f"尾号{key}" if "尾号" in rest else key


def is_greeting(text: str) -> bool:
    return text.lower().rstrip("~!啊呀") in GREETINGS
