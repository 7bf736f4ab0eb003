"""Personal data at rest: keyed phone hashes (the database alone cannot test the 10,000 guesses a
3+4 mask leaves), names and streets encrypted, raw messages scrubbed once handled or delivered,
the retention purge, key rotation (and its CLI), the migration of rows written before."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from bot.cli import cli
from orders import crypto
from orders.app import App
from orders.clock import ManualClock
from orders.inbox import InboxMessage
from orders.models import Order
from orders.outbox import OutboxMessage, enqueue_text
from orders.privacy import hash_phone
from orders.retention import purge_raw
from orders.rotation import rotate_keys
from tests.wecom.harness import Harness, make_harness, text_xml

PHONE = "13812345678"  # every fixture order's phone (tests/factories.py)


def raw(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as c:
        return list(c.execute(sql).fetchall())


def file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


@pytest.fixture
async def wecom(app: App) -> AsyncIterator[Harness]:
    async for h in make_harness(app):
        yield h


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change the key environment inside a test; the keyring is re-read afterwards."""
    yield monkeypatch
    monkeypatch.undo()
    crypto.reload()


async def test_the_database_alone_cannot_recover_a_phone_from_10000_guesses(app: App, db_path: Path) -> None:
    await app.close()
    rows = raw(db_path, "select phone_masked, phone_hash, phone_sealed from orders")
    assert rows and all(m == "138****5678" for m, _, _ in rows)
    guesses = [f"138{i:04d}5678" for i in range(10_000)]
    attacker = set()
    for g in guesses:  # what the attacker can compute without our key (incl. the public demo key)
        d = hashlib.sha256(g.encode()).hexdigest()
        attacker |= {d, hashlib.sha256(d.encode()).hexdigest(),
                     hmac.new(b"", f"phone:{d}".encode(), hashlib.sha256).hexdigest(),
                     hmac.new(crypto.DEMO_SECRET.encode(), f"phone:{d}".encode(), hashlib.sha256).hexdigest()}
    assert not any(h in attacker for _, h, _ in rows)
    assert all(str(s).startswith(crypto.TOKEN_PREFIX) for _, _, s in rows)  # the sealed digest: encrypted
    # with the key the same 10,000 guesses find exactly one: the hash still matches what it should
    assert [g for g in guesses if hash_phone(g) == rows[0][1]] == [PHONE]
    blob = file_bytes(db_path)
    for plain in ("张三丰", "文三路100号3幢", PHONE):
        assert plain.encode() not in blob


async def test_names_and_streets_are_encrypted_at_rest_and_read_back(app: App, db_path: Path) -> None:
    async with app.db.session() as s:
        o = await s.scalar(select(Order).where(Order.order_no == "BG260122-0001"))
        assert o is not None and o.buyer_name == "张三丰" and o.address_detail == "文三路100号3幢"
        stored = (await s.execute(text("select buyer_name, address_detail from orders where id = :i"),
                                  {"i": o.id})).one()
    assert all(str(v).startswith(crypto.TOKEN_PREFIX) for v in stored)


async def test_raw_messages_are_scrubbed_once_handled_and_delivered(wecom: Harness, db_path: Path) -> None:
    await wecom.say("cs01", "改地址 BG260122-0005 广东省深圳市南山区科技园南路88号 13987654321")
    await wecom.say("cs01", "查 13987654321")
    await wecom.settle()
    assert len(wecom.fake.texts_to("cs01")) == 2
    await wecom.app.close()
    assert {x for (x,) in raw(db_path, "select xml from wecom_inbox")} == {""}
    assert {p for (p, s) in raw(db_path, "select payload, status from outbox") if s == "sent"} == {"{}"}
    blob = file_bytes(db_path)
    assert b"13987654321" not in blob and "科技园南路88号".encode() not in blob


async def test_retention_purges_raw_payloads_and_msgid_dedupe_still_works(wecom: Harness, clock: ManualClock) -> None:
    app = wecom.app
    async with app.db.session() as s:
        await enqueue_text(s, "nobody", "发不出去的消息", clock.now())
    await wecom.post(text_xml("cs01", "查 BG260122-0001", "424242"))
    await wecom.settle()
    async with app.db.session() as s:  # a row a person still has to look at keeps its payloads for now
        row = await s.scalar(select(InboxMessage))
        assert row is not None
        row.status, row.xml = "failed", text_xml("cs01", "查 BG260122-0001", "424242")
        dead = await s.scalar(select(OutboxMessage).where(OutboxMessage.target == "nobody"))
        assert dead is not None and dead.status == "dead" and dead.payload["content"] == "发不出去的消息"
    assert await purge_raw(app.db, clock.now(), app.settings.retention_days) == (0, 0)
    clock.advance(timedelta(days=app.settings.retention_days, minutes=1))
    purged = await purge_raw(app.db, clock.now(), app.settings.retention_days)
    assert purged.inbox == 1 and purged.outbox >= 1
    async with app.db.session() as s:
        assert (await s.scalar(select(InboxMessage))).xml == ""  # type: ignore[union-attr]
        assert (await s.get(OutboxMessage, dead.id)).payload == {}  # type: ignore[union-attr]
    await wecom.post(text_xml("cs01", "查 BG260122-0001", "424242"))  # WeCom's retry of the same MsgId
    await wecom.settle()
    async with app.db.session() as s:
        assert len((await s.scalars(select(InboxMessage))).all()) == 1


