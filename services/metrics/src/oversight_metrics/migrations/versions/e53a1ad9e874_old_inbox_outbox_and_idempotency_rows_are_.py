"""old inbox, outbox and idempotency rows are purged: index their ages

Revision ID: e53a1ad9e874
Revises: d74f48e0ddf6
Create Date: 2026-11-23 18:37:46.682525
"""

from collections.abc import Sequence

from oversight_runtime.migrations import retention_purge_is_indexed, retention_purge_is_not_indexed


revision: str = 'e53a1ad9e874'
down_revision: str | None = 'd74f48e0ddf6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    retention_purge_is_indexed()


def downgrade() -> None:
    retention_purge_is_not_indexed()
