"""Interactive cards the domain writes to the outbox (WeCom ``button_interaction`` template
cards, transport-neutral): they belong to the domain's floor so notices can carry buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Button:
    key: str
    text: str
    style: int = 1  # WeCom: 1 primary, 2 default, 3 red, 4 blue


@dataclass(frozen=True)
class Card:
    """A WeCom ``button_interaction`` template card, transport-neutral."""

    task_id: str
    title: str
    desc: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    quote: str = ""  # a quoted block under the fields (WeCom quote_area), e.g. tracking and scans

    def to_wecom(self) -> dict[str, Any]:
        return {
            "card_type": "button_interaction",
            "main_title": {"title": self.title[:36], "desc": self.desc[:44]},
            "horizontal_content_list": [{"keyname": k[:5], "value": v[:30]} for k, v in self.fields[:6]],
            **({"quote_area": {"type": 0, "quote_text": self.quote[:200]}} if self.quote else {}),
            "task_id": self.task_id,
            "button_list": [{"text": b.text, "style": b.style, "key": b.key} for b in self.buttons[:6]],
        }
