"""``orderbot serve`` (WeCom callback server + outbox worker) and ``orderbot outbox``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import select, update

from bot.cli.common import cli, dispatcher, err, run
from orders.app import App
from orders.outbox import OUTBOX_STATUSES as STATUSES
from orders.outbox import OutboxMessage

# what the worker wrote on rows a crash interrupted before 0013_recovery: they may have arrived
MAYBE_DELIVERED = "interrupted while sending: delivery unknown"


@cli.command()
def serve(
    workers: Annotated[int, typer.Option(min=1, max=64, help="processes sharing the port (SO_REUSEPORT) and the "
                                                             "inbox (claims); a parent supervises them")] = 1,
    reuse_port: Annotated[bool, typer.Option("--reuse-port", help="bind with SO_REUSEPORT (what each of "
                                                                  "--workers does)")] = False,
) -> None:
    """Serve the WeCom callback and the carrier/platform pushes (ORDERBOT_HTTP_HOST:ORDERBOT_HTTP_PORT),
    deliver the outbox, run the scheduler (escalations, digests, pulls) and the speech pool.
    Needs WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN, WECOM_AES_KEY and ORDERBOT_SECRET_KEY."""
    from bot.wecom.crypto import CallbackCrypto
    from bot.wecom.runner import serve as serve_forever
    from orders import crypto

    async def body(app: App) -> int:
        s = app.settings
        missing = [n for n, v in (("WECOM_CORP_ID", s.wecom_corp_id), ("WECOM_AGENT_ID", s.wecom_agent_id),
                                  ("WECOM_SECRET", s.wecom_secret), ("WECOM_TOKEN", s.wecom_token),
                                  ("WECOM_AES_KEY", s.wecom_aes_key)) if not v]
        if crypto.secret_missing():  # personal data would be kept under the public demo key
            missing.append(crypto.ENV_SECRET)
        if missing:
            err.print(f"missing settings: {', '.join(missing)}", markup=False)
            return 2
        try:  # the crypto's own check (the 43-character EncodingAESKey), before anything starts
            CallbackCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id)
        except ValueError as e:
            err.print(str(e), markup=False)
            return 2
        if workers > 1:  # the parent migrated the database (build_app) before any child starts
            from bot.wecom.workers import supervise

            return await supervise(workers)
        await serve_forever(app, dispatcher(app), reuse_port=reuse_port)
        return 0

    raise typer.Exit(run(body))


@cli.command()
def outbox(
    status: Annotated[str, typer.Option(help="pending, sending, dead, sent or all")] = "open",
    limit: Annotated[int, typer.Option(help="rows to show")] = 50,
    retry: Annotated[int | None, typer.Option("--retry", help="queue a dead row again by id")] = None,
    retry_dead: Annotated[bool, typer.Option("--retry-dead", help="queue every dead row again (never one that "
                                                               "was or may have been delivered)")] = False,
) -> None:
    """List outgoing messages not yet delivered (pending, sending and dead), or retry dead ones."""

    async def body(app: App) -> int:
        now = app.clock.now()
        async with app.db.session() as s:
            if retry is not None or retry_dead:
                q = update(OutboxMessage).where(OutboxMessage.status == "dead", OutboxMessage.msgid == "")
                if retry is not None:
                    q = q.where(OutboxMessage.id == retry)
                else:  # never resend in bulk what may have been delivered (old rows from before 0013)
                    q = q.where(OutboxMessage.last_error.not_like(f"{MAYBE_DELIVERED}%"))
                res = await s.execute(q.values(status="pending", attempts=0, next_attempt_at=now, last_error="")
                                      .returning(OutboxMessage.id))
                ids = list(res.scalars().all())
                if not ids:
                    err.print("no dead row to retry" + (f" with id {retry}" if retry is not None else ""))
                    return 1
                typer.echo(f"queued again: {', '.join(map(str, ids))} (a running `orderbot serve` sends them)")
                return 0
            wanted = {"open": ("pending", "sending", "dead"), "all": STATUSES}.get(status, (status,))
            if not set(wanted) <= set(STATUSES):
                err.print(f"unknown status {status!r}; use open, all or one of {', '.join(STATUSES)}")
                return 2
            rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(wanted))
                                    .order_by(OutboxMessage.id.desc()).limit(limit))).all()
        for r in reversed(rows):
            due = r.next_attempt_at - now
            when = "due now" if due <= timedelta(0) else f"in {int(due.total_seconds())}s"
            detail = r.last_error[:80] if r.status == "dead" else when
            typer.echo(f"{r.id}\t{r.status}\t{r.channel}:{r.msgtype}\tto {r.target[:40]}\t"
                       f"attempts {r.attempts}\t{detail}")
        if not rows:
            typer.echo("nothing " + ("open" if status == "open" else status))
        return 0

    raise typer.Exit(run(body, needs="db"))
