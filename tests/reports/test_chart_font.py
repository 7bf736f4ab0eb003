"""Charts draw Chinese with the font that installs with the project (no tofu, no S1…S6 fallback)."""

from __future__ import annotations

from notifications.chart import bundled_font_path, cjk_font, missing_glyphs, render_chart


def test_the_bundled_cjk_font_is_used_and_has_every_title_glyph() -> None:
    assert bundled_font_path() is not None
    font = cjk_font()
    assert font is not None and "CJK" in font
    assert missing_glyphs("超时订单（按状态）售后（昨日）仓库分单 拣货中 打包完成") == set()
    assert missing_glyphs("\U0001f600") == {"\U0001f600"}  # the check can fail


def test_the_digest_chart_uses_state_names_not_placeholders() -> None:
    png = render_chart({"仓库分单": 3, "拣货中": 1}, {"新开": 2, "已结": 1, "超时": 0})
    assert png.startswith(b"\x89PNG") and len(png) < 1_000_000
