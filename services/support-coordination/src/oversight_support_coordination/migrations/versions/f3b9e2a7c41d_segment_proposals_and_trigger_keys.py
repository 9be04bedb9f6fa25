"""each provider's latest segment proposal (its pathway gives drafts' exit criteria); a trigger keeps its own key

Revision ID: f3b9e2a7c41d
Revises: d7a1c3e5b9f2
Create Date: 2026-11-23 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import oversight_runtime.storage

revision: str = 'f3b9e2a7c41d'
down_revision: str | None = 'd7a1c3e5b9f2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('provider_proposal',
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('proposal_id', sa.Uuid(), nullable=False),
    sa.Column('proposed_segment', sa.Integer(), nullable=False),
    sa.Column('pathway', sa.JSON(), nullable=False),
    sa.Column('proposed_at', oversight_runtime.storage.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('provider')
    )
    with op.batch_alter_table('provider_trigger', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('provider_trigger', schema=None) as batch_op:
        batch_op.drop_column('trigger_key')
    op.drop_table('provider_proposal')
