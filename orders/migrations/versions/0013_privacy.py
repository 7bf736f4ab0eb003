"""privacy at rest: keyed phone hashes, encrypted names/streets/inbox XML/outbox payloads

Revision ID: 0013_privacy
Revises: 0013_recovery

Converts existing rows with the keys in the environment (orders.crypto): the old unkeyed
SHA-256 phone hashes become HMAC(secret, old hash) and are sealed for later rotations; buyer
names, street addresses, inbox XML and outbox payloads are encrypted; inbox rows already handled
and outbox rows already sent lose their raw message.
"""

import json

import sqlalchemy as sa
from alembic import op

from orders.crypto import encrypt, is_token, keyed_hash

revision = '0013_privacy'
down_revision = '0013_recovery'
branch_labels = None
depends_on = None

ORDERS = sa.table('orders', sa.column('id', sa.Integer), sa.column('buyer_name', sa.Text),
                  sa.column('address_detail', sa.Text), sa.column('phone_hash', sa.String),
                  sa.column('phone_sealed', sa.Text), sa.column('buyer_id_hash', sa.String),
                  sa.column('buyer_id_sealed', sa.Text))
INBOX = sa.table('wecom_inbox', sa.column('id', sa.Integer), sa.column('xml', sa.Text), sa.column('status', sa.String))
OUTBOX = sa.table('outbox', sa.column('id', sa.Integer), sa.column('payload', sa.Text), sa.column('status', sa.String))
CHUNK = 2000


def _chunks(conn: sa.Connection, table: sa.TableClause, *cols: str) -> list[list[sa.Row]]:
    out: list[list[sa.Row]] = []
    last = 0
    while True:
        rows = conn.execute(sa.select(table.c.id, *(table.c[c] for c in cols)).where(table.c.id > last)
                            .order_by(table.c.id).limit(CHUNK)).all()
        if not rows:
            return out
        out.append(list(rows))
        last = rows[-1][0]


def _enc(v: str | None) -> str:
    return encrypt(v) if v and not is_token(v) else (v or "")


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('buyer_name', type_=sa.Text(), existing_type=sa.String(length=64))
        batch_op.alter_column('address_detail', type_=sa.Text(), existing_type=sa.String(length=255))
        batch_op.add_column(sa.Column('phone_sealed', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('buyer_id_sealed', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('payload', type_=sa.Text(), existing_type=sa.JSON(),
                              postgresql_using='payload::text')
    conn = op.get_bind()
    for rows in _chunks(conn, ORDERS, 'buyer_name', 'address_detail', 'phone_hash', 'buyer_id_hash'):
        params = [{"i": r[0], "n": _enc(r[1]), "a": _enc(r[2]),
                   "h": keyed_hash("phone", r[3]) if r[3] else "", "s": encrypt("sha256:" + r[3]) if r[3] else "",
                   "bh": keyed_hash("buyer", r[4]) if r[4] else "", "bs": encrypt("sha256:" + r[4]) if r[4] else ""}
                  for r in rows]
        conn.execute(ORDERS.update().where(ORDERS.c.id == sa.bindparam("i"))
                     .values(buyer_name=sa.bindparam("n"), address_detail=sa.bindparam("a"),
                             phone_hash=sa.bindparam("h"), phone_sealed=sa.bindparam("s"),
                             buyer_id_hash=sa.bindparam("bh"), buyer_id_sealed=sa.bindparam("bs")), params)
    for rows in _chunks(conn, INBOX, 'xml', 'status'):
        params = [{"i": r[0], "x": "" if r[2] == "done" else _enc(r[1])} for r in rows]
        conn.execute(INBOX.update().where(INBOX.c.id == sa.bindparam("i")).values(xml=sa.bindparam("x")), params)
    for rows in _chunks(conn, OUTBOX, 'payload', 'status'):
        params = []
        for i, payload, status in rows:
            p = json.loads(payload) if isinstance(payload, str) and payload.startswith("{") else None
            if p is None:
                continue  # already encrypted
            if status == "sent":
                p = {k: v for k, v in p.items() if k == "response_code"}
            text = json.dumps(p, ensure_ascii=False, separators=(",", ":"))
            params.append({"i": i, "p": encrypt(text) if p else text})
        if params:
            conn.execute(OUTBOX.update().where(OUTBOX.c.id == sa.bindparam("i")).values(payload=sa.bindparam("p")),
                         params)


def downgrade() -> None:
    raise NotImplementedError("0013_privacy cannot be undone: the old unkeyed hashes are not kept")
