"""search keys (platform id suffix, phone last 4, name/nick hashes, tracking suffix), carrier
scans, command usage, the latest chat note on the order; backfilled from the existing rows

Revision ID: 0011_search
Revises: 0020_rate_slots
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_search"
down_revision = "0020_rate_slots"
branch_labels = None
depends_on = None

CHUNK = 5000


def upgrade() -> None:
    with op.batch_alter_table("orders") as b:
        b.add_column(sa.Column("channel_order_id_rev", sa.String(64), nullable=False, server_default=""))
        b.add_column(sa.Column("phone_last4", sa.String(4), nullable=False, server_default=""))
        b.add_column(sa.Column("name_hash", sa.String(64), nullable=False, server_default=""))
        b.add_column(sa.Column("nick_hash", sa.String(64), nullable=False, server_default=""))
        b.add_column(sa.Column("staff_note", sa.String(200), nullable=False, server_default=""))
    with op.batch_alter_table("tracking_numbers") as b:
        b.add_column(sa.Column("number_rev", sa.String(64), nullable=False, server_default=""))
    op.create_table(
        "carrier_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("company", sa.String(32), nullable=False),
        sa.Column("event_at", sa.DateTime(), nullable=True),
        sa.Column("event_time", sa.String(32), nullable=False),
        sa.Column("place", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("context", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_scans")),
        sa.UniqueConstraint("digest", name=op.f("uq_carrier_scans_digest")),
    )
    op.create_index("ix_carrier_scans_number_at", "carrier_scans", ["number", "event_at"])
    op.create_table(
        "command_usage",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "command", name=op.f("pk_command_usage")),
    )
    _backfill()
    op.create_index("ix_orders_channel_order_id_rev", "orders", ["channel_order_id_rev"])
    op.create_index("ix_orders_phone_last4_created", "orders", ["phone_last4", "created_at"])
    op.create_index("ix_orders_name_hash_created", "orders", ["name_hash", "created_at"])
    op.create_index("ix_orders_nick_hash_created", "orders", ["nick_hash", "created_at"])
    op.create_index("ix_tracking_numbers_number_rev", "tracking_numbers", ["number_rev"])


def _backfill() -> None:
    """Derive the keys from what is stored: reversed ids, last 4 of the masked phone, name hash
    (keyed, orders.privacy: the one place search hashes are made; names decrypted by their column
    type). Nicknames were never stored."""
    from orders.crypto import EncryptedText
    from orders.privacy import hash_text, phone_last4

    conn = op.get_bind()
    orders = sa.table("orders", sa.column("id"), sa.column("channel_order_id"), sa.column("phone_masked"),
                      sa.column("buyer_name", EncryptedText()), sa.column("channel_order_id_rev"),
                      sa.column("phone_last4"), sa.column("name_hash"))
    last = 0
    while True:
        rows = conn.execute(sa.select(orders.c.id, orders.c.channel_order_id, orders.c.phone_masked,
                                      orders.c.buyer_name).where(orders.c.id > last)
                            .order_by(orders.c.id).limit(CHUNK)).all()
        if not rows:
            break
        conn.execute(orders.update().where(orders.c.id == sa.bindparam("b_id")).values(
            channel_order_id_rev=sa.bindparam("b_rev"), phone_last4=sa.bindparam("b_last4"),
            name_hash=sa.bindparam("b_name")),
            [{"b_id": r.id, "b_rev": (r.channel_order_id or "").upper()[::-1],
              "b_last4": phone_last4(r.phone_masked or ""), "b_name": hash_text("name", r.buyer_name or "")} for r in rows])
        last = rows[-1].id
    tracking = sa.table("tracking_numbers", sa.column("id"), sa.column("number"), sa.column("number_rev"))
    trows = conn.execute(sa.select(tracking.c.id, tracking.c.number)).all()
    if trows:
        conn.execute(tracking.update().where(tracking.c.id == sa.bindparam("b_id")).values(
            number_rev=sa.bindparam("b_rev")), [{"b_id": r.id, "b_rev": (r.number or "").upper()[::-1]} for r in trows])


def downgrade() -> None:
    op.drop_table("command_usage")
    op.drop_index("ix_carrier_scans_number_at", table_name="carrier_scans")
    op.drop_table("carrier_scans")
    op.drop_index("ix_tracking_numbers_number_rev", table_name="tracking_numbers")
    with op.batch_alter_table("tracking_numbers") as b:
        b.drop_column("number_rev")
    for ix in ("ix_orders_channel_order_id_rev", "ix_orders_phone_last4_created", "ix_orders_name_hash_created",
               "ix_orders_nick_hash_created"):
        op.drop_index(ix, table_name="orders")
    with op.batch_alter_table("orders") as b:
        for col in ("channel_order_id_rev", "phone_last4", "name_hash", "nick_hash", "staff_note"):
            b.drop_column(col)
