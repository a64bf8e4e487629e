"""suggestions accepted in part: status partly_accepted and the decided change ids

Revision ID: editor01
Revises: 1a04a102648a
Create Date: 2026-12-05 18:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'editor01'
down_revision = "auth01"
branch_labels = None
depends_on = None

_CHECK = "ck_suggestion_suggestion_status"


def upgrade():
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_changes', sa.JSON(), nullable=True))
        batch_op.drop_constraint(op.f(_CHECK), type_='check')
        batch_op.create_check_constraint(
            op.f(_CHECK), "status IN ('open', 'accepted', 'partly_accepted', 'rejected')"
        )


def downgrade():
    op.execute("UPDATE suggestion SET status = 'accepted' WHERE status = 'partly_accepted'")
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CHECK), type_='check')
        batch_op.create_check_constraint(op.f(_CHECK), "status IN ('open', 'accepted', 'rejected')")
        batch_op.drop_column('decided_changes')
