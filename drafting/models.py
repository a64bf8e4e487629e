"""Database models: organisations, users, papers, sections and their versions."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from drafting.extensions import Model, db


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class TZDateTime(TypeDecorator[datetime]):
    """A DateTime that always comes back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Store the enum's value (lower-case words) as a plain string with a CHECK constraint.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class OrgKind(enum.StrEnum):
    MINISTRY = "ministry"
    MUNICIPALITY = "municipality"
    CHAMBER = "chamber"
    ASSOCIATION = "association"
    COMPANY = "company"
    OTHER = "other"


class Role(enum.StrEnum):
    COORDINATOR = "coordinator"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    SIGNATORY = "signatory"


class PaperStatus(enum.StrEnum):
    DRAFTING = "drafting"
    SIGNING = "signing"
    FINAL = "final"
    ARCHIVED = "archived"


class Organisation(Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind, "org_kind"))
    # An installation may keep paper creation to some organisations (e.g. the ministry).
    may_create_papers: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # False: its people log in only through single sign-on (an identity provider).
    password_login: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.short_name}>"


class User(UserMixin, Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="de")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Changing it logs out every session of the user (password change, deactivation).
    session_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(8))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # Set at each login (administrators see it; retention flags accounts long unused).
    last_login_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    def rotate_sessions(self) -> None:
        """Invalidate every existing login session of this user."""
        self.session_nonce = secrets.token_hex(8)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class ApiToken(Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    # Refused from then on (API_TOKEN_DAYS after creation).
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)

    user: Mapped[User] = relationship(lazy="joined")

    @staticmethod
    def hash(token: str) -> str:
        """Return the stored form of a token (tokens are random, so plain SHA-256 suffices)."""
        return hashlib.sha256(token.encode()).hexdigest()

    def is_expired(self, now: datetime | None = None) -> bool:
        """Tell whether the token's lifetime is over."""
        return self.expires_at <= (now or utcnow())


