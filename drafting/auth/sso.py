"""Single sign-on pages: the login button of each identity provider sends the browser there
(authorisation code flow with PKCE, state and nonce), and the callback logs the person in.

Authlib does the protocol: it keeps state, nonce and the PKCE verifier in the signed session
cookie (so any web node can take the callback), exchanges the code, and verifies the ID token's
signature against the provider's published keys, its issuer, audience, lifetime and nonce.
"""

from __future__ import annotations

from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, flash, redirect, render_template, request, session
from flask_babel import gettext as _
from joserfc.errors import JoseError as JoseRfcError
from requests.exceptions import RequestException
from werkzeug.wrappers import Response

from drafting import links
from drafting.auth.forms import LoginForm
from drafting.auth.views import _safe_next, _start_session, bp
from drafting.logs import security_log
from workflows import sso
from workflows.errors import NotAllowed, NotFound

oauth = OAuth()
#: Clients by provider settings: a changed provider gets a new client (a cache, not state).
_clients: dict[sso.Provider, Any] = {}
_NEXT = "kw_sso_next"


def init_app(app: Flask) -> None:
    """Let Authlib read the app (its session and HTTP settings)."""
    oauth.init_app(app)


def client_for(found: sso.Provider) -> Any:
    """Return Authlib's client of a provider (its discovery document and keys are cached)."""
    if found not in _clients:
        _clients[found] = oauth.register(
            name=f"kw-{found.key}-{len(_clients)}",
            overwrite=True,
            client_id=found.client_id,
            client_secret=found.client_secret or None,
            server_metadata_url=found.metadata_url,
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        )
    return _clients[found]


def _callback_url(key: str) -> str:
    return links.absolute(links.path_for("auth.sso_callback", key=key))


def _refused(message: str, status: int) -> tuple[str, int]:
    flash(message, "error")
    page = render_template("auth/login.html", form=LoginForm(), providers=sso.providers())
    return page, status


@bp.get("/login/sso/<key>")
def sso_start(key: str) -> Response | tuple[str, int]:
    """Send the browser to the identity provider's login."""
    try:
        found = sso.provider(key)
    except NotFound as err:
        return _refused(str(err.message), 404)
    session[_NEXT] = _safe_next(request.args.get("next"))
    try:
        response: Response = client_for(found).authorize_redirect(_callback_url(found.key))
    except (RequestException, AuthlibBaseError, ValueError) as err:
        current_app.logger.warning("identity provider %s unreachable: %s", found.key, err)
        return _refused(
            _(
                "The sign-in service %(service)s cannot be reached. Please try again later.",
                service=found.label,
            ),
            502,
        )
    return response


@bp.get("/login/sso/<key>/callback")
def sso_callback(key: str) -> Response | tuple[str, int]:
    """Check the provider's answer and log the person in (creating the account at first)."""
    try:
        found = sso.provider(key)
    except NotFound as err:
        return _refused(str(err.message), 404)
    if request.args.get("error"):
        return _refused(_("The sign-in was cancelled or refused by the sign-in service."), 400)
    client = client_for(found)
    try:
        # Checks state (against the session), fetches the token with the PKCE verifier and
        # verifies the ID token: signature, issuer, audience, expiry and nonce.
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        issuer = str(client.load_server_metadata().get("issuer") or found.issuer)
    except (AuthlibBaseError, JoseRfcError, KeyError, ValueError) as err:
        security_log.warning(
            "single sign-on refused",
            extra={"event": "sso_refused", "provider": found.key, "reason": str(err)[:200]},
        )
        return _refused(
            _("The answer of the sign-in service could not be verified. Please start again."),
            400,
        )
    except RequestException as err:
        current_app.logger.warning("identity provider %s unreachable: %s", found.key, err)
        return _refused(
            _(
                "The sign-in service %(service)s cannot be reached. Please try again later.",
                service=found.label,
            ),
            502,
        )
    if not claims.get("sub"):
        return _refused(
            _("The answer of the sign-in service could not be verified. Please start again."),
            400,
        )
    try:
        user = sso.sign_in(found, claims, issuer=issuer)
    except NotAllowed as err:
        security_log.warning(
            "single sign-on not mapped",
            extra={"event": "sso_unmapped", "provider": found.key},
        )
        return _refused(str(err.message), 403)
    target = session.get(_NEXT) or _safe_next(None)
    _start_session(user)
    security_log.info(
        "single sign-on", extra={"event": "sso_login", "provider": found.key, "user_id": user.id}
    )
    return redirect(_safe_next(target))
