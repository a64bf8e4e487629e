"""presence: who has a section's editor open (when no Redis is configured)

Revision ID: presence01
Revises: docmodel01
Create Date: 2026-12-05 21:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "presence01"
down_revision = "docmodel01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "presence",
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("organisation", sa.String(length=50), nullable=False),
        sa.Column("editing", sa.Boolean(), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("seen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("section_id", "user_id", name=op.f("pk_presence")),
    )
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_presence_paper_id"), ["paper_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_presence_seen"), ["seen"], unique=False)


def downgrade():
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presence_seen"))
        batch_op.drop_index(batch_op.f("ix_presence_paper_id"))
    op.drop_table("presence")
