"""Konzeptwerk's Flask application: factory, extensions and blueprints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from drafting.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
#: Running from a checkout (``make run``, tests) rather than an installed wheel.
IN_CHECKOUT = (ROOT / "wsgi.py").is_file() and (ROOT / "templates").is_dir()


def data_folder(name: str) -> Path:
    """Return the checkout's ``templates``/``migrations`` folder, or the installed copy.

    A wheel ships them as the data packages ``konzeptwerk_templates`` and
    ``konzeptwerk_migrations`` (setup.py), so an installed app runs from any directory.
    """
    if IN_CHECKOUT:
        return ROOT / name
    import importlib.util

    spec = importlib.util.find_spec(f"konzeptwerk_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"konzeptwerk_{name} is not installed (broken installation?)")
    return Path(next(iter(spec.submodule_search_locations)))


def select_locale() -> str:
    """Pick the user's language, else the session's choice, else the browser's (default de)."""
    if not has_request_context():
        # The CLI and background jobs have no session or browser: the default language.
        return "de"
    user = current_user
    if getattr(user, "is_authenticated", False) and user.locale in ("de", "en"):
        return str(user.locale)
    chosen = session.get("locale")
    if chosen in ("de", "en"):
        return str(chosen)
    # Highest-quality language first; "en-US" counts as English (best_match would prefer an
    # exact "de" of lower quality over a prefix match).
    for value, _quality in request.accept_languages:
        primary = value.split("-")[0].split("_")[0].lower()
        if primary in ("de", "en"):
            return primary
    return "de"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the application."""
    # Installed, the instance folder is Flask's default (<venv>/var/drafting-instance) unless
    # INSTANCE_PATH names one.
    default_instance = str(ROOT / "instance") if IN_CHECKOUT else None
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH", default_instance),
        template_folder=str(data_folder("templates")),
        static_folder="static",
    )
    from drafting.config import ConfigurationError, load_config

    try:
        app.config.update(load_config(app.instance_path))
    except ConfigurationError as err:
        import sys

        print(f"konzeptwerk refuses to start: {err}", file=sys.stderr)
        raise SystemExit(1) from err
    if config:
        app.config.update(config)

    from drafting import logs, metrics

    logs.init_app(app)
    metrics.init_app(app)

    from drafting import inputs, security

    inputs.init_app(app)  # before the blueprints: it bounds the <int:…> converter
    security.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(data_folder("migrations")))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    limiter.init_app(app)
    login_manager.init_app(app)

    from drafting import database

    database.init_app(app)

    from drafting import auth_setup

    auth_setup.init_app(app)

    from drafting import presence

    presence.init_app(app)

    from drafting.admin.views import bp as admin_bp
    from drafting.api import bp as api_bp
    from drafting.api.docs import bp as api_docs_bp
    from drafting.auth import sso as auth_sso
    from drafting.auth.views import bp as auth_bp

    auth_sso.init_app(app)
    from drafting.comments.views import bp as comments_bp
    from drafting.export_pages.views import bp as exporting_bp
    from drafting.figure_pages import bp as figures_bp
    from drafting.inbox.views import bp as inbox_bp
    from drafting.papers.views import bp as papers_bp
    from drafting.printing.views import bp as printing_bp
    from drafting.review.views import bp as review_bp
    from drafting.search.views import bp as search_bp
    from drafting.sections.views import bp as sections_bp
    from drafting.signoff.views import bp as signoff_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(papers_bp)
    app.register_blueprint(sections_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(signoff_bp)
    app.register_blueprint(exporting_bp)
    app.register_blueprint(figures_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(printing_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_docs_bp)
    csrf.exempt(api_bp)

    from drafting import errors, filters

    errors.init_app(app)
    filters.init_app(app)

    from drafting import cli

    cli.init_app(app)

    from workflows import jobs

    jobs.init_app(app)

    from drafting import ops

    ops.init_app(app)
    ops.check_start(app)

    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        return {"current_locale": str(get_locale() or "de"), "app_version": ops.app_version()}

    return app
