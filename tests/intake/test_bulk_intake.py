"""The fast intake paths: Fernet tokens made in bulk are the library's tokens, the rows a batch
writes (PostgreSQL: COPY) are the rows the same batch writes on SQLite, reading the next batch
while one is written changes nothing, and the adapters' quick time path reads as the full one."""

from __future__ import annotations

import asyncio
import base64
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from config import load_settings
from orders.app import App, build_app
from orders.crypto import decrypt, encrypt_many, fernet_tokens, keyring
from orders.intake.canonical import CanonOrder
from orders.intake.rows import LINE_COLS, ORDER_COLS
from orders.models import Discount, Order, OrderLine, TimelineEvent
from orders.outbox import OutboxMessage
from tests.factories import canon
from tests.fakes import payloads as P
from tests.intake.helpers import channels, importer

TEXTS = ["", "吴九", "x" * 15, "y" * 16, "z" * 17, "湖北省武汉市洪山区珞喻路1号某某小区3栋2单元", "sha256:" + "a" * 64]


def test_bulk_tokens_are_fernet_tokens() -> None:
    ivs = bytes(range(16)) * len(TEXTS)
    at = 1_767_000_000
    fernet = Fernet(keyring().data_key)
    want = ["" if not t else fernet._encrypt_from_parts(t.encode(), at, ivs[16 * i:16 * i + 16]).decode()
            for i, t in enumerate(TEXTS)]
    assert fernet_tokens(TEXTS, ivs, at) == want
    sealed = encrypt_many(TEXTS)
    assert [decrypt(t) for t in sealed] == TEXTS
    assert len({t for t in sealed if t}) == len(TEXTS) - 1  # fresh IVs: equal texts would differ too
    assert all(base64.urlsafe_b64decode(t)[:1] == b"\x80" for t in sealed if t)


def _batch() -> list[Any]:
    """Every channel, masked (PDD) and real phones, a refund flag, a line-bound discount, a
    mismatch, two orders of one phone and product within minutes (brushing), a second day."""
    at = P.T0
    payloads: list[tuple[str, dict[str, Any]]] = [
        ("taobao", P.taobao("TB-R-1", at=at, phone="13900001111")),
        ("taobao", P.taobao("TB-R-2", at=at + timedelta(minutes=3), phone="13900001111")),
        ("pdd", P.pdd("PD-R-1", at=at)),
        ("douyin", P.douyin("DY-R-1", at=at + timedelta(days=1), phone="15800002222")),
        ("douyin", P.douyin("DY-R-2", after_sale=6, at=at, phone="15800003333")),
        ("jd", P.jd("JD-R-1", at=at, phone="18600004444")),
        ("youzan", P.youzan("YZ-R-1", at=at, phone="13700005555")),
    ]
    return payloads


async def _import(app: App) -> tuple[Any, Any]:
    ch = channels(app)
    parsed = [(i, ch.adapt(c, p, "测试店")) for i, (c, p) in enumerate(_batch(), 1)]
    off = canon("MM-1", paid="300.00", phone="13600006666")  # does not add up: 金额不一致
    bound = canon("SKU-1", discounts=[{"kind": "coupon", "amount": "10.00", "sku": "TQ-WY-110",
                                       "offered_by": "shop", "borne_by": "shop"}], paid="348.00",
                  phone="13600007777")
    parsed += [(90, CanonOrder.model_validate(off)), (91, CanonOrder.model_validate(bound))]
    rep = await importer(app).import_parsed(parsed)
    return rep, await _dump(app)


async def _dump(app: App) -> dict[str, Any]:
    """Every order's rows by natural keys (ids differ between databases; stored tokens differ by IV,
    so encrypted columns are compared decrypted)."""
    async with app.db.session() as s:
        orders = (await s.scalars(select(Order).order_by(Order.order_no))).all()
        no = {o.id: o.order_no for o in orders}
        skip = {"id", "version"}
        out: dict[str, Any] = {"orders": [{c: getattr(o, c) for c in Order.__table__.c.keys() if c not in skip}
                                          for o in orders]}
        lines = (await s.scalars(select(OrderLine).where(OrderLine.order_id.in_(no)).order_by(OrderLine.id))).all()
        sku_of = {ln.id: (no[ln.order_id], ln.sku) for ln in lines}
        out["lines"] = [(no[ln.order_id], ln.sku, ln.name, ln.qty, ln.price_fen) for ln in lines]
        discs = (await s.scalars(select(Discount).where(Discount.order_id.in_(no)).order_by(Discount.id))).all()
        out["discounts"] = [(no[d.order_id], sku_of.get(d.line_id or 0), d.kind, d.source, d.label, d.promotion_id,
                             d.offered_by, d.borne_by, d.amount_fen) for d in discs]
        evs = (await s.scalars(select(TimelineEvent).where(TimelineEvent.order_id.in_(no))
                               .order_by(TimelineEvent.id))).all()
        out["events"] = [(no[e.order_id], e.at, e.actor, e.source, e.kind, e.from_state, e.to_state, e.detail)
                         for e in evs]
        out["robot"] = sorted(str(m.payload) for m in (await s.scalars(select(OutboxMessage))).all())
    return out


