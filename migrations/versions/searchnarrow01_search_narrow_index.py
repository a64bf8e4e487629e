"""search entries: a covering index for SQLite's ranking; the section index with the kind

Revision ID: searchnarrow01
Revises: sectsugg01
Create Date: 2026-12-06 02:30:00

Search on SQLite ranks its matches from ix_search_entry_narrow instead of the wide
search_entry rows (workflows.search.NARROW_INDEX); PostgreSQL ranks from its GIN index and
needs nothing. ix_search_entry_section gains the kind on both backends, so that a save finds
the section's current entry by one seek instead of reading every entry of the section.
"""

from alembic import op

revision = "searchnarrow01"
down_revision = "sectsugg01"
branch_labels = None
depends_on = None

# The same statement as in drafting.models.SEARCH_DDL (copied: a migration must not change
# when the models do).
CREATE_NARROW = (
    "CREATE INDEX IF NOT EXISTS ix_search_entry_narrow"
    " ON search_entry (id, kind, paper_id, organisation_id, created_at)"
)


def upgrade():
    op.drop_index("ix_search_entry_section", table_name="search_entry")
    op.create_index("ix_search_entry_section", "search_entry", ["section_id", "kind"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(CREATE_NARROW)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_search_entry_narrow")
    op.drop_index("ix_search_entry_section", table_name="search_entry")
    op.create_index("ix_search_entry_section", "search_entry", ["section_id"])
