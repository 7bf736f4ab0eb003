"""Refund amounts as people type them: ``59.9``, ``59.90元``, ``20块``, ``二十``, ``十二块八``,
``一百零五元五角``, ``全额``. Parsed to integer fen exactly, or refused: never a guess."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

import cn2an

from orders.errors import InvalidInput
from orders.money import fen_to_yuan

FULL = "全额"
CN_DIGITS = "零〇一二两三四五六七八九"
CN_NUM = CN_DIGITS + "十拾百佰千仟万点"
DIGITS_RE = re.compile(r"^(\d+)(?:\.(\d{1,2}))?(?:元|块|块钱)?$")
# 十二块八 / 十二块八毛 / 一百零五元五角 / 十二元八角五分 / 二十元 / 二十 / 十二点八
CN_RE = re.compile(rf"^(?P<yuan>[{CN_NUM}0-9.]+?)(?:(?:元|块)钱?(?:(?P<jiao>[{CN_DIGITS}0-9])(?:角|毛)?)?"
                   rf"(?:(?P<fen>[{CN_DIGITS}0-9])分)?)?$")
# What makes a word an attempt at an amount (then it must parse, or the request is refused).
LOOKS_LIKE = re.compile(rf"^[-+−－]?[￥¥]?[\d.{CN_NUM}]")


def looks_like_amount(word: str) -> bool:
    w = unicodedata.normalize("NFKC", word).strip()
    return w == FULL or bool(LOOKS_LIKE.match(w))


def _cn_digit(ch: str | None) -> int:
    if not ch:
        return 0
    return int(ch) if ch.isdigit() else int(cn2an.cn2an(ch.replace("〇", "零"), "normal"))


def parse_amount(word: str) -> int | None:
    """Fen for an amount word; None for 全额 (the whole refundable amount). Raises InvalidInput
    for anything that is not exactly an amount (signs, three decimals, text, zero)."""
    w = unicodedata.normalize("NFKC", word).strip().lstrip("￥¥").strip()
    if w == FULL:
        return None
    if w[:1] in "-−":
        raise InvalidInput(f"金额「{word[:20]}」不能为负数，请写退给买家的金额，例如 20 或 全额。")
    fen: int | None = None
    if m := DIGITS_RE.match(w):
        fen = int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))
    elif (m := CN_RE.match(w)) and not w.isdigit():
        try:
            yuan = Decimal(str(cn2an.cn2an(m.group("yuan"), "smart")))
        except (ValueError, KeyError, IndexError):
            yuan = Decimal(-1)
        cents = yuan * 100
        sub = bool(m.group("jiao") or m.group("fen"))
        if yuan >= 0 and cents == cents.to_integral_value() and not (sub and yuan != yuan.to_integral_value()):
            fen = int(cents) + _cn_digit(m.group("jiao")) * 10 + _cn_digit(m.group("fen"))
    if fen is None:
        raise InvalidInput(f"金额「{word[:20]}」看不懂：请写数字（最多两位小数，如 59.9、20元）、中文数字"
                           f"（如 二十、十二块八）或「全额」。")
    if fen <= 0:
        raise InvalidInput("金额需大于0。")
    return fen


def check_refundable(fen: int | None, refundable: int, paid: int, refunded: int) -> int:
    """The amount to use: ``fen`` if within what may still be refunded, the whole of it for 全额."""
    if refundable <= 0:
        raise InvalidInput(f"订单实付 {fen_to_yuan(paid)} 元，已退或退款中 {fen_to_yuan(refunded)} 元，"
                           "已没有可退金额。")
    if fen is None:
        return refundable
    if fen > refundable:
        raise InvalidInput(f"金额 {fen_to_yuan(fen)} 元超过可退金额 {fen_to_yuan(refundable)} 元"
                           f"（实付 {fen_to_yuan(paid)} 元，已退或退款中 {fen_to_yuan(refunded)} 元）。")
    return fen
