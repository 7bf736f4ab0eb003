"""``orderbot keys``: rotate the keys personal data is kept under (README, "Privacy")."""

from __future__ import annotations

import typer

from bot.cli.common import cli, err, run
from orders.app import App

keys_cli = typer.Typer(help="Keys for personal data at rest (ORDERBOT_SECRET_KEY, ORDERBOT_DATA_KEY).",
                       no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")


@keys_cli.command("rotate")
def rotate() -> None:
    """Re-encrypt names, streets, inbox messages and outbox payloads with the first key of
    ORDERBOT_DATA_KEY (or the key derived from ORDERBOT_SECRET_KEY), and, when
    ORDERBOT_SECRET_KEY_OLD is set, re-key every phone hash with the new ORDERBOT_SECRET_KEY.
    Keep the old keys in the environment until this has finished."""
    from orders import crypto
    from orders.rotation import rotate_keys

    if crypto.secret_missing():
        err.print(f"{crypto.ENV_SECRET} is not set: there is nothing to rotate to", markup=False)
        raise typer.Exit(2)

    async def body(app: App) -> int:
        done = await rotate_keys(app.db)
        typer.echo(f"rotated: {done.orders} orders ({done.rehashed} phone hashes re-keyed), "
                   f"{done.inbox} inbox messages, {done.outbox} outbox payloads")
        if done.nick_dropped:
            typer.echo(f"{done.nick_dropped} nickname search keys cleared (the nickname is not kept): "
                       "查 <昵称> finds those orders again when the platform sends them again")
        return 0

    raise typer.Exit(run(body))
