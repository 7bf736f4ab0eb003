"""The digest's 看板 line: signed links to the board pages behind its sections (none without
``ORDERBOT_BOARD_URL``: a digest never carries a link that cannot open)."""

from __future__ import annotations

from datetime import datetime

from orders import board_links
from orders.app import App

# digest section -> (board page, its name); 客户池 has no section and is always linked
PAGES = (("stuck", board_links.OVERDUE, "超时订单"), ("regions", board_links.REGIONS, "区域健康"),
         ("", board_links.CUSTOMERS, "客户池"), ("collab", board_links.COLLAB, "跨部门协作"))


def board_section(app: App, reps: tuple[str, ...], now: datetime) -> str:
    """'## 看板' with one markdown link per page, or '' when the board has no public URL."""
    links = [f"[{name}]({url})" for section, path, name in PAGES if not section or section in reps
             if (url := board_links.deep_link(app.settings, path, now))]
    return "## 看板（需企业微信登录）\n" + " · ".join(links) if links else ""
