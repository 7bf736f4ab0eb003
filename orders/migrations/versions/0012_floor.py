"""warehouse floor: barcodes, on-duty list, per-line scan progress, report resolution

Revision ID: 0012_floor
Revises: 0017_timeline_cover
"""

import sqlalchemy as sa
from alembic import op

revision = '0012_floor'
down_revision = '0017_timeline_cover'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('barcodes',
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('bin', sa.String(length=32), nullable=False),
    sa.Column('spec', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('barcode', name=op.f('pk_barcodes'))
    )
    with op.batch_alter_table('barcodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_barcodes_sku'), ['sku'], unique=False)
    op.create_table('warehouse_on_duty',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_warehouse_on_duty'))
    )
    with op.batch_alter_table('warehouse_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scanned', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('card_id', sa.String(length=128), server_default='', nullable=False))
        batch_op.add_column(sa.Column('held', sa.String(length=255), server_default='', nullable=False))
    with op.batch_alter_table('exception_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=255), server_default='', nullable=False))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('resolution', sa.String(length=200), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('exception_reports', schema=None) as batch_op:
        batch_op.drop_column('resolution')
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('description')
    with op.batch_alter_table('warehouse_tasks', schema=None) as batch_op:
        batch_op.drop_column('held')
        batch_op.drop_column('card_id')
        batch_op.drop_column('scanned')
    op.drop_table('warehouse_on_duty')
    with op.batch_alter_table('barcodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_barcodes_sku'))
    op.drop_table('barcodes')
