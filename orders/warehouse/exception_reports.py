"""Exception reports on orders: the record, its timeline entry and the lead's notification,
all in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from orders import timeline
from orders.models import Order, User
from orders.outbox import enqueue_text
from orders.warehouse import holds
from orders.warehouse.config import WarehouseConfig, lead_ids
from orders.warehouse.models import MANUAL, ExceptionReport

MANUAL_LABEL = "待人工转写"


@dataclass(frozen=True)
class Heard:
    """What came out of the voice pipeline."""

    kind: str
    transcript: str
    status: str
    problem: str
    media_id: str
    audio_path: str
    audio_sha256: str
    seconds: float | None


def summary(r: ExceptionReport) -> str:
    return f"{r.kind}：{r.transcript}" if r.status != MANUAL else f"{r.kind}（{MANUAL_LABEL}：{r.problem}）"


def _timeline(s: AsyncSession, r: ExceptionReport, order: Order, reporter: User, now: datetime) -> None:
    timeline.record(s, order_id=order.id, at=now, actor=reporter.user_id, source="voice",
                    kind="exception_reported",
                    detail={"actor_name": reporter.name, "summary": summary(r), "report_id": r.id,
                            "exception_kind": r.kind, "transcript": r.transcript, "status": r.status,
                            "audio_path": r.audio_path, "audio_sha256": r.audio_sha256})


async def _tell_leads(s: AsyncSession, r: ExceptionReport, order: Order | None, reporter: User, now: datetime,
                      wh: WarehouseConfig, link: str) -> list[str]:
    leads = await lead_ids(s, wh, but=reporter.user_id)
    where = f"订单 {order.order_no}" if order else "订单待临时工确认"
    kept = "原始语音已保存" if r.audio_path else \
        f"语音未能下载，已记录 media_id {r.media_id[:40]}，请在3天内处理" if r.media_id else "文字上报"
    text = f"⚠️ 异常上报 #{r.id}（{where}）：{summary(r)}\n上报人：{reporter.name}，{kept}。{link}"
    await enqueue_text(s, leads, text, now, order_id=order.id if order else None)
    return leads


async def record_report(s: AsyncSession, *, reporter: User, order: Order | None, heard: Heard, now: datetime,
                        wh: WarehouseConfig, link: str = "", board: Settings | None = None
                        ) -> tuple[ExceptionReport, list[str]]:
    """Create the report (always), its timeline entry (when the order is known) and tell the
    warehouse leads (``wh``: the app's warehouse config, see ``config.lead_ids``; ``link``: a line
    with the board's task wall, from ``orders.board_links.link_line``; ``board``: settings for the
    order link when the report holds a packed parcel, see ``holds.changed``)."""
    r = ExceptionReport(order_id=order.id if order else None, reporter_id=reporter.user_id, kind=heard.kind,
                        transcript=heard.transcript, status=heard.status, review="draft",
                        problem=heard.problem[:255], media_id=heard.media_id[:255], audio_path=heard.audio_path,
                        audio_sha256=heard.audio_sha256, audio_seconds=heard.seconds, created_at=now,
                        updated_at=now)
    s.add(r)
    await s.flush()
    if order is not None:
        _timeline(s, r, order, reporter, now)
    leads = await _tell_leads(s, r, order, reporter, now, wh, link)
    if order is not None:
        await holds.changed(s, order, now, wh=wh, board=board)  # a report under way holds the order
    return r, leads


async def attach(s: AsyncSession, r: ExceptionReport, order: Order, reporter: User, now: datetime,
                 wh: WarehouseConfig, link: str = "", board: Settings | None = None) -> None:
    """Attach a report made without a known order to the order the temp picked."""
    r.order_id, r.updated_at = order.id, now
    _timeline(s, r, order, reporter, now)
    leads = await lead_ids(s, wh, but=reporter.user_id)
    await enqueue_text(s, leads, f"异常上报 #{r.id} 已确认为订单 {order.order_no}。{link}", now, order_id=order.id)
    await holds.changed(s, order, now, wh=wh, board=board)
