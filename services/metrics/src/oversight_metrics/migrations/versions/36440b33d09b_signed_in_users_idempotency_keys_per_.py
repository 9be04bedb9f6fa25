"""signed-in users: idempotency keys per caller, actors

Revision ID: 36440b33d09b
Revises: 4286367b3473
Create Date: 2026-11-23 15:51:10.994285
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
import oversight_runtime.storage
from oversight_runtime.migrations import actor_columns, idempotency_keys_per_caller


revision: str = '36440b33d09b'
down_revision: str | None = '4286367b3473'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency_keys_per_caller()


def downgrade() -> None:
    raise NotImplementedError("signed-in users cannot be undone: restore a backup taken before this revision")
