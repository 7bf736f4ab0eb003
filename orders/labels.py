"""Chinese names for what the domain stores as codes: channels, timeline sources and kinds.
Shared by chat replies, the digest and the board. Every timeline kind the code records has a label
here (a test scans the sources for them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHANNELS = {"taobao": "淘宝", "tmall": "天猫", "pdd": "拼多多", "douyin": "抖音", "jd": "京东",
            "wechat": "微信", "youzan": "有赞"}
SOURCES = {"chat": "聊天", "voice": "语音", "button": "按钮", "import": "导入", "schedule": "定时", "system": "系统",
           "board": "看板"}
KINDS = {"state_changed": "推进", "cancelled": "取消", "address_changed": "改地址", "tracking_added": "加运单",
         "imported": "导入", "created": "创建", "aftersales_opened": "售后申请", "aftersales_approved": "售后通过",
         "aftersales_rejected": "售后驳回", "aftersales_outcome": "售后结果", "task_assigned": "分配",
         "scan_mismatch": "扫码拦截", "exception_reported": "异常上报", "risk_reviewed": "风控审核",
         "aftersales_escalated": "售后超时升级", "aftersales_escalated_manager": "售后再次升级", "held": "暂停发货",
         "released": "解除暂停", "aftersales_shipment": "售后发货单", "complaint": "投诉",
         "flagged": "标记", "flags_changed": "平台标记变化", "platform_status": "平台状态变化",
         "exception_opened": "物流异常", "evidence": "凭证",
         # the warehouse floor (#12)
         "goods_scanned": "扫码", "report_resolved": "异常处理", "misship_marked": "登记错发"}


def kind_label(kind: str, detail: Mapping[str, Any] | None = None) -> str:
    """The words for a timeline row: a flag row says which flag (疑似刷单, 金额不一致, 物流异常:…)."""
    flag = str((detail or {}).get("flag") or "")
    if kind == "flagged" and flag:
        return flag + (f"（差额{detail['diff']}元）" if detail and detail.get("diff") else "")
    if kind == "exception_opened":
        return "物流异常" + (f"：{detail['label']}" if detail and detail.get("label") else "")
    return KINDS.get(kind, kind)


def channel_name(code: str) -> str:
    return CHANNELS.get(code, code)
