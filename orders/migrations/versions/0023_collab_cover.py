"""covering indexes for the collaboration report (state changes and look-ups in a window);
customer pool keyed by a row id (one B-tree less to fill at each rebuild)

Revision ID: 0023_collab_cover
Revises: 0024_cache_versions
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_collab_cover"
down_revision = "0024_cache_versions"
branch_labels = None
depends_on = None

POOL_COLUMNS = ("buyer_key, last_order_id, orders, amount_fen, recency_days, interval_std_days, interval_cv, channels, "
                "channel_from, channel_to, cases, tolerance, segment, high_potential, built_at")


def _pool_table(name: str, *, by_id: bool) -> None:
    key = [sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)] if by_id else []
    op.create_table(
        name,
        *key,
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
        sa.PrimaryKeyConstraint("id" if by_id else "buyer_key", name="pk_customer_pool"),
    )


def _rebuild_pool(*, by_id: bool) -> None:
    op.execute(f"CREATE TABLE customer_pool_copy AS SELECT {POOL_COLUMNS} FROM customer_pool")
    op.drop_index("ix_customer_pool_segment", table_name="customer_pool")
    op.drop_table("customer_pool")
    _pool_table("customer_pool", by_id=by_id)
    op.create_index("ix_customer_pool_segment", "customer_pool", ["segment", "amount_fen"])
    op.execute(f"INSERT INTO customer_pool ({POOL_COLUMNS}) SELECT {POOL_COLUMNS} FROM customer_pool_copy")
    op.drop_table("customer_pool_copy")


def upgrade() -> None:
    # the collaboration report reads every state change in its window (order, time, from, to) and
    # every look-up (order, department, state, since) from these indexes alone, without a table
    # lookup per row (a month: 400,000 state changes)
    moves = sa.text("to_state IS NOT NULL")
    op.create_index("ix_timeline_moves", "timeline_events", ["at", "order_id", "id", "from_state", "to_state"],
                    unique=False, sqlite_where=moves, postgresql_where=moves)
    op.create_index("ix_order_asks_rule", "order_asks", ["at", "order_id", "id", "department", "state", "state_since"],
                    unique=False)
    # the pool is derived data, stored whole at each build: keyed by a row id (SQLite appends to the
    # table B-tree) instead of the buyer key (a second B-tree filled at random places); rows kept
    _rebuild_pool(by_id=True)


def downgrade() -> None:
    _rebuild_pool(by_id=False)
    op.drop_index("ix_order_asks_rule", table_name="order_asks")
    op.drop_index("ix_timeline_moves", table_name="timeline_events")
