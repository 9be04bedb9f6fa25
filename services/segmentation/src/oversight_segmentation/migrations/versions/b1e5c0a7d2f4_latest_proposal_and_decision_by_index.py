"""the latest proposal and decision of a provider are found by index

Revision ID: b1e5c0a7d2f4
Revises: 5274a8057852
Create Date: 2026-11-23 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b1e5c0a7d2f4"
down_revision: str | None = "5274a8057852"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_segment_proposal_provider_latest", "segment_proposal", ["provider", "proposed_at"])
    op.create_index("ix_segment_decision_provider_latest", "segment_decision", ["provider", "decided_at"])


def downgrade() -> None:
    op.drop_index("ix_segment_decision_provider_latest", table_name="segment_decision")
    op.drop_index("ix_segment_proposal_provider_latest", table_name="segment_proposal")
