"""suggestions of new, removed and moved sections (an import into a paper)

Revision ID: sectsugg01
Revises: accounts02
Create Date: 2026-12-05 23:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "sectsugg01"
down_revision = "accounts02"
branch_labels = None
depends_on = None

KINDS = ("text", "new_section", "remove_section", "move_section")


def upgrade():
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    *KINDS,
                    name="suggestion_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="text",
            )
        )
        batch_op.add_column(sa.Column("level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("after_section_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_suggestion_after_section_id_section", "section", ["after_section_id"], ["id"]
        )
        batch_op.alter_column("section_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Suggestions of new sections have no section: they cannot survive the old schema.
    op.execute("DELETE FROM suggestion WHERE kind <> 'text'")
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.alter_column("section_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("fk_suggestion_after_section_id_section", type_="foreignkey")
        batch_op.drop_column("after_section_id")
        batch_op.drop_column("level")
        batch_op.drop_constraint(op.f("ck_suggestion_suggestion_kind"), type_="check")
        batch_op.drop_column("kind")
