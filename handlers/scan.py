"""Menu scan (scancode_waitmsg) outside a scan-pick: the code is read as an order number and
looked up. (A scan after 扫码拣货 is taken by the task wall's conversation first.)"""

from __future__ import annotations

from bot.dispatch import Request, may_run
from bot.types import Reply
from handlers.query import query
from handlers.registry import registry
from orders.warehouse.picking import normalize_code


@registry.kind("scan")
async def scan(req: Request) -> list[Reply]:
    code = normalize_code(req.incoming.scan_result)  # "CODE_128,BG260122-0001" -> the number
    if not code:
        return [Reply(text="没有识别到条码内容，请对准订单号条码重新扫描。")]
    if not may_run(req.app, req.user, registry.commands["查"]):
        if may_run(req.app, req.user, registry.commands["任务"]):  # a temp scanning outside a task
            return [Reply(text="请先在任务卡上点「扫码拣货」，再扫码。发送「任务」查看任务卡。")]
        return [Reply(text="您的角色不能查询订单，扫码无效。")]
    return await query(req, code)