async def test_rows_match_between_engines(app: App, template_db: Path, tmp_path: Path) -> None:
    """Run with ORDERBOT_TEST_ENGINE=postgresql: the COPY path against SQLite's executemany."""
    rep, got = await _import(app)
    assert rep.added == 9 and not rep.rejects and rep.flagged_amount == 1 and rep.flagged_brushing == 2
    path = tmp_path / "sqlite-twin.db"
    shutil.copyfile(template_db, path)
    twin = await build_app(load_settings(database_url=f"sqlite+aiosqlite:///{path}", data_dir=tmp_path / "twin"),
                           clock=app.clock, migrate=False)
    try:
        rep2, want = await _import(twin)
    finally:
        await twin.close()
    assert rep2 == rep
    assert got["orders"] == want["orders"]
    assert got["lines"] == want["lines"] and got["discounts"] == want["discounts"]
    assert got["events"] == want["events"] and got["robot"] == want["robot"]
    by_id = {o["channel_order_id"]: o for o in got["orders"]}
    assert by_id["MM-1"]["amount_diff_fen"] and "金额不一致" in by_id["MM-1"]["flags"]
    assert any(d[1] is not None for d in got["discounts"])  # the line-bound coupon kept its line
    assert by_id["PD-R-1"]["phone_hash"] == "" and by_id["PD-R-1"]["phone_last4"]
    assert all(o["buyer_name"] and o["address_detail"] for o in got["orders"])


async def test_rows_built_ahead_are_the_rows_built_in_the_transaction(app: App, template_db: Path, tmp_path: Path,
                                                                      monkeypatch: Any) -> None:
    """In batches of 4, each batch after the first is built while the one before is on the
    database, with stand-in ids; a known order, a refused state and a repeat inside a batch
    drop out of what was built ahead. The database ends up as with every batch built in its own
    transaction."""
    from orders.intake import importer as imp_mod
    from orders.intake import rows

    placed: list[int] = []
    place = rows.place

    def counted(ahead: Any, keep: Any, *a: Any) -> Any:
        placed.append(len(keep))
        return place(ahead, keep, *a)

    monkeypatch.setattr(rows, "place", counted)
    ch = channels(app)
    parsed: list[Any] = [(i, ch.adapt(c, p, "测试店")) for i, (c, p) in enumerate(_batch(), 1)]
    off = CanonOrder.model_validate(canon("MM-1", paid="300.00", phone="13600006666"))
    # batches of 4: [TB-R-1 TB-R-2 PD-R-1 DY-R-1] [refused, MM-1, MM-1 again, DY-R-2] [TB-R-1 again, JD-R-1, YZ-R-1]
    parsed[4:4] = [(80, CanonOrder.model_validate(canon("BAD-1", status="不存在", phone="13600001234"))),
                   (81, off), (82, off)]
    parsed[8:8] = [(83, parsed[0][1])]

    async def run(target: App, batch: int) -> tuple[Any, Any]:
        monkeypatch.setattr(imp_mod, "BATCH", batch)
        rep = await importer(target).import_parsed(parsed)
        return rep, await _dump(target)

    rep, got = await run(app, 4)
    assert placed == [2, 2] and rep.added == 8 and rep.unchanged == 2 and [r.row for r in rep.rejects] == [80]
    path = tmp_path / "one-batch.db"
    shutil.copyfile(template_db, path)
    twin = await build_app(load_settings(database_url=f"sqlite+aiosqlite:///{path}", data_dir=tmp_path / "twin"),
                           clock=app.clock, migrate=False)
    try:
        placed.clear()
        rep2, want = await run(twin, 1000)
    finally:
        await twin.close()
    assert placed == [] and rep2 == rep
    assert sorted(map(repr, got.pop("events"))) == sorted(map(repr, want.pop("events")))  # batches interleave flags
    assert got == want


