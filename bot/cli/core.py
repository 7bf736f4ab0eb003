"""Core commands: chat, demo, seed-demo, import, users, workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import SEED_HINT, cli, dispatcher, err, run, users_cli, where, workflow_cli
from bot.console import run_console
from orders.app import App
from orders.seed import seed_demo
from orders.users import get_user, list_users, upsert_user
from orders.workflow_edit import current


async def known_user(app: App, user_id: str) -> bool:
    """True when ``user_id`` exists; else say so on stderr and list the users (or how to seed)."""
    async with app.db.session() as s:
        if await get_user(s, user_id) is not None:
            return True
        users = await list_users(s)
    err.print(f"no user {user_id!r} in {where(app.settings)}. Users:", markup=False, soft_wrap=True)
    for u in users:
        typer.echo(f"  {u.user_id}\t{u.name}\t{','.join(u.roles)}", err=True)
    if len(users) <= 1:
        err.print(SEED_HINT, markup=False, soft_wrap=True)
    err.print("Add one with `orderbot users add USERID --name N --role R`.", markup=False, soft_wrap=True)
    return False


@cli.command()
def chat(as_: Annotated[str, typer.Option("--as", help="WeCom UserID to chat as")]) -> None:
    """Chat with the bot as a WeCom user: lines from stdin, replies to stdout. Besides text:
    /按 [卡片号] 按钮名, /扫 CODE, /语音 FILE, /图片 FILE, /进入 (open the app), /切换 USERID."""

    async def body(app: App) -> int:
        if not await known_user(app, as_):
            return 2
        await run_console(dispatcher(app), as_)
        return 0

    raise typer.Exit(run(body, quiet=True, needs="db"))


@cli.command("seed-demo")
def seed_demo_cmd(orders: int = typer.Option(2400, help="how many demo orders")) -> None:
    """Seed demo users and orders (only if the database has no orders)."""

    async def body(app: App) -> None:
        rep = await seed_demo(app, n=orders)
        err.print("database already has orders; demo users refreshed" if rep is None else f"seeded: {rep.summary()}")

    run(body, quiet=True)


@cli.command()
def demo(as_: Annotated[str, typer.Option("--as", help="demo user to chat as")] = "cs01") -> None:
    """Seed the demo data if the database is empty, then chat as a customer-service user."""

    async def body(app: App) -> int:
        rep = await seed_demo(app)
        if rep is not None:
            err.print(f"demo data seeded in {where(app.settings)}: {rep.summary()}", markup=False, soft_wrap=True)
        if not await known_user(app, as_):
            return 2
        err.print(f"chatting as {as_}. Try: 帮助 · 查 8812 · 轨迹 BG260122-8812 · /进入 · /切换 temp01 then 任务 · "
                  "/切换 cslead then 待办 · /切换 boss then 日报 (README: The demo data). Ctrl-D to leave.",
                  markup=False, soft_wrap=True)
        await run_console(dispatcher(app), as_)
        return 0

    raise typer.Exit(run(body, quiet=True))


@cli.command("import")
def import_cmd(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines file, or an export "
                                       "file (Taobao: 订单报表 and 宝贝报表 together)"),
    channel: Annotated[str | None, typer.Option("--channel", help="the export's channel (taobao, pdd, …); "
                                                "detected from the headers when left out")] = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="rejects CSV (default FILE.rejects.csv)")] = None,
    shop: Annotated[str, typer.Option("--shop", help="shop name for rows without one")] = "",
) -> None:
    """Import orders: canonical JSON Lines, or a channel's export (CSV/XLSX, UTF-8 or GBK) as the
    back end gives it; format, encoding and channel are detected. Exit code 1 when any row failed
    (rejects file written), 2 when the file is unusable."""
    from bot.cli.intake import run_import

    raise typer.Exit(run_import(files, channel, rejects, shop))


@users_cli.command("add")
def users_add(
    userid: str,
    name: Annotated[str, typer.Option("--name", help="display name")],
    role: Annotated[list[str], typer.Option("--role", help="role code or Chinese name; repeatable")],
    dept: Annotated[str | None, typer.Option("--dept", help="department")] = None,
) -> None:
    """Add a user (or update one) with roles."""

    async def body(app: App) -> None:
        async with app.db.session() as s:
            u = await upsert_user(s, app.roles, user_id=userid, name=name, roles=role, department=dept,
                                  now=app.clock.now())
        typer.echo(f"{u.user_id} {u.name} {','.join(u.roles)}")

    run(body)


@users_cli.command("list")
def users_list() -> None:
    """List users with their roles."""

    async def body(app: App) -> None:
        async with app.db.session() as s:
            for u in await list_users(s):
                typer.echo(f"{u.user_id}\t{u.name}\t{u.department}\t{','.join(u.roles)}")

    run(body)


@workflow_cli.command("show")
def workflow_show(mermaid: bool = typer.Option(False, help="print a Mermaid state diagram")) -> None:
    """Print the workflow in force (the newest version)."""
    from handlers.workflow_admin import describe

    async def body(app: App) -> None:
        wf = await current(app.db, app.workflows)
        typer.echo(wf.mermaid() if mermaid else describe(wf, app.roles.names, app.config.load("channels")))

    run(body)
