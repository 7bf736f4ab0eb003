"""Evidence photos and voice reports of an order, for users who may see that order. WeCom keeps
voice as AMR, which browsers cannot play: it is decoded (PyAV) and served as WAV."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from bot.board.pages import load_order_for_media
from bot.board.state import board_of
from orders.models import TimelineEvent
from orders.warehouse.models import ExceptionReport
from stt.audio import RATE, AudioError, decode_amr

PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"GIF8": "image/gif"}


def _inside(data_dir: Path, stored: str) -> Path:
    """A kept file's path (relative to the data dir, or as stored), refused unless under the data dir."""
    root = data_dir.resolve()
    p = Path(stored)
    for c in ([p] if p.is_absolute() else [root / p, Path.cwd() / p]):
        c = c.resolve()
        if root in c.parents and c.is_file():
            return c
    raise web.HTTPNotFound()


def to_wav(pcm: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buf.getvalue()


async def photo(request: web.Request) -> web.StreamResponse:
    app = board_of(request).app
    async with app.db.session() as s:
        ev = await s.scalar(select(TimelineEvent).where(TimelineEvent.id == int(request.match_info["event_id"]),
                                                        TimelineEvent.kind == "evidence"))
    if ev is None:
        raise web.HTTPNotFound()
    await load_order_for_media(request, ev.order_id)
    data = _inside(app.settings.data_dir, str(ev.detail.get("path", ""))).read_bytes()
    ctype = next((t for magic, t in PHOTO_TYPES.items() if data.startswith(magic)), "application/octet-stream")
    return web.Response(body=data, content_type=ctype)


async def audio(request: web.Request) -> web.StreamResponse:
    app = board_of(request).app
    async with app.db.session() as s:
        r = await s.scalar(select(ExceptionReport).where(ExceptionReport.id == int(request.match_info["report_id"])))
    if r is None or r.order_id is None or not r.audio_path:
        raise web.HTTPNotFound()
    await load_order_for_media(request, r.order_id)
    data = _inside(app.settings.data_dir, r.audio_path).read_bytes()
    try:
        pcm = await asyncio.to_thread(decode_amr, data)
    except AudioError as e:
        raise web.HTTPUnprocessableEntity(text=f"录音无法解码：{e}") from None
    return web.Response(body=to_wav(pcm.pcm), content_type="audio/wav")
