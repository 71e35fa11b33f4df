"""HTML to PDF (WeasyPrint), fetching nothing but the app's own static files.

WeasyPrint's default fetcher opens whatever URL a document names (http, ftp,
file, data), resolved against the base URL. A PDF is made inside a request, so
a base URL taken from the request (its Host header) would let any client make
the server connect wherever it says, and hold a worker thread while it waits;
``file:`` would read the disk. So the base URL is fixed and fictitious (the
reserved ``.invalid`` domain never resolves), and the fetcher serves
``https://rarpa-record.invalid/static/<file>`` from the ``static/`` folder and
refuses everything else before any connection is made or file opened: other
hosts and ports, other schemes (``file:``, ``ftp:``, and ``data:`` too: nothing
of ours needs it), and any path outside ``static/`` however it is spelt (``..``,
percent-encoded dots or slashes, backslashes, NUL bytes, symlinks). A refused
resource is left out, WeasyPrint logs a warning, and the PDF is still made.
The one exception is what a view hands over with the document, by exact URL
under the same fictitious base: the annual-review pack's chosen photos, opened
and checked by the service before the PDF is made (web/photos.py).

Imports WeasyPrint, which is large: import this module where a PDF is made.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

BASE_URL = "https://rarpa-record.invalid/"
STATIC_URL = BASE_URL + "static/"
STATIC = Path(__file__).resolve().parent.parent / "static"


class FetchRefused(ValueError):
    """The document named something other than one of our static files."""


def static_file(url: str, folder: Path = STATIC) -> Path:
    """The file under ``folder`` that ``url`` names, or FetchRefused."""
    def refuse(why: str):
        return FetchRefused(f"refused {str(url)[:200]!r}: {why}")

    if not isinstance(url, str) or not url.startswith(STATIC_URL):
        raise refuse(f"only {STATIC_URL}… is fetched")
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != ("https", "rarpa-record.invalid") or not parts.path.startswith("/static/"):
        raise refuse(f"only {STATIC_URL}… is fetched")
    try:
        segments = unquote(parts.path.removeprefix("/static/"), errors="strict").split("/")
    except UnicodeDecodeError:
        raise refuse("not UTF-8") from None
    if any(s in ("", ".", "..") or any(c in s for c in "\\\x00:") for s in segments):
        raise refuse("not a plain path under static/")
    root = folder.resolve()
    path = root.joinpath(*segments).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise refuse("no such file under static/")
    return path


class StaticFilesOnly(URLFetcher):
    """A WeasyPrint URL fetcher that reads our static files from disk, and
    nothing else; plus, for one document, the files it is handed in memory
    (``given``: exact URL under BASE_URL -> (bytes, content type), such as the
    annual-review pack's chosen photos, already opened and checked)."""

    def __init__(self, folder: Path = STATIC, given: dict[str, tuple[bytes, str]] | None = None):
        # No scheme allowed and no redirects, should anything reach the parent's fetch.
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self._folder = folder
        self._given = dict(given or {})

    def fetch(self, url, headers=None):
        if isinstance(url, str) and url in self._given:
            data, kind = self._given[url]
            return URLFetcherResponse(url, data, {"Content-Type": kind})
        path = static_file(url, self._folder)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})


def render_pdf(html: str, given: dict[str, tuple[bytes, str]] | None = None) -> bytes:
    """The PDF of ``html``: relative URLs resolve against BASE_URL, so
    ``href="static/pack.css"`` is read from static/pack.css; ``given`` are
    the only other files it may name (see StaticFilesOnly)."""
    for url in given or {}:
        if not url.startswith(BASE_URL) or url.startswith(STATIC_URL):
            raise ValueError(f"a file given to a PDF must be named under {BASE_URL}, outside static/: {url!r}")
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnly(given=given)).write_pdf()
