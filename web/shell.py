"""The PWA shell: the service worker at /sw.js (it must sit at the root to
control every page), the manifest, front-end packages served straight from
node_modules (installed from npm at exact versions; never copied in), and our
static files under content-hashed names.

Pages name each static file by its content (``asset("app.css")`` in a template
gives ``/static/h/3f9a61c2d0b7/app.css``), so a browser keeps it for a year
without asking again (``immutable``), and a release that changes the file
changes its name. A name whose hash is not the file's any more (a page kept
offline from before an upgrade) still gets the file as it now is, with
``no-cache``: an old page never loses its styles. ``/static/<file>`` stays
too, as before (an hour)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, send_from_directory

shell = Blueprint("shell", __name__)

ROOT = Path(__file__).resolve().parent.parent
VENDOR = {
    "htmx.min.js": ROOT / "node_modules" / "htmx.org" / "dist",
    "axe.min.js": ROOT / "node_modules" / "axe-core",
}
STATIC = ROOT / "static"
SHELL_FILES = ["app.css", "app.js", "group.js", "photos.js", "icons/icon-192.png", "icons/icon-512.png",
               "easy_read.css", "easy_read.js"]  # the learner's own pages (web/my_progress.py), offline too


@lru_cache(maxsize=1)
def shell_version() -> str:
    """Changes whenever a shell file changes, so tablets fetch the new shell."""
    h = hashlib.sha256()
    for name in SHELL_FILES:
        h.update((STATIC / name).read_bytes())
    h.update((VENDOR["htmx.min.js"] / "htmx.min.js").read_bytes())
    h.update((Path(__file__).parent / "templates" / "sw.js").read_bytes())
    return h.hexdigest()[:12]


LONG = 365 * 24 * 3600  # a year: the name changes when the file does


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@lru_cache(maxsize=256)
def _hashed(name: str, stamp: tuple) -> str:
    return _digest(STATIC / name)


def asset_hash(name: str) -> str | None:
    """The content hash of static/<name> (None for a name outside it or no file)."""
    path = (STATIC / name).resolve()
    if STATIC.resolve() not in path.parents or not path.is_file():
        return None
    info = path.stat()
    return _hashed(name, (info.st_mtime_ns, info.st_size))


def asset(name: str) -> str:
    """The address of static/<name> by its content (for templates)."""
    digest = asset_hash(name)
    return f"/static/h/{digest}/{name}" if digest else f"/static/{name}"


@shell.get("/static/h/<digest>/<path:filename>")
def hashed(digest, filename):
    current = asset_hash(filename)
    if current is None:
        abort(404)
    if digest != current:  # named by an older release: the file as it is now, not kept
        response = send_from_directory(STATIC, filename, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response
    response = send_from_directory(STATIC, filename, max_age=LONG)
    response.headers["Cache-Control"] = f"public, max-age={LONG}, immutable"
    return response


@shell.get("/static/vendor/<name>")
def vendor(name):
    folder = VENDOR.get(name)
    if folder is None or not (folder / name).exists():
        abort(404)
    return send_from_directory(folder, name, max_age=3600)


@shell.get("/sw.js")
def service_worker():
    body = render_template("sw.js", version=shell_version(),
                           shell=[asset(f) for f in SHELL_FILES] + ["/static/vendor/htmx.min.js", "/offline"])
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@shell.get("/manifest.webmanifest")
def manifest():
    data = {
        "name": "RARPA Record",
        "short_name": "RARPA",
        "description": "Record learners' progress in class, online or offline.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#f7f7f4",
        "theme_color": "#1f4e79",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/static/icons/icon-maskable-512.png", "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = current_app.json.response(data)
    response.mimetype = "application/manifest+json"
    return response


@shell.get("/offline")
def offline():
    return render_template("offline.html")