async def test_key_rotation_re_encrypts_and_re_keys_hashes(app: App, db_path: Path,
                                                          keys: pytest.MonkeyPatch) -> None:
    old = crypto.keyring().secret.decode()
    async with app.db.session() as s:
        await enqueue_text(s, "cs01", "待发送的消息", app.clock.now())
    keys.setenv(crypto.ENV_SECRET, "a-brand-new-secret")
    keys.setenv(crypto.ENV_SECRET_OLD, old)
    done = await rotate_keys(app.db)
    assert done.orders == 6 and done.rehashed == 6 and done.outbox >= 1
    keys.delenv(crypto.ENV_SECRET_OLD)
    crypto.reload()  # the old key is gone: everything must read with the new one alone
    async with app.db.session() as s:
        orders = (await s.scalars(select(Order))).all()
        assert {o.buyer_name for o in orders} == {"张三丰"}
        assert {o.phone_hash for o in orders} == {hash_phone(PHONE)}
        assert (await s.scalar(select(OutboxMessage))).payload["content"] == "待发送的消息"  # type: ignore[union-attr]
    keys.setenv(crypto.ENV_SECRET, old)  # the old key alone can no longer read the data
    crypto.reload()
    with pytest.raises(crypto.KeyMismatch):
        async with app.db.session() as s:
            (await s.scalars(select(Order))).all()


def test_keys_rotate_cli_and_serve_refuses_without_a_secret(db_path: Path, keys: pytest.MonkeyPatch) -> None:
    keys.setenv("ORDERBOT_DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    keys.setenv(crypto.ENV_DATA, ",".join([crypto.Fernet.generate_key().decode(),
                                           crypto.derive_data_key(crypto.keyring().secret).decode()]))
    crypto.reload()
    out = CliRunner().invoke(cli, ["keys", "rotate"])
    assert out.exit_code == 0, out.output
    assert "rotated: 6 orders (0 phone hashes re-keyed)" in out.output
    keys.delenv(crypto.ENV_SECRET)
    crypto.reload()
    assert CliRunner().invoke(cli, ["keys", "rotate"]).exit_code == 2
    out = CliRunner().invoke(cli, ["serve"], env={"WECOM_CORP_ID": "c", "WECOM_SECRET": "s", "WECOM_TOKEN": "t",
                                                  "WECOM_AGENT_ID": "1", "WECOM_AES_KEY": "k" * 43})
    assert out.exit_code == 2 and "ORDERBOT_SECRET_KEY" in out.output


async def test_the_migration_converts_rows_written_before(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy.ext.asyncio import create_async_engine

    from orders.db import alembic_config

    db = tmp_path / "old.db"
    engine = create_async_engine(f"sqlite+aiosqlite:///{db}")
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0013_recovery"))
    await engine.dispose()
    old_hash = hashlib.sha256(PHONE.encode()).hexdigest()
    with sqlite3.connect(db) as c:
        c.execute("insert into orders (order_no, order_no_rev, channel, channel_order_id, shop, status, status_since,"
                  " flags, created_at, updated_at, buyer_name, phone_masked, phone_hash, province, city, district,"
                  " address_detail, goods_total_fen, shipping_fen, discount_total_fen, paid_fen, note, version,"
                  " platform_status, amount_diff_fen) values ('BG1', '1GB', 'taobao', 'T1', '', '支付成功',"
                  " '2026-01-22 01:00:00', '[]', '2026-01-22 01:00:00', '2026-01-22 01:00:00', '张三丰',"
                  " '138****5678', ?, '浙江省', '杭州市', '西湖区', '文三路100号', 0, 0, 0, 0, '', 1, '', 0)",
                  (old_hash,))
        for status, xml in (("done", "<xml>13987654321</xml>"), ("pending", "<xml>pending 13911112222</xml>")):
            c.execute("insert into wecom_inbox (dedupe_key, msg_id, user_id, kind, xml, status, attempts, received_at,"
                      " error) values (?, '1', 'cs01', 'text', ?, ?, 0, '2026-01-22 01:00:00', '')",
                      (f"msg:{status}", xml, status))
        for status, payload in (("sent", {"content": "已发送 13987654321"}), ("pending", {"content": "待发送"})):
            c.execute("insert into outbox (channel, target, msgtype, payload, status, attempts, next_attempt_at,"
                      " created_at, last_error, msgid) values ('app', 'cs01', 'text', ?, ?, 0,"
                      " '2026-01-22 01:00:00', '2026-01-22 01:00:00', '', '')",
                      (json.dumps(payload, ensure_ascii=False), status))
    from config import load_settings
    from orders.app import build_app

    app = await build_app(load_settings(database_url=f"sqlite+aiosqlite:///{db}", data_dir=tmp_path / "var"))
    async with app.db.session() as s:
        o = await s.scalar(select(Order))
        assert o is not None and o.buyer_name == "张三丰" and o.address_detail == "文三路100号"
        assert o.phone_hash == hash_phone(PHONE)  # the old hash, keyed
        inbox = {r.status: r.xml for r in (await s.scalars(select(InboxMessage))).all()}
        assert inbox == {"done": "", "pending": "<xml>pending 13911112222</xml>"}
        out = {r.status: r.payload for r in (await s.scalars(select(OutboxMessage))).all()}
        assert out == {"sent": {}, "pending": {"content": "待发送"}}
    await app.close()
    blob = file_bytes(db)
    for plain in ("张三丰", "文三路100号", "13987654321", "13911112222", "待发送", old_hash):
        assert plain.encode() not in blob, plain
