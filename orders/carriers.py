"""Carrier companies a tracking number can belong to: Chinese name, Kuaidi100 code, the aliases
people type (中通 / zto / ZTO / 中通快递), and the number's shape where it is known."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from orders.errors import InvalidInput


@dataclass(frozen=True)
class Carrier:
    name: str  # what is stored and shown
    code: str  # Kuaidi100 company code
    aliases: tuple[str, ...]
    pattern: str = ""  # full-match regex of a tracking number; "" = not checked
    shape: str = ""  # the pattern in words, for the refusal

    def accepts(self, number: str) -> bool:
        return not self.pattern or re.fullmatch(self.pattern, number) is not None


CARRIERS = (
    Carrier("顺丰", "shunfeng", ("顺丰速运", "顺丰快递", "sf", "sfexpress"), r"SF\d{10,15}|\d{12}",
            "SF加10到15位数字，或12位数字"),
    Carrier("中通", "zhongtong", ("中通快递", "zto"), r"\d{12,15}", "12到15位数字"),
    Carrier("圆通", "yuantong", ("圆通速递", "圆通快递", "yto"), r"(YT)?\d{10,15}", "YT加数字，或10到15位数字"),
    Carrier("申通", "shentong", ("申通快递", "sto"), r"\d{12,15}", "12到15位数字"),
    Carrier("韵达", "yunda", ("韵达快递", "韵达速递", "yd", "yunda"), r"\d{13,15}", "13到15位数字"),
    Carrier("极兔", "jtexpress", ("极兔速递", "极兔快递", "jt", "j&t", "jtexpress"), r"JT\d{10,15}",
            "JT加10到15位数字"),
    Carrier("EMS", "ems", ("邮政ems", "中国邮政ems", "ems快递"), r"[A-Z]{2}\d{9}[A-Z]{2}|\d{13}",
            "13位数字，或如 EA123456789CN"),
    Carrier("邮政", "youzhengguonei", ("中国邮政", "邮政快递", "邮政包裹", "chinapost"),
            r"[A-Z]{2}\d{9}[A-Z]{2}|\d{11,15}", "11到15位数字，或如 EA123456789CN"),
    Carrier("京东", "jd", ("京东快递", "京东物流", "jd", "jdl"), r"JD[A-Z0-9]{10,16}", "JD加10到16位字母或数字"),
    Carrier("德邦", "debangkuaidi", ("德邦快递", "德邦物流", "deppon", "db"), r"(DPK)?\d{9,15}",
            "DPK加数字，或9到15位数字"),
    Carrier("百世", "huitongkuaidi", ("百世快递", "百世汇通", "汇通", "best"), r"[A-Z]?\d{12,15}", "12到15位数字"),
    Carrier("宅急送", "zhaijisong", ("zjs",)),
    Carrier("丹鸟", "danniao", ("danniao",)),
    Carrier("丰网", "fengwang", ("丰网速运",)),
)
_BY_WORD = {w.casefold(): c for c in CARRIERS for w in (c.name, c.code, *c.aliases)}


def find_carrier(word: str) -> Carrier:
    """The carrier a typed word names; an unknown one is refused naming the closest."""
    w = (word or "").strip().casefold()
    c = _BY_WORD.get(w) or _BY_WORD.get(w.removesuffix("快递").removesuffix("速递").removesuffix("物流"))
    if c is not None:
        return c
    close = difflib.get_close_matches(w, list(_BY_WORD), n=1, cutoff=0.4)
    hint = f"您是不是想写「{_BY_WORD[close[0]].name}」？" if close else ""
    names = "、".join(c.name for c in CARRIERS)
    raise InvalidInput(f"不认识的快递公司「{(word or '')[:20]}」。{hint}可用：{names}")


def check_number(carrier: Carrier, number: str) -> None:
    if not carrier.accepts(number):
        raise InvalidInput(f"{carrier.name}的运单号应为{carrier.shape}，「{number}」不符，请核对。")
