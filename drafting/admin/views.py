"""Administration of partner organisations and user accounts."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from drafting import links
from drafting.admin.forms import (
    AdminPasswordForm,
    IdentityProviderForm,
    InvitationForm,
    OrganisationForm,
    UserCreateForm,
    UserEditForm,
    kind_choices,
)
from drafting.auth import mail
from drafting.extensions import db
from drafting.forms import options
from drafting.models import IdentityProvider, Organisation, User
from workflows import accounts, adminlog, invitations, privacy, sso
from workflows.actions import admin_label
from workflows.errors import WorkflowError

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let only administrators through."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _org_choices() -> list[tuple[int, str]]:
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name))
    return [(o.id, f"{o.name} ({o.short_name})") for o in orgs]


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


def _state_labels() -> list[tuple[str, str]]:
    return [
        ("all", _("All")),
        ("active", _("Active")),
        ("inactive", _("Inactive")),
        ("dormant", _("Long unused")),
        ("admin", _("Administrators")),
    ]


def _field_error(form: Any, err: WorkflowError, default: str) -> None:
    field = getattr(form, str(err.extra.get("field", default)), None) or getattr(form, default)
    field.errors = [*field.errors, err.message]


@bp.get("/")
@admin_required
def index() -> Response:
    """Send administrators to the list of organisations."""
    return redirect(url_for("admin.organisations"))


@bp.route("/organisations", methods=["GET", "POST"])
@admin_required
def organisations() -> str | Response:
    """List partner organisations and create a new one."""
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            accounts.create_organisation(
                form.name.data or "",
                form.short_name.data or "",
                form.kind.data or "",
                may_create_papers=bool(form.may_create_papers.data),
                audit_as=current_user,
            )
        except WorkflowError as err:
            _field_error(form, err, "name")
        else:
            flash(_("Organisation created."), "success")
            return redirect(url_for("admin.organisations"))
    search = (request.args.get("q") or "")[:200]
    found = accounts.find_organisations(search, _page())
    kinds = dict(kind_choices())
    return render_template(
        "admin/organisations.html", form=form, found=found, kinds=kinds, search=search
    )


@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
@admin_required
def organisation(org_id: int) -> str | Response:
    """Edit a partner organisation."""
    org = db.get_or_404(Organisation, org_id)
    form = OrganisationForm(obj=org)
    if form.validate_on_submit():
        try:
            accounts.update_organisation(
                org.id,
                form.name.data or "",
                form.short_name.data or "",
                form.kind.data or "",
                may_create_papers=bool(form.may_create_papers.data),
                password_login=bool(form.password_login.data),
                audit_as=current_user,
            )
        except WorkflowError as err:
            _field_error(form, err, "name")
        else:
            flash(_("Organisation saved."), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation.html", form=form, org=org)


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users() -> str | Response:
    """List user accounts and create a new one."""
    form = UserCreateForm()
    form.organisation.choices = options(_org_choices())
    if form.validate_on_submit():
        try:
            org = db.get_or_404(Organisation, form.organisation.data)
            accounts.create_user(
                form.email.data or "",
                form.display_name.data or "",
                org,
                form.password.data or "",
                is_admin=bool(form.is_admin.data),
                locale=form.locale.data or "de",
                audit_as=current_user,
            )
        except WorkflowError as err:
            _field_error(form, err, "email")
        else:
            flash(_("User created."), "success")
            return redirect(url_for("admin.users"))
    search = (request.args.get("q") or "")[:200]
    state = request.args.get("state") or "all"
    if state not in accounts.USER_STATES:
        state = "all"
    found = accounts.find_users(search, state, _page())
    return render_template(
        "admin/users.html",
        form=form,
        found=found,
        search=search,
        state=state,
        states=_state_labels(),
        dormant_days=current_app.config["ACCOUNT_DORMANT_DAYS"],
        is_dormant=accounts.is_dormant,
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user(user_id: int) -> str | Response:
    """Edit a user account: name, organisation, language, active, administrator."""
    account = db.get_or_404(User, user_id)
    form = UserEditForm(obj=account, organisation=account.organisation_id)
    form.organisation.choices = options(_org_choices())
    if form.validate_on_submit():
        try:
            accounts.update_user(
                account.id,
                display_name=form.display_name.data or "",
                organisation_id=int(form.organisation.data or 0),
                locale=form.locale.data or "de",
                active=bool(form.active.data),
                is_admin=bool(form.is_admin.data),
                actor=current_user,
            )
        except WorkflowError as err:
            _field_error(form, err, "display_name")
        else:
            flash(_("User saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user.html",
        form=form,
        account=account,
        password_form=AdminPasswordForm(),
        action_form=FlaskForm(),
        dormant=accounts.is_dormant(account),
        erased=privacy.is_erased(account),
        pseudonym=privacy.pseudonym(account),
    )


@bp.post("/users/<int:user_id>/password")
@admin_required
def set_password(user_id: int) -> str | Response | tuple[str, int]:
    """Set a user's password; their sessions end and their API tokens are revoked."""
    account = db.get_or_404(User, user_id)
    password_form = AdminPasswordForm()
    if password_form.validate_on_submit():
        try:
            revoked = accounts.set_password(
                current_user, account, password_form.new_password.data or ""
            )
        except WorkflowError as err:
            _field_error(password_form, err, "new_password")
        else:
            flash(
                ngettext(
                    "Password set. The user was logged out everywhere; %(num)d API token was "
                    "revoked.",
                    "Password set. The user was logged out everywhere; %(num)d API tokens were "
                    "revoked.",
                    revoked,
                ),
                "success",
            )
            return redirect(url_for("admin.user", user_id=account.id))
    form = UserEditForm(obj=account, organisation=account.organisation_id)
    form.organisation.choices = options(_org_choices())
    page = render_template(
        "admin/user.html",
        form=form,
        account=account,
        password_form=password_form,
        action_form=FlaskForm(),
        dormant=accounts.is_dormant(account),
        erased=privacy.is_erased(account),
        pseudonym=privacy.pseudonym(account),
    )
    return page, 422


