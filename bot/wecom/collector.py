"""The cycle collector's settings while ``orderbot serve`` runs.

Python's defaults (700, 10, 10) suit short programs. A serving process holds ~410,000 objects once
started (modules, SQLAlchemy's metadata, the web app, the scheduler), and every message allocates
thousands more (aiohttp's request, the session and its rows, the reply) that reference counting
frees anyway. The default young threshold ran a collection every 700 net allocations, and as
survivors piled up the collector answered with full passes over the whole heap: ~165 ms apiece on
the 2-core test machine, on the one event loop, in the middle of answering callbacks.

- **The start-up heap is frozen** (``gc.freeze``) once serving starts: never scanned again, so a
  full pass covers only what serving itself keeps.
- **Young collections every 50,000 allocations**, older ones 20 and 100 times rarer (docs/scaling.md
  has the figures: ~8 % less CPU per message with one process, 15-25 % with two, and their
  sustained acknowledgement p99 halved).

Process-wide; put back when serving ends (an in-process ``serve`` in tests, say)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from orders.intake.interpreter import YOUNG

THRESHOLDS = (YOUNG, 20, 100)  # young collections as rare as during an import


@contextmanager
def tuned_for_serving() -> Iterator[None]:
    """Freeze what exists now and collect less often, until the block ends."""
    saved = gc.get_threshold()
    gc.collect()  # start-up's garbage goes now, not into the frozen generation
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()
