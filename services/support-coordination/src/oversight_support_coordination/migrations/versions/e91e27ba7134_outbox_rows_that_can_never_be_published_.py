"""outbox rows that can never be published are parked

Revision ID: e91e27ba7134
Revises: 0b4f3d47af4f
Create Date: 2026-11-23 17:08:14.518956
"""

from collections.abc import Sequence

from oversight_runtime.migrations import outbox_rows_can_be_parked, outbox_rows_cannot_be_parked


revision: str = 'e91e27ba7134'
down_revision: str | None = '0b4f3d47af4f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_rows_can_be_parked()


def downgrade() -> None:
    outbox_rows_cannot_be_parked()
