"""a need keeps every trigger code and id as a list, not a comma-joined text cut at 64/200 characters

Revision ID: d7a1c3e5b9f2
Revises: ab58d078f29a
Create Date: 2026-11-23 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd7a1c3e5b9f2'
down_revision: str | None = 'ab58d078f29a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEEDS = sa.table(
    "support_case_need",
    sa.column("need_id", sa.Uuid()),
    sa.column("trigger_code", sa.String()),
    sa.column("trigger_id", sa.String()),
    sa.column("trigger_codes", sa.JSON()),
    sa.column("trigger_ids", sa.JSON()),
)


def _split(text: str | None) -> list[str]:
    """The whole values of a joined text; one cut short at the old length limit is dropped."""
    return [v for v in (text or "").split(",") if v and v != "unknown"]


def upgrade() -> None:
    with op.batch_alter_table('support_case_need', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger_codes', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('trigger_ids', sa.JSON(), nullable=False, server_default='[]'))
    connection = op.get_bind()
    for need in connection.execute(sa.select(NEEDS)).all():
        ids = [i for i in _split(need.trigger_id) if len(i) == 36]  # a UUID's full length
        connection.execute(
            NEEDS.update()
            .where(NEEDS.c.need_id == need.need_id)
            .values(trigger_codes=_split(need.trigger_code), trigger_ids=ids)
        )
    with op.batch_alter_table('support_case_need', schema=None) as batch_op:
        batch_op.drop_column('trigger_code')
        batch_op.drop_column('trigger_id')


def downgrade() -> None:
    with op.batch_alter_table('support_case_need', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger_code', sa.String(length=64), nullable=False, server_default='unknown'))
        batch_op.add_column(sa.Column('trigger_id', sa.String(length=200), nullable=False, server_default=''))
        batch_op.drop_column('trigger_ids')
        batch_op.drop_column('trigger_codes')
