"""Plant planning options and the job table of the daily-planning scheduler.

* ``plants.options``: how the plant is planned every day (time step, horizon,
  forecasts, input replay, measurement ages), JSON; NULL means the defaults.
* ``apscheduler_jobs``: APScheduler's SQLAlchemy job store (one row per plant
  job, its next run time and pickled state), created here so that every table
  of the service comes from a migration. Its columns are the ones APScheduler
  3.x declares.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("plants", sa.Column("options", JSON, nullable=True))
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), nullable=False),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    op.create_index(
        op.f("ix_apscheduler_jobs_next_run_time"), "apscheduler_jobs", ["next_run_time"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_apscheduler_jobs_next_run_time"), table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
    with op.batch_alter_table("plants") as batch:
        batch.drop_column("options")