class LoginSession(Model):
    """One login of one browser; logging out, the idle timeout or the lifetime ends it.

    The browser's signed session cookie holds a random key; only its SHA-256 is stored.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class IdentityProvider(Model):
    """An OpenID Connect identity provider people may log in through (admin page)."""

    __tablename__ = "identity_provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    # In the login URL (/login/sso/<key>): letters, digits and hyphens.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret: Mapped[str] = mapped_column(String(500), default="")
    email_claim: Mapped[str] = mapped_column(String(80), default="email")
    organisation_claim: Mapped[str] = mapped_column(String(80), default="")
    # One rule a line: "domain:stadt.example = CITY" or "claim:IHK Musterstadt = IHK".
    organisation_rules: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class ExternalIdentity(Model):
    """A person's account at an identity provider (issuer + subject), linked to a user."""

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Invitation(Model):
    """An invitation to create an account in an organisation (and take a role on a paper).

    The link's token is random; only its SHA-256 is stored. It is valid ``INVITATION_DAYS``
    and once: ``accepted_at`` or ``withdrawn_at`` ends it.
    """

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    paper_id: Mapped[int | None] = mapped_column(
        ForeignKey("paper.id", ondelete="CASCADE"), nullable=True, index=True
    )
    role: Mapped[Role | None] = mapped_column(_enum(Role, "invitation_role"), nullable=True)
    locale: Mapped[str] = mapped_column(String(8), default="de")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    paper: Mapped[Paper | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def is_pending(self, now: datetime | None = None) -> bool:
        """Tell whether the invitation can still be accepted."""
        return (
            self.accepted_at is None
            and self.withdrawn_at is None
            and self.expires_at > (now or utcnow())
        )


class AdminLogEntry(Model):
    """An append-only record of an administrator's action, chained like a paper's log.

    People and organisations are named by id only: names and addresses live outside the
    hashed content, so pseudonymising a person keeps the chain verifiable.
    """

    __tablename__ = "admin_log_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship(lazy="joined")


class AdminLogHead(Model):
    """The head of the administrators' log: one row, locked by each writer."""

    __tablename__ = "admin_log_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64), default="")


class PasswordReset(Model):
    """A one-time link to set a new password (valid ``PASSWORD_RESET_MINUTES``); only the
    SHA-256 of its token is stored."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)
    used_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class ThrottleCounter(Model):
    """A login-throttling counter of one fixed window, shared by all processes (no Redis)."""

    __tablename__ = "throttle_counter"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    # Unix time at which the window closes and the row may be deleted.
    window_end: Mapped[int] = mapped_column(BigInteger, index=True)


class Presence(Model):
    """Who has a section's editor open, shared by all processes (when there is no Redis).

    Rows are short-lived (:mod:`drafting.presence` ignores and deletes those not refreshed
    within the time-to-live); they carry the name and organisation shown to others, so that
    reading presence needs no join.
    """

    __tablename__ = "presence"

    section_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str] = mapped_column(String(50))
    editing: Mapped[bool] = mapped_column(Boolean, default=False)
    # Unix times in milliseconds: first heartbeat, and the latest one.
    since: Mapped[int] = mapped_column(BigInteger)
    seen: Mapped[int] = mapped_column(BigInteger, index=True)


class Paper(Model):
    __tablename__ = "paper"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PaperStatus] = mapped_column(
        _enum(PaperStatus, "paper_status"), default=PaperStatus.DRAFTING
    )
    lead_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # The language the paper is written in ("de" or "en"): the Word file's fixed words, its
    # language tag and hyphenation. Not the coordinator's interface language, which may change.
    language: Mapped[str] = mapped_column(String(8), default="de", server_default="de")
    # Head of the activity log's hash chain: deleting entries at the end is detectable too.
    log_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    log_head: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # HMAC of (seq, head) under AUDIT_KEY: a truncated or recomputed chain cannot forge it.
    log_mac: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # The edition being signed or, once final, the final edition.
    current_edition_id: Mapped[int | None] = mapped_column(
        ForeignKey("edition.id", use_alter=True), nullable=True
    )

    lead_organisation: Mapped[Organisation] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship()
    participants: Mapped[list[Participant]] = relationship(
        back_populates="paper", cascade="all, delete-orphan"
    )
    roles: Mapped[list[PaperRole]] = relationship(
        back_populates="paper", cascade="all, delete-orphan"
    )
    sections: Mapped[list[Section]] = relationship(
        back_populates="paper", order_by="Section.position"
    )


class Participant(Model):
    """An organisation taking part in a paper (the lead organisation included)."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("paper_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    paper: Mapped[Paper] = relationship(back_populates="participants")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class PaperRole(Model):
    __tablename__ = "paper_role"
    __table_args__ = (UniqueConstraint("paper_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "paper_role_kind"))
    granted_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    paper: Mapped[Paper] = relationship(back_populates="roles")
    user: Mapped[User] = relationship(lazy="joined")


class Section(Model):
    """A titled unit of a paper. Its text lives in immutable :class:`SectionVersion` rows."""

    __tablename__ = "section"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # The head version: the newest row of section_version for this section.
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("section_version.id", use_alter=True), nullable=True
    )
    removed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    paper: Mapped[Paper] = relationship(back_populates="sections")
    head: Mapped[SectionVersion | None] = relationship(foreign_keys=[head_id], post_update=True)
    versions: Mapped[list[SectionVersion]] = relationship(
        back_populates="section",
        foreign_keys="SectionVersion.section_id",
        order_by="SectionVersion.number",
    )

    @property
    def title(self) -> str:
        return self.head.title if self.head else ""

    @property
    def level(self) -> int:
        return self.head.level if self.head else 1

    @property
    def body(self) -> str:
        return self.head.body if self.head else ""

    @property
    def version(self) -> int:
        return self.head.number if self.head else 0


class SectionVersion(Model):
    """One immutable saved state of a section; rows are inserted, never updated."""

    __tablename__ = "section_version"
    __table_args__ = (UniqueConstraint("section_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    level: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    # Rendered once at save time: versions never change, so pages never re-render Markdown.
    body_html: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # Someone else whose text the version holds (a suggester whose text an editor combined).
    coauthor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")
    merged_with: Mapped[int | None] = mapped_column(Integer, nullable=True)
    restored_from: Mapped[int | None] = mapped_column(Integer, nullable=True)

    section: Mapped[Section] = relationship(back_populates="versions", foreign_keys=[section_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    coauthor: Mapped[User | None] = relationship(foreign_keys=[coauthor_id])


class Draft(Model):
    """A user's autosaved, not yet saved text of a section (one per user and section)."""

    __tablename__ = "draft"
    __table_args__ = (UniqueConstraint("user_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class ActivityEntry(Model):
    """An append-only record of who did what on a paper, chained by hashes."""

    __tablename__ = "activity_entry"
    __table_args__ = (
        UniqueConstraint("paper_id", "seq"),
        Index("ix_activity_entry_paper_created", "paper_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"))
    seq: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"), nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 of ``hash`` under AUDIT_KEY (kept outside the database): the plain chain
    # can be recomputed by anyone who can write the database, this one cannot.
    mac: Mapped[str] = mapped_column(String(64), default="", server_default="")

    actor: Mapped[User | None] = relationship(lazy="joined")


def count_rows(model: type[Model]) -> int:
    """Return the number of rows of a model's table."""
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


class ReviewState(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"


class ReviewStatus(Model):
    """The review state of one section (one row per section, created on first submit)."""

    __tablename__ = "review_status"

    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"), primary_key=True)
    state: Mapped[ReviewState] = mapped_column(
        _enum(ReviewState, "review_state"), default=ReviewState.DRAFT
    )
    # The version under review or approved.
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    # Set when an editorial save carried the approval over from approved_version.
    carried_to: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The version whose approval was lost by the last substantive save (for one-click re-approval).
    reset_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), nullable=True
    )
    submitted_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    reviewer_ids: Mapped[list] = mapped_column(JSON, default=list)

    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])


class ReviewEvent(Model):
    """One step in a section's review history (submitted, approved, sent back, carried, reset)."""

    __tablename__ = "review_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")


class Comment(Model):
    """A remark on a section, optionally anchored to a quoted passage; threads via parent_id."""

    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id"), nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    quote: Mapped[str] = mapped_column(Text, default="")
    # Where the quote was found in the Markdown of anchor_version.
    anchor_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    anchor_start: Mapped[int | None] = mapped_column(Integer, nullable=True)
    anchor_end: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")


class SuggestionStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    REJECTED = "rejected"


class SuggestionKind(enum.StrEnum):
    """What a suggestion proposes: a new text of a section, or a change of the outline."""

    TEXT = "text"
    NEW_SECTION = "new_section"
    REMOVE_SECTION = "remove_section"
    MOVE_SECTION = "move_section"


class Suggestion(Model):
    """A proposed change (Änderungsvorschlag), accepted or rejected by an editor.

    Most propose a new text of a section (kind ``text``). The others change the outline: a new
    section (``title``, ``level``, ``body``; ``section_id`` is empty until it is accepted and
    then names the section it became), the removal of ``section_id`` (based on
    ``base_version``: a section that changed since is a conflict), or its move. A new or moved
    section goes after ``after_section_id``, or at the start of the paper when that is empty.
    """

    __tablename__ = "suggestion"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"), index=True)
    kind: Mapped[SuggestionKind] = mapped_column(
        _enum(SuggestionKind, "suggestion_kind"),
        default=SuggestionKind.TEXT,
        server_default=SuggestionKind.TEXT.value,
    )
    section_id: Mapped[int | None] = mapped_column(
        ForeignKey("section.id"), index=True, nullable=True
    )
    level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    after_section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"), nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    base_version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[SuggestionStatus] = mapped_column(
        _enum(SuggestionStatus, "suggestion_status"), default=SuggestionStatus.OPEN
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    result_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # After a partial acceptance: {"accepted": [change ids], "rejected": [change ids]}, the
    # ids of drafting.text.changes.changes(base text, body).
    decided_changes: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def structural(self) -> bool:
        """Whether the suggestion changes the outline rather than a section's text."""
        return self.kind != SuggestionKind.TEXT


class Notification(Model):
    """An entry in a user's inbox; e-mailed too when SMTP is configured and not opted out."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(40))
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("paper.id"), nullable=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"), nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    url: Mapped[str] = mapped_column(String(500), default="")  # explicit or stored before targets
    # What it leads to (workflows.notifications.Target) and its id; the web layer builds the link.
    target: Mapped[str] = mapped_column(String(16), default="", server_default="")
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    emailed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], lazy="joined")


class NotificationOptOut(Model):
    """A user's choice not to get e-mail for one kind of notification."""

    __tablename__ = "notification_opt_out"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))


class EditionStatus(enum.StrEnum):
    SIGNING = "signing"
    FINAL = "final"
    CANCELLED = "cancelled"


class Edition(Model):
    """A frozen snapshot of a whole paper (Gesamtfassung): one version per section and a hash."""

    __tablename__ = "edition"
    __table_args__ = (UniqueConstraint("paper_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[EditionStatus] = mapped_column(
        _enum(EditionStatus, "edition_status"), default=EditionStatus.SIGNING
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 of (paper, number, content_hash) under AUDIT_KEY.
    content_mac: Mapped[str] = mapped_column(String(64), default="", server_default="")
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    created_by: Mapped[User] = relationship()
    entries: Mapped[list[EditionSection]] = relationship(
        back_populates="edition", order_by="EditionSection.position"
    )


class EditionSection(Model):
    """Which version of which section belongs to an edition, in order."""

    __tablename__ = "edition_section"
    __table_args__ = (UniqueConstraint("edition_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("section_version.id"))
    position: Mapped[int] = mapped_column(Integer)

    edition: Mapped[Edition] = relationship(back_populates="entries")
    version: Mapped[SectionVersion] = relationship(lazy="joined")


class SignoffDecisionKind(enum.StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_RESERVATION = "approve_with_reservation"
    REJECT = "reject"


class SignoffDecision(Model):
    """One organisation's current decision on an edition (changes are in the activity log)."""

    __tablename__ = "signoff_decision"
    __table_args__ = (UniqueConstraint("edition_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    decision: Mapped[SignoffDecisionKind] = mapped_column(
        _enum(SignoffDecisionKind, "signoff_decision_kind")
    )
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    # The edition hash the signatory was shown: binds the decision to one exact text.
    edition_hash: Mapped[str] = mapped_column(String(64))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Export(Model):
    """A Word export of a paper: its options, progress and, when done, the file itself.

    Files live in the database so that web nodes stay stateless.
    """

    __tablename__ = "export"
    __table_args__ = (Index("ix_export_paper_created", "paper_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[ExportStatus] = mapped_column(
        _enum(ExportStatus, "export_status"), default=ExportStatus.QUEUED
    )
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str] = mapped_column(String(64), default="")
    filename: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    requested_by: Mapped[User] = relationship(lazy="joined")


class Figure(Model):
    """An image uploaded to a paper, stored (re-encoded, without metadata) like export files.

    Sections place it with ``![Caption](figure:<id>)``; ``digest`` (SHA-256 of the stored
    bytes) enters the hash of every edition whose text refers to it.
    """

    __tablename__ = "figure"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    caption: Mapped[str] = mapped_column(String(500), default="")
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class ReferenceTemplate(Model):
    """A reference .docx uploaded by an administrator whose styles exports use."""

    __tablename__ = "reference_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class SearchEntry(Model):
    """One searchable text (a section version, comment, suggestion or paper title), kept on write.

    ``title_terms``/``body_terms`` hold the Python-made German stems; SQLite indexes them
    with FTS5 (``search_fts``), PostgreSQL with a generated ``tsv`` column and a GIN index
    (see :mod:`workflows.search`).
    """

    __tablename__ = "search_entry"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_search_entry_section", "section_id"),
        Index("ix_search_entry_paper", "paper_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the row stands for: paper | version | comment | suggestion, and that row's id.
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    # What a result is: section (current version) | version | comment | suggestion | paper.
    kind: Mapped[str] = mapped_column(String(16))
    paper_id: Mapped[int] = mapped_column(ForeignKey("paper.id"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"), nullable=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    title: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    title_terms: Mapped[str] = mapped_column(Text, default="")
    body_terms: Mapped[str] = mapped_column(Text, default="")


# The full-text index beside search_entry, one per backend. Both index the same stems; on
# PostgreSQL the 'simple' configuration takes them as they are (the stemming already happened
# in Python), so both backends match exactly the same rows.
SEARCH_DDL = {
    "sqlite": [
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
        # The ranking's columns, read without the wide rows (workflows.search.NARROW_INDEX).
        "CREATE INDEX IF NOT EXISTS ix_search_entry_narrow"
        " ON search_entry (id, kind, paper_id, organisation_id, created_at)",
    ],
    "postgresql": [
        "ALTER TABLE search_entry ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('simple'::regconfig, title_terms), 'A') || "
        "setweight(to_tsvector('simple'::regconfig, body_terms), 'D')) STORED",
        "CREATE INDEX ix_search_entry_tsv ON search_entry USING gin (tsv)",
    ],
}
for _dialect, _statements in SEARCH_DDL.items():
    for _statement in _statements:
        event.listen(
            SearchEntry.__table__,
            "after_create",
            DDL(_statement).execute_if(dialect=_dialect),
        )
event.listen(
    SearchEntry.__table__,
    "after_drop",
    DDL("DROP TABLE IF EXISTS search_fts").execute_if(dialect="sqlite"),
)
