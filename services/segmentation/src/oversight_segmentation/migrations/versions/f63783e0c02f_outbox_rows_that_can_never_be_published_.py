"""outbox rows that can never be published are parked

Revision ID: f63783e0c02f
Revises: 93fb5d86abb7
Create Date: 2026-11-23 17:08:12.386734
"""

from collections.abc import Sequence

from oversight_runtime.migrations import outbox_rows_can_be_parked, outbox_rows_cannot_be_parked


revision: str = 'f63783e0c02f'
down_revision: str | None = '93fb5d86abb7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_rows_can_be_parked()


def downgrade() -> None:
    outbox_rows_cannot_be_parked()
