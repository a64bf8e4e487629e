"""SQLite: a covering index of the search entries' ranking columns

Revision ID: searchnarrow01
Revises: sectsugg01
Create Date: 2026-12-06 02:30:00

Search on SQLite ranks its matches from this index instead of the wide search_entry rows
(workflows.search.NARROW_INDEX). PostgreSQL ranks from its GIN index and needs nothing.
"""

from alembic import op

revision = "searchnarrow01"
down_revision = "sectsugg01"
branch_labels = None
depends_on = None

# The same statement as in drafting.models.SEARCH_DDL (copied: a migration must not change
# when the models do).
CREATE = (
    "CREATE INDEX IF NOT EXISTS ix_search_entry_narrow"
    " ON search_entry (id, kind, paper_id, organisation_id, created_at)"
)


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(CREATE)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_search_entry_narrow")
