"""co-author of versions, paper creation per organisation

Revision ID: rules01
Revises: 1a04a102648a
Create Date: 2026-12-05 17:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "rules01"
down_revision = "search01"
branch_labels = None
depends_on = None


def upgrade():
    # Who else's text a version holds (the suggester when an editor resolved a conflict).
    with op.batch_alter_table("section_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coauthor_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_section_version_coauthor_id_user_account",
            "user_account",
            ["coauthor_id"],
            ["id"],
        )
    # Default: every organisation may create papers, as before.
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "may_create_papers", sa.Boolean(), server_default=sa.true(), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("may_create_papers")
    with op.batch_alter_table("section_version", schema=None) as batch_op:
        batch_op.drop_constraint("fk_section_version_coauthor_id_user_account", type_="foreignkey")
        batch_op.drop_column("coauthor_id")
