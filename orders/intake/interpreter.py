"""The interpreter's settings while a bulk import runs: no full collections, fewer young ones, a
short switch interval.

- **Full collections wait.** An import keeps thousands of new objects alive per batch (validated
  orders, their rows), and the cycle collector answers that growth with full collections, each
  walking the whole heap (payloads, modules, the server's caches): ~150 ms apiece, ~18 % of an
  import's time on the intake bench. The young generations are still collected, so short-lived
  cycles go as usual; old ones go at the first full collection after the import.
- **Young collections every 50,000 allocations** (at least; 700 by default): each order's
  validation and rows allocate a few hundred objects, nearly all freed by reference counting;
  import alone faster in 5 of 6 interleaved pairs (docs/scaling.md, session 11). ``serve`` uses
  the same young threshold (bot.wecom.collector).
- **The GIL changes hands sooner.** SQLite writes a batch on aiosqlite's thread, without the GIL,
  while the event loop reads the next batch. Each statement's end takes the GIL back; behind a busy
  loop that waits out the switch interval (5 ms by default), twice per statement, which doubled
  the time of a batch's inserts. 0.5 ms keeps the writer moving.

All three are process-wide: they hold while any import runs and are put back when the last one ends."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

FULL_EVERY = 1_000_000  # young collections between full ones: in effect, none during an import
YOUNG = 50_000  # allocations between young collections, at least
SWITCH_INTERVAL_S = 0.0005
_active = 0
_saved: tuple[tuple[int, int, int], float] | None = None


@contextmanager
def tuned_for_import() -> Iterator[None]:
    """Hold the settings above until the last of the imports running at once has ended."""
    global _active, _saved
    if _active == 0:
        _saved = gc.get_threshold(), sys.getswitchinterval()
        gen0, gen1, _ = _saved[0]
        gc.set_threshold(max(gen0, YOUNG), gen1, FULL_EVERY)
        sys.setswitchinterval(min(SWITCH_INTERVAL_S, _saved[1]))
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0 and _saved is not None:
            gc.set_threshold(*_saved[0])
            sys.setswitchinterval(_saved[1])
            _saved = None
