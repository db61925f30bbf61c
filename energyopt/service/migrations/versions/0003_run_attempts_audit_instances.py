"""Run attempts and cancelling, the audit log, service instances and planning claims.

* ``runs.attempts``: how many times a worker claimed the run (a run whose
  worker died is retried once); ``runs.instance_id``: the service instance
  whose worker claimed it last; ``cancelled`` joins the run statuses.
* ``audit_log``: who cancelled or deleted a run, and when.
* ``instances``: service instances sharing the database, with their
  heartbeat (runs of a silent instance are taken over).
* ``planning_claims``: one row per plant and planning instant, inserted by the
  instance that plans it, so two instances never plan the same instant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('queued', 'running', 'done', 'failed')"
NEW_STATUSES = "status IN ('queued', 'running', 'done', 'failed', 'cancelled')"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _runs_check(condition: str) -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("ck_runs_status"), type_="check")
        batch.create_check_constraint(op.f("ck_runs_status"), condition)


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("instance_id", sa.String(64), nullable=True))
    _runs_check(NEW_STATUSES)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_prefix", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("object", sa.String(100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "instances",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("heartbeat_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    op.create_table(
        "planning_claims",
        sa.Column("plant_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", _utc(), nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plant_id"],
            ["plants.id"],
            name=op.f("fk_planning_claims_plant_id_plants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plant_id", "issued_at", name=op.f("pk_planning_claims")),
    )


def downgrade() -> None:
    op.drop_table("planning_claims")
    op.drop_table("instances")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.execute("UPDATE runs SET status = 'failed' WHERE status = 'cancelled'")
    _runs_check(OLD_STATUSES)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("instance_id")
        batch.drop_column("attempts")
