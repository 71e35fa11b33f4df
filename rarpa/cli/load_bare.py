"""The load test's baseline: a bare Flask endpoint served exactly as `rarpa serve`
serves the app (`rarpa load`, rarpa/cli/load.py).

``python -m rarpa.cli.load_bare --port N --threads T`` answers
POST /api/v1/learners/<id>/observations with 201 and a small JSON body after
parsing the same JSON body the real endpoint gets, and GET /healthz. Nothing
else: no sign-in, no store, no compression. It is served by
``web.server.serve`` itself, with the app factory swapped for this one, so
whatever waitress settings the real server uses (threads, channel settings,
ident) the baseline uses too, now and after any change to web/server.py.

Flask is imported only here and only when run: the record's package itself
never imports it (rarpa/cli/__init__.py loads the web adapter by name).
"""

from __future__ import annotations

import argparse
import importlib


def bare_app():
    from flask import Flask, jsonify, request

    app = Flask("rarpa_load_bare")

    @app.post("/api/v1/learners/<learner_id>/observations")
    def observation(learner_id):
        data = request.get_json()
        return jsonify(id=data["id"], learner_id=learner_id, recorded=True), 201

    @app.get("/healthz")
    def healthz():
        return jsonify(ok=True)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rarpa.cli.load_bare")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    server = importlib.import_module("web.server")
    server.create_app = bare_app  # the same serve(): the same waitress setup as `rarpa serve`
    server.serve(host="127.0.0.1", port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
