"""Light on bad wifi: pages, fragments and JSON are compressed on the wire
(Brotli where the browser takes it, else gzip), by Flask-Compress.

Only text is compressed: photos (JPEG), PDFs and ZIPs are compressed already,
and compressing them again costs CPU for nothing. Small answers (under
``MIN_SIZE`` bytes) go as they are: the headers would outweigh the saving.

A compressed page that holds a secret and something an attacker can make the
page echo could leak the secret through its size (BREACH). The secret on our
pages is the CSRF token, which Flask-WTF signs with the time to the second,
so it changes from one answer to the next; and no page echoes a query into
the same answer as a session secret unescaped in a way an attacker controls
from another site (they are POST forms behind SameSite cookies).
"""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress

MIMETYPES = ["text/html", "application/json", "application/problem+json", "application/x-ndjson",
             "text/css", "text/javascript", "application/javascript", "application/manifest+json",
             "image/svg+xml", "text/csv"]
MIN_SIZE = 500  # bytes


def install(app: Flask) -> None:
    app.config.update(COMPRESS_MIMETYPES=MIMETYPES, COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_LEVEL=6,
                      COMPRESS_BR_LEVEL=5, COMPRESS_MIN_SIZE=MIN_SIZE)
    Compress(app)
