"""What a transport hands the dispatcher (Incoming) and what comes back (Reply)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from orders.cards import Button, Card

__all__ = ["Button", "Card", "Incoming", "IncomingKind", "Reply"]

IncomingKind = Literal["text", "voice", "image", "event", "card_action", "scan"]


@dataclass(frozen=True)
class Incoming:
    user_id: str
    kind: IncomingKind
    text: str = ""
    media_id: str = ""
    event: str = ""  # enter_agent, click, scancode_waitmsg, template_card_event
    event_key: str = ""  # menu key / button key
    task_id: str = ""  # template card task id
    response_code: str = ""
    scan_result: str = ""
    msg_id: str = ""
    received_at: datetime | None = None
    transport: str = "console"  # console | wecom
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """One message back. Exactly one of text / markdown / card / image is set.
    ``to`` None means the user who sent the incoming message."""

    text: str = ""
    markdown: str = ""
    card: Card | None = None
    image: bytes | None = None
    to: tuple[str, ...] | None = None

    @property
    def msgtype(self) -> str:
        if self.card is not None:
            return "template_card"
        if self.image is not None:
            return "image"
        return "markdown" if self.markdown else "text"

    def as_text(self) -> str:
        """A plain-text rendering (console, logs)."""
        if self.card is not None:
            c = self.card
            lines = [f"┌ {c.title}", *(f"│ {c.desc}" for _ in [0] if c.desc)]
            lines += [f"│ {k}：{v}" for k, v in c.fields]
            lines += [f"│ {q}" for q in c.quote.splitlines()]
            lines += ["│ " + "  ".join(f"[{b.text}]" for b in c.buttons),
                      f"└ 卡片 {c.task_id}（控制台：/按 {c.task_id} 按钮名）"]
            return "\n".join(lines)
        if self.image is not None:
            return f"[图片 {len(self.image)} 字节]"
        return self.markdown or self.text
