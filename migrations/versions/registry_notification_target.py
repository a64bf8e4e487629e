"""notification target: what a notification leads to, instead of a stored link

Revision ID: registry01
Revises: rules01
Create Date: 2026-12-05 19:00:00

"""
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "registry01"
down_revision = "rules01"
branch_labels = None
depends_on = None

# The links workflows/ used to store, and the target each one names.
PATTERNS = [
    (re.compile(r"/sections/(\d+)/comments#comment-(\d+)$"), "comment", 2),
    (re.compile(r"/suggestions/(\d+)$"), "suggestion", 1),
    (re.compile(r"/papers/(\d+)/signoff$"), "signoff", None),
    (re.compile(r"/papers/(\d+)/editions/(\d+)$"), "edition", 2),
    (re.compile(r"/papers/(\d+)#section-(\d+)$"), "section", None),
]

notification = sa.table(
    "notification",
    sa.column("id", sa.Integer),
    sa.column("paper_id", sa.Integer),
    sa.column("section_id", sa.Integer),
    sa.column("url", sa.String),
    sa.column("target", sa.String),
    sa.column("target_id", sa.Integer),
)


def target_of(url):
    """Return (target, target_id) for a stored link, or None for one of no known shape."""
    for pattern, target, group in PATTERNS:
        found = pattern.search(url or "")
        if found:
            return target, int(found.group(group)) if group else None
    return None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("target", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("target_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(notification.c.id, notification.c.url).where(notification.c.url != "")
    ).all()
    for ident, url in rows:
        found = target_of(url)
        if found is None:
            continue  # kept as a link: the web layer still follows local paths
        bind.execute(
            notification.update()
            .where(notification.c.id == ident)
            .values(target=found[0], target_id=found[1], url="")
        )


def link_of(target, target_id, paper_id, section_id):
    """Return the link the old code stored for a target ("" when it stored none)."""
    links = {
        "comment": f"/sections/{section_id}/comments#comment-{target_id}",
        "suggestion": f"/suggestions/{target_id}",
        "signoff": f"/papers/{paper_id}/signoff",
        "edition": f"/papers/{paper_id}/editions/{target_id}",
        "section": f"/papers/{paper_id}#section-{section_id}",
    }
    return links.get(target, "")


def downgrade():
    bind = op.get_bind()
    n = notification.c
    rows = bind.execute(
        sa.select(n.id, n.target, n.target_id, n.paper_id, n.section_id).where(n.target != "")
    ).all()
    for ident, target, target_id, paper_id, section_id in rows:
        bind.execute(
            notification.update()
            .where(n.id == ident)
            .values(url=link_of(target, target_id, paper_id, section_id))
        )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("target_id")
        batch_op.drop_column("target")
