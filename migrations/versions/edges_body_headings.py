"""body headings: re-render stored section HTML with headings as sub-headings (h3–h6)

Until now a ``#`` in a section body was stored as ``<h5>`` and ``##`` or deeper as
``<h6>`` (smaller than the text). The renderer now stores ``#`` as ``<h3>``, ``##`` as
``<h4>`` and so on, and pages shift them under the section's own heading; this re-renders
the stored HTML of every version from its Markdown with the same renderer new saves use.

Revision ID: edges01
Revises: presence01
Create Date: 2026-12-05 21:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "edges01"
down_revision = "presence01"
branch_labels = None
depends_on = None

section_version = sa.table(
    "section_version",
    sa.column("id", sa.Integer),
    sa.column("body", sa.Text),
    sa.column("body_html", sa.Text),
)

BATCH = 500


def _rerender(render):
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(section_version.c.id, section_version.c.body, section_version.c.body_html)
            .where(section_version.c.id > last)
            .order_by(section_version.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            html = str(render(row.body or ""))
            if html != row.body_html:
                bind.execute(
                    section_version.update()
                    .where(section_version.c.id == row.id)
                    .values(body_html=html)
                )
        last = rows[-1].id


def upgrade():
    from drafting.text.markdown import render

    _rerender(render)


def downgrade():
    import re

    from drafting.text.markdown import render

    # The old stored form: "#" as h5, "##" and deeper as h6.
    def old_render(text):
        html = str(render(text))
        html = re.sub(r"<(/?)h3>", r"<\1h5>", html)
        return re.sub(r"<(/?)h[4-6]>", r"<\1h6>", html)

    _rerender(old_render)
