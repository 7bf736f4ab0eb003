"""customer value pool, order look-ups for the collaboration map, buyer id hash, day indexes

Revision ID: 0018_customers
Revises: 0015_aftersales_types
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_customers"
down_revision = "0015_aftersales_types"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as b:
        b.add_column(sa.Column("buyer_id_hash", sa.String(64), nullable=False, server_default=""))
        b.create_index("ix_orders_created_at", ["created_at"])
        b.create_index("ix_orders_paid_at", ["paid_at"])
    op.create_table(
        "customer_pool",
        sa.Column("buyer_key", sa.String(80), nullable=False),
        sa.Column("last_order_id", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("recency_days", sa.Float(), nullable=False),
        sa.Column("interval_std_days", sa.Float(), nullable=True),
        sa.Column("interval_cv", sa.Float(), nullable=True),
        sa.Column("channels", sa.String(120), nullable=False),
        sa.Column("channel_from", sa.String(20), nullable=False),
        sa.Column("channel_to", sa.String(20), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=True),
        sa.Column("segment", sa.String(16), nullable=False),
        sa.Column("high_potential", sa.Boolean(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("buyer_key", name=op.f("pk_customer_pool")),
    )
    op.create_index("ix_customer_pool_segment", "customer_pool", ["segment", "amount_fen"])
    op.create_table(
        "customer_pool_sizes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("segment", sa.String(16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_pool_sizes")),
        sa.UniqueConstraint("day", "segment", name="uq_customer_pool_sizes_day_segment"),
    )
    op.create_table(
        "order_asks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("command", sa.String(8), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("state_since", sa.DateTime(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_asks_order_id_orders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_asks")),
    )
    op.create_index("ix_order_asks_at", "order_asks", ["at"])


def downgrade() -> None:
    op.drop_index("ix_order_asks_at", table_name="order_asks")
    op.drop_table("order_asks")
    op.drop_table("customer_pool_sizes")
    op.drop_index("ix_customer_pool_segment", table_name="customer_pool")
    op.drop_table("customer_pool")
    with op.batch_alter_table("orders") as b:
        b.drop_index("ix_orders_paid_at")
        b.drop_index("ix_orders_created_at")
        b.drop_column("buyer_id_hash")
