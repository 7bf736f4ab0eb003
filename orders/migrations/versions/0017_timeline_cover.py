"""timeline covering index for the region report (state, time, order)

Revision ID: 0017_timeline_cover
Revises: 0013_privacy
"""

from alembic import op

revision = "0017_timeline_cover"
down_revision = "0013_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the region report reads (order, time) of every 物流揽收 / 签收确认 entry in its window from the
    # index alone, without a table lookup per entry
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_state_at_order", ["to_state", "at", "order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_state_at_order")
