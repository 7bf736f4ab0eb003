"""timeline: drop ix_timeline_to_state_at, a prefix of ix_timeline_state_at_order (0017), which
serves the same lookups; one index fewer to write per timeline row

Revision ID: 0028_timeline_prefix_index
Revises: 0021_search_cover
"""

from alembic import op

revision = "0028_timeline_prefix_index"
down_revision = "0021_search_cover"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_timeline_to_state_at", table_name="timeline_events")


def downgrade() -> None:
    op.create_index("ix_timeline_to_state_at", "timeline_events", ["to_state", "at"])
