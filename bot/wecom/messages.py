"""Decrypted callback XML -> ``Incoming`` plus the key that makes WeCom's retries harmless.

The XML is parsed once (``parse_xml``: entities refused) and wechatpy's message classes (what its
``parse_message`` picks, without parsing the text a second time) classify it; fields are read from
the raw ``_data`` because wechatpy 1.8 does not know ``template_card_event`` (it comes back as an
unknown message)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wechatpy.enterprise.events import EVENT_TYPES
from wechatpy.enterprise.messages import MESSAGE_TYPES
from wechatpy.messages import BaseMessage, UnknownMessage

from bot.types import Incoming
from bot.wecom.crypto import Malformed, parse_xml

MAX_KEY = 191
UNSUPPORTED_LABELS = {"video": "视频", "shortvideo": "小视频", "location": "位置", "link": "链接", "file": "文件"}


@dataclass(frozen=True)
class Parsed:
    incoming: Incoming | None  # None: a message type we do not handle (see ``unsupported``)
    dedupe_key: str
    kind: str  # msgtype, or event:<name>
    unsupported: str = ""
    user_id: str = ""

    @property
    def sender(self) -> str:
        return self.incoming.user_id if self.incoming is not None else self.user_id

    @property
    def msg_id(self) -> str:
        return self.incoming.msg_id if self.incoming is not None else ""


def _s(data: dict[str, Any], name: str) -> str:
    v = data.get(name)
    return v.strip() if isinstance(v, str) else ""


def selected_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """``SelectedItems/SelectedItem`` as a list (a single item arrives as a dict, several as a list)."""
    box = data.get("SelectedItems")
    items = box.get("SelectedItem") if isinstance(box, dict) else None
    if isinstance(items, dict):
        items = [items]
    out: list[dict[str, Any]] = []
    for it in items or []:
        if not isinstance(it, dict):
            continue
        opts = it.get("OptionIds")
        ids = opts.get("OptionId") if isinstance(opts, dict) else None
        out.append({"question_key": _s(it, "QuestionKey"),
                    "option_ids": [ids] if isinstance(ids, str) else [i for i in ids or [] if isinstance(i, str)]})
    return out


def dedupe_key(data: dict[str, Any]) -> str:
    """MsgId for messages; user + CreateTime + event + key (+ TaskId) for events, which have none."""
    msg_id = _s(data, "MsgId")
    if msg_id:
        key = f"msg:{msg_id}"
    else:
        parts = [_s(data, n) for n in ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId")]
        key = "ev:" + ":".join(parts)
    if len(key) > MAX_KEY:
        key = "h:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def classify(data: dict[str, Any]) -> BaseMessage:
    """wechatpy's message object for parsed callback XML (as ``wechatpy.enterprise.parse_message``)."""
    kind = data["MsgType"].lower()
    if kind == "event":
        return EVENT_TYPES.get(data["Event"].lower(), UnknownMessage)(data)
    return MESSAGE_TYPES.get(kind, UnknownMessage)(data)


def parse(xml: str, *, received_at: datetime) -> Parsed:
    data = parse_xml(xml)
    user = _s(data, "FromUserName")
    msgtype = _s(data, "MsgType").lower()
    if not user or not msgtype:
        raise Malformed("message without FromUserName or MsgType")
    try:
        msg = classify(data)
    except Exception as e:  # e.g. an event without its Event
        raise Malformed(f"unparseable message: {type(e).__name__}") from None
    raw: dict[str, Any] = dict(msg._data)
    common: dict[str, Any] = {"user_id": user, "msg_id": _s(data, "MsgId"), "received_at": received_at,
                              "transport": "wecom", "raw": raw}
    key = dedupe_key(data)
    if msgtype == "text":
        return Parsed(Incoming(kind="text", text=_s(data, "Content"), **common), key, "text")
    if msgtype == "voice":
        return Parsed(Incoming(kind="voice", media_id=_s(data, "MediaId"), **common), key, msgtype)
    if msgtype == "image":
        return Parsed(Incoming(kind="image", media_id=_s(data, "MediaId"), **common), key, msgtype)
    if msgtype != "event":
        return Parsed(None, key, msgtype, unsupported=UNSUPPORTED_LABELS.get(msgtype, msgtype), user_id=user)
    event = _s(data, "Event")
    ev = event.lower()
    event_key = _s(data, "EventKey")
    if ev == "scancode_waitmsg":
        info = data.get("ScanCodeInfo")
        result = _s(info, "ScanResult") if isinstance(info, dict) else ""
        return Parsed(Incoming(kind="scan", event=ev, event_key=event_key, scan_result=result, **common),
                      key, f"event:{ev}")
    if ev == "template_card_event":
        raw["selected"] = selected_items(data)
        inc = Incoming(kind="card_action", event=ev, event_key=event_key, task_id=_s(data, "TaskId"),
                       response_code=_s(data, "ResponseCode"), **common)
        return Parsed(inc, key, f"event:{ev}")
    return Parsed(Incoming(kind="event", event=ev, event_key=event_key, **common), key, f"event:{ev}")
