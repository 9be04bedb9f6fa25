"""outbox rows that can never be published are parked

Revision ID: d74f48e0ddf6
Revises: 36440b33d09b
Create Date: 2026-11-23 17:08:10.121948
"""

from collections.abc import Sequence

from oversight_runtime.migrations import outbox_rows_can_be_parked, outbox_rows_cannot_be_parked


revision: str = 'd74f48e0ddf6'
down_revision: str | None = '36440b33d09b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_rows_can_be_parked()


def downgrade() -> None:
    outbox_rows_cannot_be_parked()
