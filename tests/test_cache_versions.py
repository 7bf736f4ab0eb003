"""In-process caches (users with their roles, the workflow in force) checked against version
counters the database bumps on every change: an admin change made through another engine (another
`serve` worker) is seen by the next batch, and within a batch the cache spares the queries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import event, text, update

from bot.dispatch import Dispatcher
from bot.testing import ChatBot
from config import load_settings
from orders import versions
from orders.app import App, build_app
from orders.models import User


@pytest.fixture
async def peer(app: App) -> AsyncIterator[App]:
    """A second App (own engine, own caches) on the same database: another worker process."""
    other = await build_app(load_settings(database_url=app.settings.database_url, data_dir=app.settings.data_dir),
                            clock=app.clock, migrate=False)
    yield other
    await other.close()


def _bot(app: App) -> ChatBot:
    from handlers import registry

    return ChatBot(app, Dispatcher(app, registry))


class Statements:
    def __init__(self, app: App) -> None:
        self.seen: list[str] = []
        event.listen(app.db.engine.sync_engine, "before_cursor_execute", self._on)

    def _on(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        self.seen.append(statement)

    def on(self, table: str) -> int:
        return sum(f"FROM {table}" in s for s in self.seen)


@asynccontextmanager
async def batch(app: App) -> AsyncIterator[None]:
    """What the inbox processor does: the counters read once, standing for the batch."""
    async with app.db.session() as s:
        counters = await versions.read(s)
    with versions.batch(counters):
        yield


async def test_a_role_change_through_another_worker_is_seen_by_the_next_batch(app: App, peer: App) -> None:
    here, there = _bot(app), _bot(peer)
    stmts = Statements(app)
    async with batch(app):
        assert "订单 BG260122-0001" in await here.say("cs01", "查 BG260122-0001")
        before = stmts.on("users")
        assert "订单 BG260122-0002" in await here.say("cs01", "查 BG260122-0002")
        assert stmts.on("users") == before  # the cached user: no query within the batch
    assert "角色已设为" in await there.say("admin", "用户 角色 cs01 仓库临时工")
    async with batch(app):
        assert "您的角色不能使用「查」" in await here.say("cs01", "查 BG260122-0001")
    async with peer.db.session() as s:  # deactivated (the CLI's way: a plain update)
        await s.execute(update(User).where(User.user_id == "cs01").values(active=False))
    async with batch(app):
        assert "还没有开通" in await here.say("cs01", "帮助")


async def test_outside_a_batch_every_message_checks_the_counters(app: App, peer: App) -> None:
    here, there = _bot(app), _bot(peer)
    assert "订单 BG260122-0001" in await here.say("cs01", "查 BG260122-0001")
    await there.say("admin", "用户 角色 cs01 仓库临时工")
    assert "您的角色不能使用「查」" in await here.say("cs01", "查 BG260122-0001")


async def test_a_workflow_edit_through_another_worker_is_seen_by_the_next_batch(app: App, peer: App) -> None:
    async with app.db.session() as s, batch(app):
        assert "拦截中" not in (await app.workflows.current(s)).definition.all_names
    stmts = Statements(app)
    async with batch(app):
        async with app.db.session() as s:
            await app.workflows.current(s)
        assert stmts.on("workflow_versions") == 0  # counter unchanged: the compiled workflow stands
    out = await _bot(peer).say("admin", "流程 加分支 拦截中 从 拣货中,打包完成 返回原状态 角色 仓管,客服组长")
    assert "拦截中" in out
    async with batch(app):
        async with app.db.session() as s:
            assert "拦截中" in (await app.workflows.current(s)).definition.all_names


async def test_every_change_to_the_tables_moves_the_counters(app: App) -> None:
    async with app.db.session() as s:
        start = await versions.read(s)
    async with app.db.session() as s:  # hand-written SQL too: the triggers are in the database
        await s.execute(text("UPDATE users SET name = '改名' WHERE user_id = 'cs01'"))
    async with app.db.session() as s:
        after = await versions.read(s)
    assert set(start) == {"users", "workflow"}
    assert after["users"] > start["users"] and after["workflow"] == start["workflow"]
