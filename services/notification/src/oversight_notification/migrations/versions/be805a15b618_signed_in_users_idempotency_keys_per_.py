"""signed-in users: idempotency keys per caller, actors

Revision ID: be805a15b618
Revises: 0a5bcde09a4d
Create Date: 2026-11-23 15:51:17.367049
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
import oversight_runtime.storage
from oversight_runtime.migrations import actor_columns, idempotency_keys_per_caller


revision: str = 'be805a15b618'
down_revision: str | None = '0a5bcde09a4d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency_keys_per_caller()


def downgrade() -> None:
    raise NotImplementedError("signed-in users cannot be undone: restore a backup taken before this revision")
