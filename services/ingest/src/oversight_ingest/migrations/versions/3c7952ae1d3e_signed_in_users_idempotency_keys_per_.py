"""signed-in users: idempotency keys per caller, actors

Revision ID: 3c7952ae1d3e
Revises: 46d64c9e343b
Create Date: 2026-11-23 15:51:08.829209
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
import oversight_runtime.storage
from oversight_runtime.migrations import actor_columns, idempotency_keys_per_caller


revision: str = '3c7952ae1d3e'
down_revision: str | None = '46d64c9e343b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency_keys_per_caller()
    actor_columns("exception_report", free_text_column="reported_by")
    actor_columns("submission", free_text_column="submitted_by")
    actor_columns("provider_facts_entry", free_text_column="recorded_by")
    actor_columns("material_concern", free_text_column="raised_by")


def downgrade() -> None:
    raise NotImplementedError("signed-in users cannot be undone: restore a backup taken before this revision")
