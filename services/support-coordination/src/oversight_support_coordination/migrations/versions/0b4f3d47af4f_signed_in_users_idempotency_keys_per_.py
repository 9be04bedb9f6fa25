"""signed-in users: idempotency keys per caller, actors

Revision ID: 0b4f3d47af4f
Revises: 46c54ade2b40
Create Date: 2026-11-23 15:51:15.276382
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
import oversight_runtime.storage
from oversight_runtime.migrations import actor_columns, idempotency_keys_per_caller


revision: str = '0b4f3d47af4f'
down_revision: str | None = '46c54ade2b40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency_keys_per_caller()


def downgrade() -> None:
    raise NotImplementedError("signed-in users cannot be undone: restore a backup taken before this revision")
