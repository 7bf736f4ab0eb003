"""A bounded pool of recognizer threads, off the event loop. The model is loaded once when the
pool starts and shared (Vosk models are read-only and thread-safe); each worker thread makes its
own recognizer at start and reuses it. Vosk's C calls release the GIL, so threads decode in
parallel. At most ``max_pending`` clips are queued or running: past that, PoolFull at once."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import vosk

from stt.recognizer import Transcriber, load_model

log = logging.getLogger(__name__)
WARMUP = b"\0\0" * 1600  # 0.2 s of silence


class PoolFull(Exception):
    """Every worker is busy and the queue is full."""


class SttPool:
    def __init__(self, model: vosk.Model, *, workers: int = 2, max_pending: int = 8, reuse: bool = True,
                 name: str = "") -> None:
        if workers < 1 or max_pending < 1:
            raise ValueError("workers and max_pending must be at least 1")
        self.model = model
        self.name = name
        self.workers = workers
        self.max_pending = max_pending
        self.reuse = reuse
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pending = 0
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="stt")
        barrier = threading.Barrier(workers)
        # Start every worker now, each making (and warming) its own recognizer.
        for f in [self._executor.submit(self._init_worker, barrier) for _ in range(workers)]:
            f.result()

    @classmethod
    def open(cls, path: str | Path, *, workers: int = 2, max_pending: int = 8) -> SttPool:
        """Load the model (blocking, seconds) and start the workers. Raises ModelError."""
        return cls(load_model(path), workers=workers, max_pending=max_pending, name=str(path))

    def _init_worker(self, barrier: threading.Barrier) -> None:
        self._local.t = Transcriber(self.model, reuse=self.reuse)
        self._local.t.transcribe(WARMUP)
        barrier.wait(timeout=60)

    def _work(self, pcm: bytes) -> str:
        t: Transcriber = self._local.t
        return t.transcribe(pcm)

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, pcm: bytes) -> Future[str]:
        """Queue one clip; raises PoolFull when ``max_pending`` clips are already in the pool."""
        with self._lock:
            if self._pending >= self.max_pending:
                raise PoolFull(f"{self._pending} clips pending")
            self._pending += 1
        try:
            fut = self._executor.submit(self._work, pcm)
        except BaseException:
            self._release()
            raise
        fut.add_done_callback(lambda _f: self._release())
        return fut

    def _release(self) -> None:
        with self._lock:
            self._pending -= 1

    async def transcribe(self, pcm: bytes) -> str:
        return await asyncio.wrap_future(self.submit(pcm))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
