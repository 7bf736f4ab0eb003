"""Voice bytes → transcript, never raising: every failure becomes a status the report keeps
(待人工转写) with a reason the temp can read. Runs entirely off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from orders.app import App, AppKey
from orders.files import keep
from stt.audio import AudioError, decode_amr
from stt.pool import PoolFull, SttPool
from stt.recognizer import ModelError

log = logging.getLogger(__name__)
MAX_SECONDS = 60.0  # WeCom's own limit for a voice message
STT_POOL: AppKey[SttPool] = AppKey("stt_pool", SttPool)
_STARTING: AppKey[asyncio.Lock] = AppKey("stt_starting", asyncio.Lock)
TRANSCRIBED, MANUAL = "transcribed", "manual"


@dataclass(frozen=True)
class Transcription:
    text: str
    status: str  # transcribed | manual (待人工转写)
    problem: str = ""  # Chinese, shown to people when status is manual
    seconds: float | None = None


class SttUnavailable(Exception):
    pass


async def get_pool(app: App) -> SttPool:
    """The app's pool, started on first use from ``settings.stt_model`` (once; retried after a
    failure). A server calls this at start-up so the first voice message does not wait for it."""
    pool = app.get(STT_POOL)
    if pool is not None:
        return pool
    path = app.settings.stt_model
    if not path:
        raise SttUnavailable("ORDERBOT_STT_MODEL is not set")
    lock = app.get(_STARTING)
    if lock is None:
        lock = app[_STARTING] = asyncio.Lock()
    async with lock:  # two voice messages at start load the model once
        pool = app.get(STT_POOL)
        if pool is not None:
            return pool
        try:
            pool = await asyncio.to_thread(SttPool.open, path, workers=app.settings.stt_workers,
                                           max_pending=app.settings.stt_queue)
        except ModelError as e:
            raise SttUnavailable(str(e)) from e
        app[STT_POOL] = pool
    log.info("speech model loaded from %s (%d workers)", path, pool.workers)
    return pool


async def transcribe_voice(app: App, data: bytes) -> Transcription:
    try:
        pcm = await asyncio.to_thread(decode_amr, data)
    except AudioError as e:
        log.warning("voice not decodable: %s", e)
        return Transcription("", MANUAL, "语音文件损坏或为空，无法识别")
    if pcm.seconds > MAX_SECONDS:
        log.warning("voice too long: %.1f s", pcm.seconds)
        why = f"语音超过{int(MAX_SECONDS)}秒（{pcm.seconds:.0f}秒），未自动识别"
        return Transcription("", MANUAL, why, pcm.seconds)
    try:
        pool = await get_pool(app)
        text = await pool.transcribe(pcm.pcm)
    except SttUnavailable as e:
        log.error("speech recognition unavailable: %s", e)
        return Transcription("", MANUAL, "语音识别暂不可用", pcm.seconds)
    except PoolFull as e:
        log.warning("speech pool full: %s", e)
        return Transcription("", MANUAL, "语音识别繁忙", pcm.seconds)
    if not text.strip():
        log.info("voice gave no words (%.1f s, silence?)", pcm.seconds)
        return Transcription("", MANUAL, "没有听清（可能是静音）", pcm.seconds)
    return Transcription(text.strip(), TRANSCRIBED, "", pcm.seconds)


def keep_audio(data_dir: Path, data: bytes, now: datetime, ext: str = "amr") -> tuple[str, str]:
    """Store the voice file under ``data_dir/voice/<day>/<sha256>.<ext>``; returns (path, sha256)."""
    sha = hashlib.sha256(data).hexdigest()
    path = data_dir / "voice" / now.strftime("%Y%m%d") / f"{sha}.{ext}"
    keep(path, data)
    return str(path), sha
