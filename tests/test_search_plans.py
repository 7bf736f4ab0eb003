"""Every search key is answered from an index (no full scan of orders or tracking numbers, on
either engine), and 查 reads an order in few statements: by hub number two (the order with its
lines, discounts and tracking; what is around it), by any other key one more (the search), a list
of matches one (two when more than ten are counted)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event

from bot.testing import ChatBot
from orders.app import App
from orders.errors import AmbiguousOrder
from orders.sheet import order_sheet
from tests.test_search import add_hu

KEYS = ["{no}", "{suffix}", "4000123458844458", "4458", "尾号844458", "18512343681", "3681", "185****3681", "胡女士",
        "tb_hu2023", "73123456789012", "456789012"]
TABLES = r"(orders|tracking_numbers)(_\d+)?\b"
SQLITE_SCAN = re.compile(r"\bSCAN " + TABLES)  # SEARCH is an index lookup; SCAN walks it all


def full_scans(dialect: str, plan: str) -> list[str]:
    """The plan's nodes that read orders or tracking numbers without an index condition (a seq
    scan, or a whole index walked in order with a filter)."""
    if dialect != "postgresql":
        return [ln for ln in plan.splitlines() if SQLITE_SCAN.search(ln)]
    lines, bad = plan.splitlines(), []
    for i, ln in enumerate(lines):
        if re.search(r"Scan.* on " + TABLES, ln) and "Bitmap Index" not in ln:
            depth = len(ln) - len(ln.lstrip())
            details = []
            for nxt in lines[i + 1:]:
                if len(nxt) - len(nxt.lstrip()) <= depth or "->" in nxt:
                    break
                details.append(nxt)
            if not any("Index Cond" in d or "Recheck Cond" in d for d in details):
                bad.append(ln)
    return bad


class Statements:
    def __init__(self, app: App) -> None:
        self.seen: list[tuple[str, Any]] = []
        event.listen(app.db.engine.sync_engine, "before_cursor_execute", self._on)

    def _on(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self.seen.append((statement, parameters))

    async def ask(self, app: App, query: str) -> list[tuple[str, Any]]:
        self.seen = []
        try:
            await order_sheet(app.orders, query)
        except AmbiguousOrder:
            pass
        return list(self.seen)


async def _plan(app: App, sql: str, params: Any) -> str:
    async with app.db.engine.connect() as c:
        if c.dialect.name == "postgresql":
            await c.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: show whether an index CAN serve
            rows = (await c.exec_driver_sql("EXPLAIN " + sql, params)).all()
        else:
            rows = (await c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)).all()
        return "\n".join(str(r[-1]) for r in rows)


@pytest.fixture
async def hu(bot: ChatBot, app: App) -> str:
    no = await add_hu(app)
    assert "已登记运单" in await bot.say("wh01", f"运单 {no} 中通 73123456789012")
    return no


@pytest.mark.parametrize("key", KEYS)
async def test_every_key_is_searched_on_an_index(app: App, hu: str, key: str) -> None:
    stmts = Statements(app)
    query = key.format(no=hu, suffix=hu[-4:])
    seen = await stmts.ask(app, query)
    assert seen
    for sql, params in seen:
        plan = await _plan(app, sql, params)
        assert not full_scans(app.db.engine.dialect.name, plan), f"查 {query}:\n{sql}\n{plan}"


async def test_statements_per_answer(bot: ChatBot, app: App, hu: str) -> None:
    stmts = Statements(app)
    await stmts.ask(app, hu)  # warm (a first connection may ask the server things)
    assert len(await stmts.ask(app, hu)) == 2
    assert len(await stmts.ask(app, "18512343681")) == 3
    assert len(await stmts.ask(app, "尾号844458")) == 3
    assert len(await stmts.ask(app, "13812345678")) == 1  # the six fixed orders' buyer: a list, not counted
    for i in range(11):
        await add_hu(app, f"77000{i:02d}", phone="13912340000")
    assert len(await stmts.ask(app, "13912340000")) == 2  # more than ten: counted
    assert "共 11 单" in await bot.say("cs01", "查 13912340000")


async def test_the_answer_decrypts_only_what_it_shows(app: App, hu: str) -> None:
    """查 shows the name and street (masked): the sealed digests behind key rotation are neither
    read nor decrypted, and nothing can read them by accident from the answer's order."""
    stmts = Statements(app)
    seen = await stmts.ask(app, hu)
    assert seen and not [sql for sql, _ in seen if "phone_sealed" in sql or "buyer_id_sealed" in sql]
    sheet = await order_sheet(app.orders, hu)
    assert sheet.order.buyer_name == "胡女士" and sheet.order.address_detail
    for col in ("phone_sealed", "buyer_id_sealed"):
        with pytest.raises(AttributeError):  # the answer's order has no such field
            getattr(sheet.order, col)
