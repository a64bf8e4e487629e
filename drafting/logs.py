"""Logging: readable text by default, JSON lines with ``LOG_FORMAT=json``; a request id on
every request and response; one line per request; security events in their own logger.

Every record carries the request id, user id, method and path when it is written during a
request. The request id comes from the ``X-Request-ID`` header when it looks like one (the
reverse proxy sets it; only trusted proxies reach the app, see docs/operations.md), else it
is generated; it is returned in the ``X-Request-ID`` response header.

Never log secrets: passwords, tokens, cookies and the secret keys stay out of every record.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from werkzeug.wrappers import Response

#: Security events: failed and throttled logins, lock-outs, token creation, role changes …
security_log = logging.getLogger("konzeptwerk.security")
#: One line per request: method, path, status, duration, user.
request_log = logging.getLogger("konzeptwerk.request")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_CONTEXT_FIELDS = ("request_id", "user_id", "method", "path")
# The attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    *_CONTEXT_FIELDS,
}


_EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")


def loggable_email(value: str | None) -> str | None:
    """Return a typed login name for a security record, or None when it is not shaped like an
    e-mail address (it may be a password typed into the wrong field)."""
    text = (value or "").strip().lower()
    return text if _EMAIL_SHAPE.match(text) else None


def request_id() -> str | None:
    """Return the current request's id (None outside a request)."""
    if not has_request_context():
        return None
    rid = g.get("request_id")
    return str(rid) if rid else None


def _current_user_id() -> int | None:
    # Only a user the request has already loaded: logging must not cost a query (static files,
    # /health) nor fail a request.
    user = g.get("_login_user")
    try:
        if user is not None and user.is_authenticated:
            return int(user.id)
    except Exception:  # noqa: S110  # nosec B110 # a log line must never fail the request
        pass
    return None


#: Paths whose last segment is a one-time credential (invitation and password-reset links):
#: logged with the token replaced, so a log line never works as the link.
_SECRET_PATHS = re.compile(r"^(/invitation/|/password/reset/)[^/]+")


def loggable_path(path: str) -> str:
    """Return a request path fit for the logs (one-time link tokens redacted)."""
    return _SECRET_PATHS.sub(r"\1[redacted]", path)


class RequestContextFilter(logging.Filter):
    """Add request id, user id, method and path to every record written during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            record.user_id = g.get("log_user_id") or _current_user_id()
            record.method = request.method
            record.path = loggable_path(request.path)
        else:
            for name in _CONTEXT_FIELDS:
                if not hasattr(record, name):
                    setattr(record, name, None)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, extras, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                body[name] = value
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                body[name] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        return json.dumps(body, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message key=value …``, traceback below."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        extras = [f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD]
        if rid:
            extras.insert(0, f"request_id={rid}")
        if extras:
            first, sep, rest = line.partition("\n")
            line = first + " " + " ".join(extras) + sep + rest
        return line


class _StderrHandler(logging.StreamHandler):
    """Write to whatever ``sys.stderr`` is at the time (test capture, gunicorn's redirect)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(log_format: str = "text", level: str = "INFO") -> logging.Handler:
    """Install (or replace) the app's handler on the root logger; return it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_konzeptwerk", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler._konzeptwerk = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def quiet(app: Flask, endpoints: frozenset[str]) -> None:
    """Write no request line for these endpoints' successful answers (presence heartbeats:
    two a minute per open editor, nothing to learn from); their failures are still logged
    and every request still counts in the metrics."""
    app.extensions.setdefault("kw_quiet_endpoints", set()).update(endpoints)


def init_app(app: Flask) -> None:
    """Set up logging for the app and the request id and request line of every request."""
    install_security_events()
    if not app.testing or app.config.get("LOG_CONFIGURE"):
        configure_logging(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))
        # Our handler on the root logger formats Flask's records too; no second line.
        app.logger.removeHandler(default_handler)
    log_requests = bool(app.config.get("LOG_REQUESTS", not app.testing))

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        quiet = response.status_code < 400 and request.endpoint in app.extensions.get(
            "kw_quiet_endpoints", ()
        )
        if log_requests and not quiet and g.get("request_started") is not None:
            # The user as they were when the response was made (a logout clears it after).
            g.log_user_id = _current_user_id()
            request_log.info(
                "%s %s %s",
                request.method,
                loggable_path(request.path),
                response.status_code,
                extra={
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
                },
            )
        return response


# --- security events from the models ----------------------------------------------------------
# Recorded where the rows change, so a view, the API, the CLI and a job all log alike without
# each workflow knowing about logging. Only ids and names: never hashes, tokens or texts.

_events_installed = False


def _security(event: str, message: str, **fields: Any) -> None:
    security_log.warning(message, extra={"event": event, **fields})


def install_security_events() -> None:
    """Log token creation and revocation, administrator and account changes, paper role
    grants and revocations, and sign-off decisions to ``konzeptwerk.security`` (once)."""
    global _events_installed
    if _events_installed:
        return
    _events_installed = True
    from sqlalchemy import event, inspect

    from drafting.models import ApiToken, PaperRole, SignoffDecision, User

    def changed(target: Any, name: str) -> bool:
        return bool(inspect(target).attrs[name].history.has_changes())

    @event.listens_for(ApiToken, "after_insert")
    def token_created(_mapper: Any, _conn: Any, token: ApiToken) -> None:
        _security(
            "token_created", "API token created", target_user_id=token.user_id, token_id=token.id
        )

    @event.listens_for(ApiToken, "after_update")
    def token_revoked(_mapper: Any, _conn: Any, token: ApiToken) -> None:
        if changed(token, "revoked_at") and token.revoked_at is not None:
            _security(
                "token_revoked",
                "API token revoked",
                target_user_id=token.user_id,
                token_id=token.id,
            )

    @event.listens_for(User, "after_update")
    def account_changed(_mapper: Any, _conn: Any, user: User) -> None:
        if changed(user, "is_admin"):
            _security(
                "admin_role_changed",
                "administrator role " + ("granted" if user.is_admin else "revoked"),
                target_user_id=user.id,
                is_admin=bool(user.is_admin),
            )
        if changed(user, "active"):
            _security(
                "account_activated" if user.active else "account_deactivated",
                "account " + ("activated" if user.active else "deactivated"),
                target_user_id=user.id,
            )

    @event.listens_for(PaperRole, "after_insert")
    def role_granted(_mapper: Any, _conn: Any, role: PaperRole) -> None:
        _security(
            "paper_role_granted",
            "paper role granted",
            paper_id=role.paper_id,
            target_user_id=role.user_id,
            role=str(role.role),
        )

    @event.listens_for(PaperRole, "after_delete")
    def role_revoked(_mapper: Any, _conn: Any, role: PaperRole) -> None:
        _security(
            "paper_role_revoked",
            "paper role revoked",
            paper_id=role.paper_id,
            target_user_id=role.user_id,
            role=str(role.role),
        )

    @event.listens_for(SignoffDecision, "after_insert")
    @event.listens_for(SignoffDecision, "after_update")
    def signoff_decided(_mapper: Any, _conn: Any, decision: SignoffDecision) -> None:
        _security(
            "signoff_decision",
            "sign-off decision recorded",
            edition_id=decision.edition_id,
            organisation_id=decision.organisation_id,
            decision=str(decision.decision),
            decided_by_user_id=decision.user_id,
        )
