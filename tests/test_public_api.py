"""Pins the chat contract (command words, message kinds, button prefixes) and the package
exports, so a change to what users and other parts rely on is a deliberate one."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

import config
from bot.dispatch import Registry
from handlers import registry


def _real(keys: Iterable[str]) -> list[str]:
    return sorted(k for k in keys if "test" not in k)  # minus the handlers test modules register


def test_command_words_kinds_and_buttons() -> None:
    assert _real(registry.commands) == sorted(
        ["查", "轨迹", "推进", "取消", "改地址", "运单", "流程", "用户", "帮助", "售后", "售后单", "通过", "驳回",
         "待办", "日报", "任务", "分配", "客户池", "协作", "区域", "投诉", "拦截", "放行", "条码",
         "看板", "异常", "处理", "上岗", "下岗", "错发", "备注"])
    assert {w: c for w, c in registry.words.items() if w != c} == {
        "?": "帮助", "？": "帮助", "help": "帮助", "我的任务": "任务", "查询": "查", "查单": "查", "查看": "查"}
    assert _real(registry.kinds) == ["event:click:tasks", "event:enter_agent", "image", "scan", "voice"]
    assert _real(registry.buttons) == ["as_no:", "as_ok:", "vr:", "wt:"]


def test_config_exports() -> None:
    assert sorted(config.__all__) == ["ConfigDir", "Settings", "load_settings", "load_yaml"]


def test_a_second_handler_for_the_same_key_is_refused() -> None:
    r = Registry()

    async def first(req: object, args: str = "") -> list[object]:
        return []

    async def second(req: object, args: str = "") -> list[object]:
        return []

    r.kind("scan")(first)  # type: ignore[arg-type]
    r.kind("scan")(first)  # type: ignore[arg-type]  # the same handler again is fine
    with pytest.raises(ValueError, match="message kind 'scan' is registered twice"):
        r.kind("scan")(second)  # type: ignore[arg-type]
    r.command("查", roles=("cs",), summary="", example="")(first)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="command '查' is registered twice"):
        r.command("查", roles=("cs",), summary="", example="")(second)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="command word '查' is registered twice"):
        r.command("查询", roles=("cs",), summary="", example="", aliases=("查",))(second)  # type: ignore[arg-type]
    assert "查询" not in r.commands and "查询" not in r.words  # a refused command leaves nothing behind
    r.button("x:")(first)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="button prefix 'x:' is registered twice"):
        r.button("x:")(second)  # type: ignore[arg-type]


def test_cli_entry_exports() -> None:
    import bot.cli

    assert sorted(bot.cli.__all__) == ["cli", "main"]


def test_each_domain_package_says_what_it_owns_and_no_module_is_a_god_module() -> None:
    from pathlib import Path

    import orders

    root = Path(orders.__file__).parent
    for init in root.rglob("__init__.py"):
        if "migrations" in init.parts:
            continue
        doc = init.read_text(encoding="utf-8").strip()
        assert doc.startswith('"""'), f"{init} has no docstring saying what it owns"
    too_long = {str(p.relative_to(root)): n for p in root.rglob("*.py") if "migrations" not in p.parts
                and (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert too_long == {}