@bp.post("/users/<int:user_id>/<any(activate,deactivate):action>")
@admin_required
def set_active(user_id: int, action: str) -> Response:
    """Deactivate an account (its logins and tokens end) or activate it again."""
    account = db.get_or_404(User, user_id)
    if FlaskForm().validate_on_submit():
        try:
            accounts.set_active(current_user, account.id, action == "activate")
        except WorkflowError as err:
            flash(str(err.message), "error")
        else:
            if action == "activate":
                flash(_("The account is active again."), "success")
            else:
                flash(
                    _("The account is deactivated; its logins ended and its tokens are revoked."),
                    "success",
                )
    return redirect(url_for("admin.user", user_id=account.id))


@bp.get("/log")
@admin_required
def log() -> str:
    """The administrators' log, newest first, with the state of its hash chain."""
    found = adminlog.entries(_page())
    return render_template(
        "admin/log.html",
        found=found,
        problems=adminlog.verify(),
        label=admin_label,
        targets=_targets(found.items),
    )


def _targets(entries: list[Any]) -> dict[tuple[str, int], tuple[str, str]]:
    """Name and link of each entry's target, as they are now (a pseudonym after erasure)."""
    user_ids = {e.target_id for e in entries if e.target_kind == "user" and e.target_id}
    org_ids = {e.target_id for e in entries if e.target_kind == "organisation" and e.target_id}
    names: dict[tuple[str, int], tuple[str, str]] = {}
    for u in db.session.scalars(select(User).where(User.id.in_(user_ids))):
        names[("user", u.id)] = (u.display_name, url_for("admin.user", user_id=u.id))
    for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(org_ids))):
        names[("organisation", o.id)] = (o.name, url_for("admin.organisation", org_id=o.id))
    return names


@bp.route("/invitations", methods=["GET", "POST"])
@admin_required
def invitation_list() -> str | Response | tuple[str, int]:
    """Invite a person into an organisation; list the invitations not yet accepted."""
    form = InvitationForm()
    form.organisation.choices = options(_org_choices())
    status = 200
    if request.method == "POST":
        status = 422
    if form.validate_on_submit():
        try:
            org = db.get_or_404(Organisation, form.organisation.data)
            sent = invitations.invite(
                current_user, form.email.data or "", org, locale=form.locale.data or "de"
            )
        except WorkflowError as err:
            _field_error(form, err, "email")
        else:
            mail.send_invitation(sent.invitation, sent.token)
            flash(_("Invitation sent to %(email)s.", email=sent.invitation.email), "success")
            fresh = InvitationForm(formdata=None)
            return _invitations_page(fresh, link=mail.invitation_url(sent.token))
    return _invitations_page(form), status


