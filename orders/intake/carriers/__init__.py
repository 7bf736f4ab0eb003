"""Carrier tracking: a pluggable carrier interface turning a carrier's status push into one
``CarrierEvent``, and the rules applying it to the order with that tracking number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ScanEntry:
    """One entry of the parcel's track as the carrier sent it."""

    at: datetime | None  # the carrier's own time of the scan (aware), None when unreadable
    time_text: str
    context: str
    place: str = ""
    status: str = ""


@dataclass(frozen=True)
class CarrierEvent:
    carrier: str  # the push source, e.g. "kuaidi100"
    company: str  # the carrier company code as the source names it (shunfeng, zhongtong, …)
    number: str
    kind: str  # picked_up | signed | exception | transit
    code: str  # the source's own state code
    label: str  # Chinese label of the state
    event_time: str
    context: str = ""
    scans: tuple[ScanEntry, ...] = ()  # the whole track in this push (newest first, as sent)


class CarrierSource(Protocol):
    """A carrier push source: checks the request's signature and parses it into an event."""

    name: str

    def verify(self, form: dict[str, str], secret: str) -> bool: ...

    def parse(self, form: dict[str, str]) -> CarrierEvent: ...
