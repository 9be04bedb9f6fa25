"""old inbox, outbox and idempotency rows are purged: index their ages

Revision ID: 5274a8057852
Revises: f63783e0c02f
Create Date: 2026-11-23 18:37:46.682525
"""

from collections.abc import Sequence

from oversight_runtime.migrations import retention_purge_is_indexed, retention_purge_is_not_indexed


revision: str = '5274a8057852'
down_revision: str | None = 'f63783e0c02f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    retention_purge_is_indexed()


def downgrade() -> None:
    retention_purge_is_not_indexed()
