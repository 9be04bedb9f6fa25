"""outbox rows that can never be published are parked

Revision ID: 28ea9e033c3e
Revises: be805a15b618
Create Date: 2026-11-23 17:08:16.643376
"""

from collections.abc import Sequence

from oversight_runtime.migrations import outbox_rows_can_be_parked, outbox_rows_cannot_be_parked


revision: str = '28ea9e033c3e'
down_revision: str | None = 'be805a15b618'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_rows_can_be_parked()


def downgrade() -> None:
    outbox_rows_cannot_be_parked()
