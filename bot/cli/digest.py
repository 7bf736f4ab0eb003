"""``orderbot digest``: render the manager digest in the terminal, or send it now."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import cli, err, run
from notifications.digest import DigestConfig, build_digest, queue_digest, spec_period
from orders.app import App


@cli.command()
def digest(
    print_: Annotated[bool, typer.Option("--print", help="render the digest on stdout")] = False,
    send: Annotated[bool, typer.Option("--send", help="queue it for its recipients now (outbox)")] = False,
    name: Annotated[str, typer.Option("--name", help="which digest in digests.yaml")] = "daily",
    chart: Annotated[Path | None, typer.Option("--chart", help="also save the chart PNG here")] = None,
) -> None:
    """Build the manager digest (digests.yaml). --send does not count as the day's scheduled send."""
    if not print_ and not send:
        err.print("say --print or --send")
        raise typer.Exit(2)

    async def body(app: App) -> int:
        cfg = DigestConfig.load(app.config)
        try:
            spec = cfg.get(name)
        except KeyError:
            err.print(f"no digest named {name!r}; known: {', '.join(d.name for d in cfg.digests) or 'none'}")
            return 2
        dg = await build_digest(app, spec.reports, cfg=cfg, period=spec_period(spec, app.clock.now(), app.settings.tz))
        if print_:
            typer.echo(dg.markdown)
        if chart is not None and dg.chart is not None:
            chart.write_bytes(dg.chart)
            err.print(f"chart saved: {chart}")
        if send:
            async with app.db.session() as s:
                to = await queue_digest(s, app, spec, dg, app.clock.now())
            err.print(f"queued for: {', '.join(to) or 'nobody (no recipients)'}")
        return 0

    raise typer.Exit(run(body, needs="orders"))
