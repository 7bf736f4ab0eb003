"""Intake CLI: ``import FILE --channel NAME`` (body of the ``import`` command), ``export`` for
finance, ``reconcile`` for settlement files, ``pull`` to run the due platform pulls once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.cli.common import cli, err, run
from bot.intake_jobs import build_importer, channels_of
from orders.app import App
from orders.intake.files import UnusableFile, sniff
from orders.intake.importer import ImportReport, Parsed, jsonl_text, parse_lines
from orders.sheets import SafeCsvWriter


def write_rejects(path: Path, rep: ImportReport) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = SafeCsvWriter(fh)
        w.writerow(["row", "field", "reason"])
        for r in rep.rejects:
            w.writerow([r.row, r.field, r.reason])


def run_import(files: list[Path], channel: str | None, rejects: Path | None, shop: str) -> int:
    """Import a canonical JSONL file or a channel's export (one file, or an order file and its item
    file); the kind, encoding and channel are detected and said. Exit code: 0 all rows landed, 1
    some rows were rejected (see the rejects file), 2 the file itself is unusable."""

    async def body(app: App) -> int:
        imp = build_importer(app)
        file = files[0]
        try:
            parsed, word = _open(app, files, channel, shop)
        except UnusableFile as e:
            err.print(f"{', '.join(str(f) for f in files)}: {e}", markup=False, soft_wrap=True)
            return 2
        with Progress(TextColumn(f"importing {file.name}"), BarColumn(), MofNCompleteColumn(), console=err) as bar:
            task = bar.add_task("import", total=None)
            rep = await imp.import_parsed(parsed, progress=lambda n: bar.advance(task, n))
        for r in sorted(rep.rejects)[:20]:
            where = "" if r.field == "(line)" else f"{r.field}: "
            err.print(f"{word} {r.row}: {where}{r.reason}", markup=False, soft_wrap=True)
        if rep.rejects:
            out = rejects or file.with_name(file.name + ".rejects.csv")
            write_rejects(out, rep)
            err.print(f"{rep.failed} rejected rows written to {out}", markup=False, soft_wrap=True)
        err.print(rep.summary(), markup=False, soft_wrap=True)
        return 1 if rep.rejects else 0

    return run(body)


def _open(app: App, files: list[Path], channel: str | None, shop: str) -> tuple[Iterable[Parsed], str]:
    """(parsed rows, "line" or "row") after saying what was detected; UnusableFile for exit 2."""
    first = sniff(files[0])
    if first.kind == "jsonl":
        if len(files) > 1 or channel:
            raise UnusableFile("JSON Lines is the canonical format: import it on its own, without --channel")
        text = jsonl_text(files[0].read_bytes())
        err.print(f"detected: {files[0].name}: {first.describe()}, canonical orders", markup=False, soft_wrap=True)
        return parse_lines(text.splitlines()), "line"
    channels = channels_of(app)
    opened = channels.open_export(files, channel)
    err.print(f"detected: {opened.describe()}", markup=False, soft_wrap=True)
    return channels.parse(opened, shop), "row"


@cli.command("export")
def export_cmd(
    from_: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD (local time)")],
    to: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (inclusive)")],
    out: Annotated[Path | None, typer.Option("--out", help="XLSX file to write")] = None,
) -> None:
    """Write the finance XLSX (订单 and 溯源明细 sheets) for orders created in a date range."""
    from orders.finance.export import export_xlsx

    start, end = date.fromisoformat(from_), date.fromisoformat(to)
    target = out or Path(f"orders-{start}-{end}.xlsx")

    async def body(app: App) -> int:
        n = await export_xlsx(app.db, app.settings.tz, start, end, target)
        err.print(f"{n} orders written to {target}", markup=False, soft_wrap=True)
        return 0

    raise typer.Exit(run(body, needs="orders"))


@cli.command("reconcile")
def reconcile_cmd(
    bank_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="settlement file (CSV/XLSX)")],
    day: Annotated[str, typer.Option("--date", help="settlement day, YYYY-MM-DD")],
    bank: Annotated[str | None, typer.Option("--bank", help="layout in banks.yaml (default: detected)")] = None,
) -> None:
    """Match settlement lines to orders; print and store the day's 日结差异率 and unmatched lines.
    Exit 2 when the file is unusable or more than half its lines match no order (nothing stored)."""
    from orders.finance.bank_files import BankConfig
    from orders.finance.reconcile import reconcile

    async def body(app: App) -> int:
        try:
            res = await reconcile(app.db, app.clock, bank_file, date.fromisoformat(day),
                                  banks=BankConfig.load(app.config), bank=bank)
        except UnusableFile as e:
            err.print(f"{bank_file}: {e}", markup=False, soft_wrap=True)
            return 2
        err.print(f"detected: {bank_file.name}: {res.source}", markup=False, soft_wrap=True)
        typer.echo(res.text())
        return 2 if res.refused else 1 if res.bad_rows else 0

    raise typer.Exit(run(body, needs="orders"))


@cli.command("pull")
def pull_cmd(shop: Annotated[str | None, typer.Option("--shop", help="only this shop")] = None) -> None:
    """Run the platform pulls that are due now (what the scheduler does every few minutes)."""
    from bot.intake_jobs import run_due_pulls

    async def body(app: App) -> int:
        results = await run_due_pulls(app, only=shop, force=shop is not None)
        for r in results:
            typer.echo(r.text())
        return 1 if any(r.error for r in results) else 0

    raise typer.Exit(run(body))
