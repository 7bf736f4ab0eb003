"""Splitting a Chinese address into province / city / district / detail (cpca-new)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from orders.errors import InvalidInput

MAX_ADDRESS = 200
SHORT_SUFFIXES = ("区", "新区", "县", "市")


@dataclass(frozen=True)
class Address:
    province: str
    city: str
    district: str
    detail: str

    def full(self) -> str:
        return f"{self.province}{self.city if self.city != self.province else ''}{self.district}{self.detail}"


@lru_cache(maxsize=1)
def _cpca() -> Any:
    import cpca_new  # heavy-ish (pandas); loaded on first use only

    return cpca_new


def parse_address(text: str) -> Address:
    """Parse a free-text address; refuse one without a province/city or without a street part."""
    text = (text or "").strip().replace(" ", "")
    if not text:
        raise InvalidInput("请提供新地址，例如：改地址 BG260122-8812 浙江省杭州市西湖区文三路100号")
    if len(text) > MAX_ADDRESS:
        raise InvalidInput(f"地址太长（最多{MAX_ADDRESS}个字）。")
    addr = _place(text)
    if not addr.province or not addr.city:
        raise InvalidInput("无法识别地址在哪个省市，未保存。请补上省市区再发一次，"
                           "例如：上海市浦东新区张江路88弄3号楼502室")
    if len(addr.detail) < 2:
        raise InvalidInput("地址缺少详细部分（街道、门牌号）。")
    return addr


def _split(text: str) -> Address:
    row = _cpca().transform([text]).iloc[0]

    def cell(key: str) -> str:
        v = row.get(key)
        return "" if v is None or v != v else str(v)  # v != v: NaN

    return Address(cell("省"), cell("市"), cell("区"), cell("地址"))


def _place(text: str) -> Address:
    """cpca's split, plus short forms it misses: a district without its suffix after the province
    or city ("上海浦东张江路…", "北京朝阳建国路…") is tried as 区 / 新区 / 县 / 市."""
    addr = _split(text)
    if not addr.province or addr.district:
        return addr
    known = addr.province + (addr.city if addr.city and addr.city != addr.province else "")
    for k in (2, 3):
        head, rest = addr.detail[:k], addr.detail[k:]
        for suffix in SHORT_SUFFIXES:
            if head.endswith(suffix) or len(rest) < 2:
                continue
            tried = _split(known + head + suffix + rest)
            if tried.district and tried.detail == rest:
                return tried
    return addr


_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4})(?!\d)")
_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,6}$|^[A-Za-z][A-Za-z .'-]{1,30}$")
_PLACE_CHARS = re.compile(r"[省市区县镇乡村路街道巷弄号楼室栋幢单元]")


@dataclass(frozen=True)
class Recipient:
    """What 改地址 was given: an address, and optionally the recipient's name and mobile."""

    address: Address
    name: str = ""
    phone: str = ""


def parse_recipient(text: str) -> Recipient:
    """Name, mobile and address in any order ("张三 13800138000 上海市…", "上海… 张三 138…", also
    glued together "张三13800138000上海…"); the address may use short forms ("上海浦东张江路…")."""
    text = (text or "").strip()
    phone = ""
    m = _MOBILE.search(text)
    if m:
        phone = re.sub(r"\D", "", m.group(1))
        text = (text[:m.start()] + " " + text[m.end():]).strip()
        if _MOBILE.search(text):
            raise InvalidInput("一次只能写一个手机号。")
    name = ""
    tokens = text.split()
    for t in list(tokens):
        if _NAME.match(t) and not _PLACE_CHARS.search(t) and len(tokens) > 1:
            name = t
            tokens.remove(t)
            break
    if not name and m and len(tokens) == 2 and _NAME.match(tokens[0]) and len(tokens[0]) <= 4:
        name = tokens.pop(0)  # "张三13800138000上海市…" glued: the part before the mobile
    return Recipient(parse_address("".join(tokens)), name[:32], phone)