def _invitations_page(form: InvitationForm, link: str = "") -> str:
    form.organisation.choices = options(_org_choices())
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = invitations.open_invitations(page=page)
    return render_template(
        "admin/invitations.html",
        form=form,
        invitations=rows,
        total=total,
        page=page,
        per_page=invitations.PAGE_SIZE,
        link=link,
        action_form=FlaskForm(),
    )


@bp.post("/invitations/<int:invitation_id>/resend")
@admin_required
def resend_invitation(invitation_id: int) -> Response:
    """Send an invitation again with a new link (the old link stops working)."""
    if FlaskForm().validate_on_submit():
        try:
            sent = invitations.resend(current_user, invitation_id)
        except WorkflowError as err:
            flash(str(err.message), "error")
        else:
            mail.send_invitation(sent.invitation, sent.token)
            flash(_("Invitation sent again to %(email)s.", email=sent.invitation.email), "success")
    return redirect(url_for("admin.invitation_list"))


@bp.post("/invitations/<int:invitation_id>/withdraw")
@admin_required
def withdraw_invitation(invitation_id: int) -> Response:
    """Withdraw an invitation: its link stops working."""
    if FlaskForm().validate_on_submit():
        try:
            invitation = invitations.withdraw(current_user, invitation_id)
        except WorkflowError as err:
            flash(str(err.message), "error")
        else:
            flash(_("Invitation to %(email)s withdrawn.", email=invitation.email), "success")
    return redirect(url_for("admin.invitation_list"))


@bp.route("/sso", methods=["GET", "POST"])
@bp.route("/sso/<int:provider_id>", methods=["GET", "POST"])
@admin_required
def identity_providers(provider_id: int | None = None) -> str | Response | tuple[str, int]:
    """List the sign-in services (OpenID Connect) and add or change one."""
    row = db.get_or_404(IdentityProvider, provider_id) if provider_id else None
    form = IdentityProviderForm(obj=row)
    if row is not None and request.method == "GET":
        form.client_secret.data = ""
    status = 200
    if form.validate_on_submit():
        try:
            sso.save_provider(
                current_user,
                provider_id=provider_id,
                key=form.key.data or "",
                label=form.label.data or "",
                issuer=form.issuer.data or "",
                client_id=form.client_id.data or "",
                client_secret=form.client_secret.data or "",
                email_claim=form.email_claim.data or "email",
                organisation_claim=form.organisation_claim.data or "",
                organisation_rules=form.organisation_rules.data or "",
                enabled=bool(form.enabled.data),
            )
        except WorkflowError as err:
            _field_error(form, err, "key")
            status = 422
        else:
            flash(_("Sign-in service saved."), "success")
            return redirect(url_for("admin.identity_providers"))
    elif request.method == "POST":
        status = 422
    page = render_template(
        "admin/sso.html",
        form=form,
        editing=row,
        providers=sso.providers(include_disabled=True),
        callback=lambda key: links.absolute(links.path_for("auth.sso_callback", key=key)),
    )
    return page, status


@bp.get("/users/<int:user_id>/data")
@admin_required
def user_data(user_id: int) -> str | Response:
    """A person's data (GDPR Art. 15), for an administrator answering a request."""
    from drafting.auth.views import data_download

    account = db.get_or_404(User, user_id)
    data = privacy.export(account)
    if request.args.get("format") == "json":
        return data_download(data, account.id)
    return render_template("auth/my_data.html", data=data, subject=account)


@bp.post("/users/<int:user_id>/erase")
@admin_required
def erase_user(user_id: int) -> Response | tuple[str, int]:
    """Erase a person who left (GDPR Art. 17) after the administrator typed their address."""
    account = db.get_or_404(User, user_id)
    form = FlaskForm()
    confirm = (request.form.get("confirm_email") or "").strip().lower()
    if form.validate_on_submit():
        if confirm != account.email:
            flash(_("Type the person's e-mail address exactly to confirm the erasure."), "error")
            return redirect(url_for("admin.user", user_id=account.id, _anchor="erase"))
        try:
            name = privacy.erase(current_user, account.id)
        except WorkflowError as err:
            flash(str(err.message), "error")
        else:
            flash(_("The person was erased; they now appear as “%(name)s”.", name=name), "success")
    return redirect(url_for("admin.user", user_id=account.id))
