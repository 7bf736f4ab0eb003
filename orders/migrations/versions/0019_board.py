"""board: timeline rows by kind (the risk page lists flagged orders newest first)

Revision ID: 0019_board
Revises: 0005_tasks
"""

from alembic import op

revision = '0019_board'
down_revision = '0005_tasks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_timeline_kind_at', 'timeline_events', ['kind', 'at'])


def downgrade() -> None:
    op.drop_index('ix_timeline_kind_at', table_name='timeline_events')
