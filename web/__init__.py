"""The web adapter: the Flask app factory, the JSON API and the tablet app's pages."""

from __future__ import annotations

import atexit

from flask import Flask

from rarpa.config import Settings

# Every page: our own scripts and styles only (no inline script, style or event
# handler, no eval), images also as data: URLs, no plugins, no <base>, forms post
# only here, and no page may be framed. htmx is told not to inject its indicator
# <style> nor evaluate code (the htmx-config meta in base.html).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def create_app(settings: Settings | None = None, services=None) -> Flask:
    from flask_wtf.csrf import CSRFProtect

    from web import auth as web_auth
    from web import common, compression, problems
    from web.api import api
    from web import photo_api  # noqa: F401 (its routes join the API's blueprint, route table and authentication)
    from web.bundles import bundles
    from web.group import group
    from web.cohort import cohort
    from web.admin import admin
    from web.erasure import erasure
    from web.invitation import invitation
    from web.evidence import evidence
    from web.family import family
    from web import learner_mode
    from web.my_progress import my_progress
    from web.pages import pages
    from web import photos as web_photos
    from web.plan import plan
    from web.placements import placements
    from web.reviews import reviews
    from web.services import Services
    from web.shell import shell
    from web.stage5 import stage5
    from web.workspace import workspace
    from web import as_at, rules

    app = Flask(__name__, static_folder="../static", static_url_path="/static")
    app.request_class = web_photos.UploadsInMemory  # a photo may be bigger, and is never spooled to disk
    app.config["MAX_CONTENT_LENGTH"] = 1 * 1024 * 1024  # observations are small; refuse floods
    app.json.sort_keys = False
    if services is None:
        services = Services(settings)
        atexit.register(services.close)
    app.extensions["rarpa"] = services
    web_auth.configure(app)
    csrf = CSRFProtect(app)
    csrf.exempt(api)  # the API authenticates with bearer tokens, not cookies
    problems.install(app)
    common.install(app)
    compression.install(app)  # HTML and JSON compressed on the wire (web/compression.py)
    app.register_blueprint(api)
    app.register_blueprint(web_auth.auth)
    app.register_blueprint(pages)
    app.register_blueprint(evidence)
    app.register_blueprint(web_photos.photos)
    web_photos.install(app)
    app.register_blueprint(reviews)
    app.register_blueprint(group)
    app.register_blueprint(cohort)
    app.register_blueprint(plan)
    app.register_blueprint(placements)
    app.register_blueprint(stage5)
    app.register_blueprint(bundles)
    app.register_blueprint(erasure)
    app.register_blueprint(admin)
    app.register_blueprint(invitation)
    app.register_blueprint(workspace)
    app.register_blueprint(my_progress)
    app.register_blueprint(learner_mode.learner_mode)
    learner_mode.install(app)  # while a tablet is handed to a learner, only their own pages answer
    app.register_blueprint(family)
    as_at.install(app)
    app.register_blueprint(shell)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.mimetype == "text/html":
            # Pages hold personal data: never in a shared HTTP cache.
            response.headers.setdefault("Cache-Control", "private, no-store")
            # Scripts and styles from our own files only: no inline code, no eval.
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    @app.get("/healthz")
    def healthz():
        return {"ok": True, "position": services.projector.position(services.projector.reader())}

    # Every route has a rule in the one table, or the app does not start (web/rules.py).
    rules.check_table(app)
    app.before_request(rules.known)
    return app
