"""协作: the cross-department heat maps (interruptions asker × owner, handoff waits weekday × hour)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import numpy as np

from bot.dispatch import Request
from bot.types import Reply
from handlers.registry import registry
from notifications.collab_chart import WEEKDAYS, render_heatmaps
from orders.reports.collaboration import build, collab_config


@registry.command("协作", roles=("manager",), summary="跨部门协作热力图：中断次数（提问部门×负责部门）与交接等待",
                  example="协作")
async def collaboration(req: Request, args: str) -> list[Reply]:
    app = req.app
    days = collab_config(app).map_days
    now = app.clock.now()
    c = await build(app, now - timedelta(days=days), now)
    lines = [f"近 {days} 日跨部门协作中断 {c.count} 次（日均 {c.count / days:.1f}）"]
    pairs = sorted(((int(c.by_dept.loc[a, o]), a, o) for a in c.by_dept.index for o in c.by_dept.columns
                    if c.by_dept.loc[a, o]), reverse=True)
    lines += [f"· {a} 问 {o}：{n} 次" for n, a, o in pairs[:5]]
    if c.handoffs:
        i, j = np.unravel_index(np.nanargmax(c.wait_median), c.wait_median.shape)
        lines.append(f"部门交接 {c.handoffs} 次；等待中位数最长：{WEEKDAYS[i]} {j} 时 {c.wait_median[i, j]:.0f} 分钟")
    else:
        lines.append(f"近 {days} 日没有已完成的部门交接。")
    lines.append("规则：其他部门对超时订单或一小时内重复查询（查/轨迹）计为一次中断。")
    rows, cols = list(c.by_dept.index), list(c.by_dept.columns)
    counts = [[int(v) for v in r] for r in c.by_dept.to_numpy()] if rows else []
    png = await asyncio.to_thread(render_heatmaps, rows, cols, counts, c.wait_median, f"近 {days} 日")
    return [Reply(text="\n".join(lines)), Reply(image=png)]
