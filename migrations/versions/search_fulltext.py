"""full-text search index

Revision ID: search01
Revises: 1a04a102648a
Create Date: 2026-12-05 18:20:00

The index rows are written by the app on every save; fill them for existing data with
``flask --app wsgi search reindex`` after upgrading.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'search01'
down_revision = "audit01"
branch_labels = None
depends_on = None

# The same statements as drafting.models.SEARCH_DDL (copied: a migration must not change
# when the models do).
SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title_terms, body_terms,"
    " content='search_entry', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER IF NOT EXISTS search_entry_ai AFTER INSERT ON search_entry BEGIN"
    " INSERT INTO search_fts(rowid, title_terms, body_terms)"
    " VALUES (new.id, new.title_terms, new.body_terms); END",
    "CREATE TRIGGER IF NOT EXISTS search_entry_ad AFTER DELETE ON search_entry BEGIN"
    " INSERT INTO search_fts(search_fts, rowid, title_terms, body_terms)"
    " VALUES ('delete', old.id, old.title_terms, old.body_terms); END",
    "CREATE TRIGGER IF NOT EXISTS search_entry_au AFTER UPDATE OF title_terms, body_terms"
    " ON search_entry BEGIN"
    " INSERT INTO search_fts(search_fts, rowid, title_terms, body_terms)"
    " VALUES ('delete', old.id, old.title_terms, old.body_terms);"
    " INSERT INTO search_fts(rowid, title_terms, body_terms)"
    " VALUES (new.id, new.title_terms, new.body_terms); END",
]
POSTGRESQL = [
    "ALTER TABLE search_entry ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, title_terms), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, body_terms), 'D')) STORED",
    "CREATE INDEX ix_search_entry_tsv ON search_entry USING gin (tsv)",
]


def upgrade():
    op.create_table('search_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('title_terms', sa.Text(), nullable=False),
    sa.Column('body_terms', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_search_entry_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['paper_id'], ['paper.id'], name=op.f('fk_search_entry_paper_id_paper')),
    sa.ForeignKeyConstraint(['section_id'], ['section.id'], name=op.f('fk_search_entry_section_id_section')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entry')),
    sa.UniqueConstraint('source', 'source_id', name=op.f('uq_search_entry_source_source_id'))
    )
    with op.batch_alter_table('search_entry', schema=None) as batch_op:
        batch_op.create_index('ix_search_entry_paper', ['paper_id'], unique=False)
        batch_op.create_index('ix_search_entry_section', ['section_id'], unique=False)
    statements = SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table('search_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_search_entry_section')
        batch_op.drop_index('ix_search_entry_paper')
    op.drop_table('search_entry')
