"""activity log names people by id: role entries lose the e-mail address, chains re-sealed

Entries of "role.granted" and "role.revoked" stored the person's e-mail address inside the
hashed content, so erasing a person (GDPR Art. 17) would have broken the chain. They now hold
``user_id``; the log shows the person's current name. The chains of the papers concerned are
recomputed from the first changed entry and sealed again under AUDIT_KEY: heads anchored
outside the service before this upgrade must be anchored anew (CHANGELOG).

Revision ID: accounts02
Revises: accounts01
Create Date: 2026-12-05 21:40:00

"""

import hashlib
import hmac
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "accounts02"
down_revision = "accounts01"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

entry = sa.table(
    "activity_entry",
    sa.column("id", sa.Integer),
    sa.column("paper_id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("actor_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("section_id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("details", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
    sa.column("mac", sa.String),
)
paper = sa.table(
    "paper",
    sa.column("id", sa.Integer),
    sa.column("log_seq", sa.Integer),
    sa.column("log_head", sa.String),
    sa.column("log_mac", sa.String),
)
user = sa.table("user_account", sa.column("id", sa.Integer), sa.column("email", sa.String))


def _aware(value):
    # SQLite gives naive datetimes back; the app stores UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _hash(row, details, prev):
    # A frozen copy of workflows.activity.entry_hash at this revision.
    payload = {
        "paper_id": row.paper_id,
        "seq": row.seq,
        "actor_id": row.actor_id,
        "action": row.action,
        "section_id": row.section_id,
        "version": row.version,
        "details": details or {},
        "created_at": _aware(row.created_at).astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": prev,
    }
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def _keyed(message):
    key = str(current_app.config["AUDIT_KEY"]).encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def upgrade():
    conn = op.get_bind()
    ids = {email: uid for uid, email in conn.execute(sa.select(user.c.id, user.c.email))}
    rows = conn.execute(
        sa.select(entry)
        .where(entry.c.action.in_(["role.granted", "role.revoked"]))
        .order_by(entry.c.paper_id, entry.c.seq)
    ).all()
    first_changed = {}
    for row in rows:
        details = dict(row.details or {})
        email = details.get("user")
        if not isinstance(email, str) or email not in ids:
            continue
        details.pop("user")
        details["user_id"] = ids[email]
        conn.execute(sa.update(entry).where(entry.c.id == row.id).values(details=details))
        first_changed.setdefault(row.paper_id, row.seq)
    for paper_id, start in first_changed.items():
        chain = conn.execute(
            sa.select(entry).where(entry.c.paper_id == paper_id).order_by(entry.c.seq)
        ).all()
        prev = GENESIS
        for row in chain:
            if row.seq >= start:
                new_hash = _hash(row, row.details, prev)
                conn.execute(
                    sa.update(entry)
                    .where(entry.c.id == row.id)
                    .values(
                        prev_hash=prev,
                        hash=new_hash,
                        mac=_keyed(f"activity-entry:{new_hash}"),
                    )
                )
                prev = new_hash
            else:
                prev = row.hash
        last = chain[-1].seq if chain else 0
        conn.execute(
            sa.update(paper)
            .where(paper.c.id == paper_id)
            .values(log_head=prev, log_mac=_keyed(f"activity-head:{paper_id}:{last}:{prev}"))
        )


def downgrade():
    # The e-mail addresses are not brought back (they may have been erased since); the chains
    # stay sealed as they are.
    pass
