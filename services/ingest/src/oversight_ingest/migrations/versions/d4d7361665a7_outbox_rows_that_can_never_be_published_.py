"""outbox rows that can never be published are parked

Revision ID: d4d7361665a7
Revises: 3c7952ae1d3e
Create Date: 2026-11-23 17:08:07.910686
"""

from collections.abc import Sequence

from oversight_runtime.migrations import outbox_rows_can_be_parked, outbox_rows_cannot_be_parked


revision: str = 'd4d7361665a7'
down_revision: str | None = '3c7952ae1d3e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_rows_can_be_parked()


def downgrade() -> None:
    outbox_rows_cannot_be_parked()
