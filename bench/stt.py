"""Speech bench with the Korean test model (or --model): model load time, peak RSS, real-time
factor per recognizer strategy and for 1 and 2 workers, word error rate on the fixtures, and the
time from a voice message to its exception recorded for a 10 s clip.

    python bench/stt.py [--quick] [--model FOLDER]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from concurrent.futures import wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import figure, fresh_app, median, peak_rss_mb
from bot.keys import MEDIA_FETCHER
from bot.types import Incoming
from orders.service import Actor
from orders.warehouse.models import WarehouseTask
from stt.audio import decode_amr
from stt.pool import SttPool
from stt.recognizer import Transcriber, load_model
from stt.service import STT_POOL
from stt.testmodel import korean_model_path
from tests.stt.support import StandInMediaGet

FIX = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stt"
SPOKEN = ["ko_hello", "ko_broken", "ko_numbers"]


def wer(ref: str, hyp: str) -> tuple[int, int]:
    r, h = ref.split(), hyp.split()
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)], len(r)


def rtf(t: Transcriber, clips: list[bytes], rounds: int) -> float:
    out = []
    for _ in range(rounds):
        for pcm in clips:
            t0 = time.perf_counter()
            t.transcribe(pcm)
            out.append((time.perf_counter() - t0) / (len(pcm) / 16000))
    return median(out)


def throughput(pool: SttPool, clips: list[bytes], n: int) -> float:
    wait([pool.submit(c) for c in clips[:pool.workers]])  # warm
    batch = [clips[i % len(clips)] for i in range(n)]
    t0 = time.perf_counter()
    wait([pool.submit(c) for c in batch])
    return sum(len(c) / 16000 for c in batch) / (time.perf_counter() - t0)


async def voice_to_exception(pool: SttPool, runs: int) -> float:
    app, dispatcher = await fresh_app(runs, Path(tempfile.mkdtemp(prefix="orderbot-stt-")))
    app[STT_POOL] = pool
    app[MEDIA_FETCHER] = StandInMediaGet({"clip10": (FIX / "ko_10s.amr").read_bytes()})
    times = []
    try:
        async with app.db.session() as s:
            from sqlalchemy import select

            from orders.models import Order
            nos = list((await s.scalars(select(Order.order_no))).all())
        for no in nos:
            await app.orders.advance(no, Actor.system(), "仓库分单")
        async with app.db.session() as s:
            tasks = list((await s.scalars(select(WarehouseTask))).all())
        for t in tasks:
            await dispatcher.handle(Incoming(user_id=t.assignee_id, kind="card_action", event="template_card_event",
                                             event_key=f"wt:report:{t.id}"))
            t0 = time.perf_counter()
            out = await dispatcher.handle(Incoming(user_id=t.assignee_id, kind="voice", media_id="clip10"))
            times.append(time.perf_counter() - t0)
            assert "订单" in out[0].text, out[0].text
    finally:
        await app.close()
    return median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--model", default=str(korean_model_path()))
    a = ap.parse_args()
    rounds, n = (1, 6) if a.quick else (3, 16)
    t0 = time.perf_counter()
    model = load_model(a.model)
    figure("model_load", time.perf_counter() - t0, "s")
    figure("peak_rss_after_load", peak_rss_mb(), "MB")
    clips = [decode_amr((FIX / f"{c}.amr").read_bytes()).pcm for c in [*SPOKEN, "ko_10s"]]
    figure("audio_per_round", sum(len(c) for c in clips) / 16000, "s")
    figure("rtf_new_recognizer_per_message", rtf(Transcriber(model, reuse=False), clips, rounds))
    reused = Transcriber(model, reuse=True)
    reused.transcribe(clips[0])
    figure("rtf_reused_recognizer", rtf(reused, clips, rounds))
    grammar = Transcriber(model, reuse=True, grammar=["안", "니다", "이", "다", "요", "[unk]"])
    figure("rtf_grammar", rtf(grammar, clips, rounds))
    hyps = {c: reused.transcribe(decode_amr((FIX / f"{c}.amr").read_bytes()).pcm) for c in SPOKEN}
    errs = [wer((FIX / f"{c}.txt").read_text(encoding="utf-8"), hyps[c]) for c in SPOKEN]
    figure("wer_fixtures", sum(e for e, _ in errs) / sum(w for _, w in errs), f"({len(SPOKEN)} clips)")
    one = SttPool(model, workers=1, max_pending=64)
    tp1 = throughput(one, clips, n)
    figure("rtf_pool_1_worker", 1 / tp1, f"({n} clips)")
    figure("throughput_1_worker", tp1, "audio s per s")
    two = SttPool(model, workers=2, max_pending=64)
    tp2 = throughput(two, clips, n)
    figure("rtf_pool_2_workers_per_worker", 2 / tp2, f"({n} clips)")
    figure("throughput_2_workers", tp2, "audio s per s")
    figure("speedup_2_workers", tp2 / tp1, "x")
    one.close()
    figure("voice_to_exception_10s_clip", asyncio.run(voice_to_exception(two, 3 if a.quick else 7)),
           "s (handler: media get, keep, decode, recognise, record, notify)")
    two.close()
    figure("peak_rss", peak_rss_mb(), "MB")


if __name__ == "__main__":
    main()
