"""Serve the app with waitress, a production WSGI server (pure Python, threads)."""

from __future__ import annotations

import logging

from waitress import serve as waitress_serve

from web import create_app


def serve(host: str = "127.0.0.1", port: int = 8000, threads: int = 8) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    print(f"RARPA Record on http://{host}:{port}/  (API at /api/v1, Ctrl+C to stop)", flush=True)
    waitress_serve(app, host=host, port=port, threads=threads, ident="rarpa")
