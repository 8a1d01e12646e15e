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

    from webmap import auth, db, errors, http, navigation, ogc, ops, readpool
    from webmap.admin import account, publications
    from webmap.public import claims, complaints, owner
    from webmap.public import map as public_map
    from webmap.public import tiles as public_tiles
    from webmap.reports import jobs
    from webmap.work import (
        api,
        areas,
        pages,
        portfolio,
        report_files,
        search,
        service,
        statistics,
        tiles,
        uploads,
        workflow,
    )

    ops.init_app(app)  # first: times, names and logs every request (see its docstring)
    http.init_app(app)
    db.init_app(app)
    readpool.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    for blueprint in (pages, api, areas, tiles, public_map, public_tiles, claims, publications,
                      uploads, search, statistics, report_files, portfolio, workflow,
                      complaints, owner, service, account, ogc):
        app.register_blueprint(blueprint.bp)
    navigation.register(app)
    jobs.init_app(app)
    auth.init_app(app)
    return app
