"""Splitting a Chinese address into province / city / district / detail (cpca-new)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from orders.errors import InvalidInput

MAX_ADDRESS = 200


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
    df = _cpca().transform([text])
    row = df.iloc[0]

    def cell(key: str) -> str:
        v = row.get(key)
        return "" if v is None or v != v else str(v)  # v != v: NaN

    addr = Address(cell("省"), cell("市"), cell("区"), cell("地址"))
    if not addr.province or not addr.city:
        raise InvalidInput(f"无法识别地址「{text[:20]}」的省市，请写完整（省/市/区/详细地址）。")
    if len(addr.detail) < 2:
        raise InvalidInput("地址缺少详细部分（街道、门牌号）。")
    return addr