async def test_next_batch_read_while_writing_keeps_order(app: App, monkeypatch: Any) -> None:
    """Batches of 3: rejects, skips and a repeated order spread over batches come out in the
    report as read in turn; each batch is written before the next starts; every order lands."""
    from orders.intake import importer as imp_mod
    from orders.intake.importer import Reject

    monkeypatch.setattr(imp_mod, "BATCH", 3)
    seen_rows: list[int] = []

    def items() -> Any:
        for i in range(1, 12):
            seen_rows.append(i)
            if i in (2, 7):
                yield i, Reject(i, "paid", f"bad row {i}")
            elif i == 5:
                yield i, None
            else:
                yield i, CanonOrder.model_validate(canon(f"OV-{i if i != 9 else 3}", phone=f"1360000{i:04d}"))

    progress: list[int] = []
    rep = await importer(app).import_parsed(items(), progress=progress.append)
    assert [r.row for r in rep.rejects] == [2, 7] and rep.skipped == 1
    assert rep.added == 7 and rep.unchanged == 1  # row 9 repeats row 3 (already written: unchanged)
    assert progress == [3, 3, 2] and seen_rows == list(range(1, 12))
    async with app.db.session() as s:
        nos = (await s.scalars(select(Order.order_no).where(Order.channel_order_id.like("OV-%"))
                               .order_by(Order.id))).all()
    assert len(nos) == 7 and nos == sorted(nos)  # numbered in reading order


async def test_next_batch_is_read_once_the_batch_in_flight_has_built_its_rows(app: App, monkeypatch: Any) -> None:
    """The next batch is read while the last one is on the database, not while it still builds
    its rows (read earlier, the reading held up that batch's own Python work); a batch of known
    orders lets the reading go on at once (it moves them one by one on the database)."""
    from orders.intake import importer as imp_mod
    from orders.intake import rows

    monkeypatch.setattr(imp_mod, "BATCH", 3)
    seen: list[str] = []
    build = rows.build

    def logged_build(new: Any, *a: Any, **kw: Any) -> Any:
        seen.append("build " + ",".join(o.order_id for o in new))
        return build(new, *a, **kw)

    monkeypatch.setattr(rows, "build", logged_build)

    def items(names: list[str]) -> Any:
        for i, name in enumerate(names, 1):
            seen.append("read " + name)
            yield i, CanonOrder.model_validate(canon(name, phone=f"1370000{i:04d}"))

    names = [f"RD-{i}" for i in range(1, 8)]
    rep = await importer(app).import_parsed(items(names))
    assert rep.added == 7
    assert seen == ["read RD-1", "read RD-2", "read RD-3", "build RD-1,RD-2,RD-3",
                    "read RD-4", "read RD-5", "read RD-6", "build RD-4,RD-5,RD-6", "read RD-7", "build RD-7"]
    seen.clear()
    rep = await importer(app).import_parsed(items(names[:6]))  # known orders: nothing to build
    assert rep.unchanged == 6 and seen == [f"read {n}" for n in names[:6]]


async def test_interpreter_settings_hold_while_any_import_runs(app: App) -> None:
    import gc
    import sys

    from orders.intake import interpreter

    before = gc.get_threshold(), sys.getswitchinterval()
    inside: list[tuple[Any, float, int]] = []

    def items(tag: str) -> Any:
        for i in range(1, 4):
            inside.append((gc.get_threshold(), sys.getswitchinterval(), interpreter._active))
            yield i, CanonOrder.model_validate(canon(f"{tag}-{i}", phone=f"1380000{i:04d}"))

    # B reads while A's batch is on the database: two imports at once (one day's order numbers too)
    reps = await asyncio.gather(importer(app).import_parsed(items("GC-A")), importer(app).import_parsed(items("GC-B")))
    assert [r.added for r in reps] == [3, 3]
    assert max(n for _, _, n in inside) == 2
    young = max(before[0][0], interpreter.YOUNG)
    assert all(t == (young, before[0][1], interpreter.FULL_EVERY) for t, _, _ in inside)
    assert all(si == min(interpreter.SWITCH_INTERVAL_S, before[1]) for _, si, _ in inside)
    assert (gc.get_threshold(), sys.getswitchinterval()) == before  # put back once both ended


