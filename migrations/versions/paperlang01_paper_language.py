"""the language a paper is written in

Revision ID: paperlang01
Revises: searchnarrow01
Create Date: 2026-12-06 03:20:00

The Word export took its fixed words, language tag and hyphenation from the interface
language of the paper's creator, which changes whenever that person switches the interface.
A paper now has its own language; existing papers keep what their exports had: the creator's
interface language at the time of the upgrade (German when it is neither de nor en).
"""

import sqlalchemy as sa
from alembic import op

revision = "paperlang01"
down_revision = "searchnarrow01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), server_default="de", nullable=False)
        )
    op.execute(
        "UPDATE paper SET language = 'en' WHERE created_by_id IN"
        " (SELECT id FROM user_account WHERE locale = 'en')"
    )


def downgrade():
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.drop_column("language")
