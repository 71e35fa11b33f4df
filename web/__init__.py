"""The web adapter: Flask app factory, the JSON API and (later) the PWA pages."""

from __future__ import annotations

import atexit

from flask import Flask

from rarpa.config import Settings


def create_app(settings: Settings | None = None, services=None) -> Flask:
    from web import problems
    from web.api import api
    from web.services import Services

    app = Flask(__name__, static_folder="../static", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = 1 * 1024 * 1024  # observations are small; refuse floods
    app.json.sort_keys = False
    if services is None:
        services = Services(settings)
        atexit.register(services.close)
    app.extensions["rarpa"] = services
    problems.install(app)
    app.register_blueprint(api)

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "position": services.projector.position(services.projector.reader())}

    return app
