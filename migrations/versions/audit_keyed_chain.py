"""keyed audit chain: HMAC seals on activity entries, chain heads and editions

Revision ID: audit01
Revises: 1a04a102648a
Create Date: 2026-12-05 18:00:00

Seals every existing entry, head and edition with HMAC-SHA256 under AUDIT_KEY, read the
same way the app reads it (the environment, else ``instance/audit_key``, created once).
Run ``flask --app wsgi audit verify`` and ``editions verify`` for every paper *before*
upgrading: the migration seals what it finds.
"""

import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "audit01"
down_revision = "editor01"
branch_labels = None
depends_on = None


def _key() -> bytes:
    from drafting.config import audit_key

    key = current_app.config.get("AUDIT_KEY") or audit_key(current_app.instance_path)
    return str(key).encode()


def _mac(key: bytes, message: str) -> str:
    # Frozen copy of workflows.activity.keyed: a migration keeps the formula of its time.
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def upgrade():
    with op.batch_alter_table("activity_entry", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mac", sa.String(length=64), server_default="", nullable=False)
        )
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("log_mac", sa.String(length=64), server_default="", nullable=False)
        )
    with op.batch_alter_table("edition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("content_mac", sa.String(length=64), server_default="", nullable=False)
        )

    key = _key()
    conn = op.get_bind()
    entries = sa.table("activity_entry", sa.column("id"), sa.column("hash"), sa.column("mac"))
    for row in conn.execute(sa.select(entries.c.id, entries.c.hash)).all():
        conn.execute(
            entries.update()
            .where(entries.c.id == row.id)
            .values(mac=_mac(key, f"activity-entry:{row.hash}"))
        )
    papers = sa.table(
        "paper", sa.column("id"), sa.column("log_seq"), sa.column("log_head"), sa.column("log_mac")
    )
    for row in conn.execute(
        sa.select(papers.c.id, papers.c.log_seq, papers.c.log_head).where(papers.c.log_seq > 0)
    ).all():
        conn.execute(
            papers.update()
            .where(papers.c.id == row.id)
            .values(log_mac=_mac(key, f"activity-head:{row.id}:{row.log_seq}:{row.log_head}"))
        )
    editions = sa.table(
        "edition",
        sa.column("id"),
        sa.column("paper_id"),
        sa.column("number"),
        sa.column("content_hash"),
        sa.column("content_mac"),
    )
    for row in conn.execute(
        sa.select(editions.c.id, editions.c.paper_id, editions.c.number, editions.c.content_hash)
    ).all():
        conn.execute(
            editions.update()
            .where(editions.c.id == row.id)
            .values(
                content_mac=_mac(key, f"edition:{row.paper_id}:{row.number}:{row.content_hash}")
            )
        )


def downgrade():
    with op.batch_alter_table("edition", schema=None) as batch_op:
        batch_op.drop_column("content_mac")
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.drop_column("log_mac")
    with op.batch_alter_table("activity_entry", schema=None) as batch_op:
        batch_op.drop_column("mac")
