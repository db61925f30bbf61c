"""Site studies in the service.

* ``studies``: a submitted study (document, status, case counts, the
  instance running it).
* ``study_cases``: one row per case with the key of its input, its status
  and its results (KPIs, Sankey links, hourly series).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
STATUSES = "status IN ('queued', 'running', 'done', 'failed', 'cancelled')"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("executor", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cases_total", sa.Integer(), nullable=False),
        sa.Column("cases_done", sa.Integer(), nullable=False),
        sa.Column("cases_failed", sa.Integer(), nullable=False),
        sa.Column("cases_reused", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("started_at", _utc(), nullable=True),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("instance_id", sa.String(64), nullable=True),
        sa.CheckConstraint(STATUSES, name=op.f("ck_studies_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
    )
    op.create_index("ix_studies_status_created_at", "studies", ["status", "created_at"])
    op.create_table(
        "study_cases",
        sa.Column("study_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(201), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("kpis", JSON, nullable=True),
        sa.Column("flows", JSON, nullable=True),
        sa.Column("series", JSON, nullable=True),
        sa.CheckConstraint("status IN ('done', 'failed')", name=op.f("ck_study_cases_status")),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_study_cases_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("study_id", "name", name=op.f("pk_study_cases")),
    )
    op.create_index("ix_study_cases_key", "study_cases", ["key"])


def downgrade() -> None:
    op.drop_index("ix_study_cases_key", table_name="study_cases")
    op.drop_table("study_cases")
    op.drop_index("ix_studies_status_created_at", table_name="studies")
    op.drop_table("studies")