async def test_sqlite_bulk_rows_go_in_as_multi_row_statements_in_parts(app: App, monkeypatch: Any) -> None:
    """A batch's rows go in as multi-row VALUES of at most SQLITE_MAX_VARS parameters each (one
    statement's binding, then SQLite without the GIL); every row lands whatever the split."""
    from sqlalchemy import event, func

    from orders.intake import bulk

    if not app.db.is_sqlite:
        pytest.skip("PostgreSQL writes with COPY")
    monkeypatch.setattr(bulk, "SQLITE_MAX_VARS", 80)  # two orders (35 columns) or 13 lines a statement
    inserts: list[tuple[str, int]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO orders ") or statement.startswith("INSERT INTO order_lines "):
            inserts.append((statement.split()[2], len(parameters)))

    sync = app.db.engine.sync_engine
    event.listen(sync, "before_cursor_execute", seen)
    try:
        rep = await importer(app).import_parsed(
            (i, CanonOrder.model_validate(canon(f"MR-{i}", phone=f"1390000{i:04d}"))) for i in range(1, 6))
    finally:
        event.remove(sync, "before_cursor_execute", seen)
    assert rep.added == 5
    order_cols = len(ORDER_COLS) + len(bulk._filled(Order.__table__, ORDER_COLS)[0])
    assert [n for t, n in inserts if t == "orders"] == [2 * order_cols, 2 * order_cols, order_cols]
    assert all(n <= 80 and n % len(LINE_COLS) == 0 for t, n in inserts if t == "order_lines")
    async with app.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Order)
                              .where(Order.channel_order_id.like("MR-%"))) == 5
        lines = await s.scalar(select(func.count()).select_from(OrderLine).join(Order)
                               .where(Order.channel_order_id.like("MR-%")))
    assert lines == sum(n for t, n in inserts if t == "order_lines") // len(LINE_COLS)


async def test_reader_failing_mid_way_leaves_written_batches(app: App, monkeypatch: Any) -> None:
    from orders.intake import importer as imp_mod

    monkeypatch.setattr(imp_mod, "BATCH", 2)

    def items() -> Any:
        for i in range(1, 6):
            yield i, CanonOrder.model_validate(canon(f"FAIL-{i}", phone=f"1350000{i:04d}"))
        raise OSError("file vanished")

    with pytest.raises(OSError, match="vanished"):
        await importer(app).import_parsed(items())
    async with app.db.session() as s:
        ids = (await s.scalars(select(Order.channel_order_id).where(Order.channel_order_id.like("FAIL-%")))).all()
    assert sorted(ids) == ["FAIL-1", "FAIL-2", "FAIL-3", "FAIL-4"]  # the last, unfinished batch is not written


def test_plain_api_times_read_as_the_full_parser() -> None:
    from zoneinfo import ZoneInfo

    from orders.intake.channels.base import AdapterError, local_time

    tz = ZoneInfo("Asia/Shanghai")
    for quick, full in [("2026-01-22 10:42:00", "2026/1/22 10:42:00"),
                        ("2026-12-31 23:59:59", "２０２６-12-31 23:59:59"),
                        ("2000-02-29 00:00:00", "2000年2月29日 00:00:00")]:
        assert local_time(quick, "created", tz) == local_time(full, "created", tz)
        assert local_time(quick, "created", tz).tzinfo is tz
    for bad in ("2026-13-01 00:00:00", "2026-02-30 10:00:00", "2026-01-22 24:00:00"):
        with pytest.raises(AdapterError, match="created: not a time"):
            local_time(bad, "created", tz)


def test_hmac_states_match_the_standard_library() -> None:
    import hmac

    from orders.crypto import _hmac_sha256, keyed_hash

    for key in (b"", b"k" * 16, b"secret", b"x" * 64, b"y" * 65, bytes(range(200))):
        for msg in (b"", b"phone:" + b"a" * 64, "name:吴九".encode()):
            assert _hmac_sha256(key)(msg) == hmac.digest(key, msg, "sha256")
    assert keyed_hash("name", "吴九", b"s") == hmac.new(b"s", "name:吴九".encode(), "sha256").hexdigest()


def test_plain_yuan_strings_read_as_decimal_does() -> None:
    from orders.intake.channels.base import AdapterError, yuan
    from orders.money import yuan_to_fen

    for text in ("0", "5", "12.8", "199.00", "0.01", "000123.4", "999999999999.99"):
        assert yuan(text, "price") == yuan_to_fen(text)
    for text in (" 12.8", "12.80 ", "1e2", "+5", "１２.5", "12.800"):  # not plain: the Decimal path decides
        assert yuan(text, "price") == yuan_to_fen(text)
    for bad in ("12.345", "-", "1,2", ".5x", "abc"):
        with pytest.raises(AdapterError):
            yuan(bad, "price")
