"""covering indexes for the collaboration report (state changes and look-ups in a window)

Revision ID: 0023_collab_cover
Revises: 0011_search
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_collab_cover"
down_revision = "0011_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the collaboration report reads every state change in its window (order, time, from, to) and
    # every look-up (order, department, state, since) from these indexes alone, without a table
    # lookup per row (a month: 400,000 state changes)
    moves = sa.text("to_state IS NOT NULL")
    op.create_index("ix_timeline_moves", "timeline_events", ["at", "order_id", "id", "from_state", "to_state"],
                    unique=False, sqlite_where=moves, postgresql_where=moves)
    op.create_index("ix_order_asks_rule", "order_asks", ["at", "order_id", "id", "department", "state", "state_since"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_order_asks_rule", table_name="order_asks")
    op.drop_index("ix_timeline_moves", table_name="timeline_events")
