"""The Flask service: app factory, pages, APIs and the `riskmap` command."""

from __future__ import annotations

from typing import Any

from flask import Flask

from webmap import keystore, security, settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then RISKMAP_* environment variables, then ``test_config``."""
    app = Flask(__name__)
    app.config.from_mapping(settings.defaults())
    app.config.from_mapping(settings.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    settings.validate(app.config)
    # refuses to start (one line, exit status 3) with a short or well-known key
    app.config["SECRET_KEY"] = security.secret_key(app.config)
    keystore.init_app(app)
    app.json.ensure_ascii = False

    from webmap import (
        account_page,
        admin,
        api,
        auth,
        complaints,
        db,
        errors,
        http,
        navigation,
        ogc,
        ops,
        owner,
        pages,
        portfolio,
        public,
        public_claims,
        public_tiles,
        readpool,
        report_files,
        search,
        service,
        statistics,
        tiles,
        uploads,
        workflow,
    )
    from webmap.reports import jobs

    ops.init_app(app)  # first: times, names and logs every request (see its docstring)
    http.init_app(app)
    db.init_app(app)
    readpool.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(public_tiles.bp)
    app.register_blueprint(public_claims.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(statistics.bp)
    app.register_blueprint(report_files.bp)
    app.register_blueprint(portfolio.bp)
    app.register_blueprint(workflow.bp)
    app.register_blueprint(complaints.bp)
    app.register_blueprint(owner.bp)
    app.register_blueprint(service.bp)
    app.register_blueprint(account_page.bp)
    app.register_blueprint(ogc.bp)
    navigation.register(app)
    jobs.init_app(app)
    auth.init_app(app)
    return app
