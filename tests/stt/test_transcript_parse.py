"""Transcript → exception kind and order, on Chinese text with the recogniser's typical
homophone errors (the Korean test model cannot produce Chinese)."""

from __future__ import annotations

import pytest

from config import ConfigDir
from stt.parse import KindTable, resolve, spoken_digits


@pytest.fixture(scope="module")
def table() -> KindTable:
    return KindTable.from_dict(ConfigDir().load("exceptions"))


@pytest.mark.parametrize(("said", "kind"), [
    ("尾号八八一二 外箱破损了", "破损"),
    ("迫损", "破损"),  # po sun, wrong characters
    ("箱子 坡 顺 了", "破损"),  # po shun: sh/s folded
    ("少发了一件", "漏发"),
    ("楼 发 一 件", "漏发"),  # lou fa
    ("这单错发了", "错发"),
    ("发 挫 了", "错发"),  # cuo: 挫 for 错
    ("没有货了", "缺货"),
    ("却 获", "缺货"),  # que huo
    ("地址错了", "地址异常"),  # the longer keyword beats 错了
    ("第 址 不 对", "地址异常"),  # di zhi: 第 for 地
    ("纸箱上有水", "其他"),
    ("", "其他"),
])
def test_kind_by_characters_and_pinyin(table: KindTable, said: str, kind: str) -> None:
    assert table.match(said) == kind


@pytest.mark.parametrize(("said", "digits", "tail"), [
    ("尾号八八一二破损", ("8812",), True),
    ("尾号 巴 巴 幺 两 破损", ("8812",), True),  # 巴 for 八, 幺 = 1, 两 = 2
    ("订单 零零零三 漏发", ("0003",), False),
    ("尾号 0003", ("0003",), True),
    ("尾号 酒 酒", ("99",), True),  # two digits count after 尾号
    ("已经 破损 是 四 件", (), False),  # 已 (yi) and 是/四 alone are no order number
    ("BG260122-0003 漏发", ("260122", "0003"), False),
])
def test_spoken_digits(said: str, digits: tuple[str, ...], tail: bool) -> None:
    ref = spoken_digits(said)
    assert ref.digits == digits and ref.tail is tail


def test_resolve_among_the_temps_tasks() -> None:
    tasks = [(1, "BG260122-0001", "T1001"), (2, "BG260122-0003", "T1003"), (3, "BG260123-0003", "P2001")]
    assert resolve(spoken_digits("尾号零零零一 破损"), tasks) == [1]
    assert resolve(spoken_digits("尾号零零零三 破损"), tasks) == [2, 3]  # ambiguous: ask
    assert resolve(spoken_digits("BG二六零一二二杠零零零三"), tasks) == [2]  # the full number
    assert resolve(spoken_digits("平台单号 幺零零三"), tasks) == [2]  # the platform order id
    assert resolve(spoken_digits("破损了"), tasks) == []
