"""Hostile and unusual input never breaks the record: learners' names in
download filenames, what the PDF renderer may fetch, and the Content-Security-Policy
on every page. Through Flask's test client and a real `rarpa serve`; only ever
127.0.0.1."""

from __future__ import annotations

import html.parser
import http.client
import io
import os
import re
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote, urlencode

import pytest
from pypdf import PdfReader
from werkzeug.http import parse_options_header

from tests.conftest import PASSWORD, observation
from tests.localhost import serving
from tests.test_web import sign_in, token_of

ROOT = Path(__file__).resolve().parent.parent
RARPA_SCRIPT = Path(sys.executable).parent / "rarpa"
TODAY = datetime.now(timezone.utc).date()
PERIOD = f"from={TODAY - timedelta(days=30)}&to={TODAY}"

# preferred name -> (the ASCII fallback's name part, what filename* must keep)
NAMES = {
    "Łukasz": ("lukasz", "Łukasz"),
    "Nguyễn": ("nguyen", "Nguyễn"),
    "محمد": ("learner", "محمد"),
    "🙂": ("learner", "🙂"),
    "Zoë 🙂": ("zoe", "Zoë"),
    '"; filename=evil.exe; x="': ("filename-evil-exe-x", "filename=evil.exe"),
    "Jo\r\nX-Injected: yes": ("jo-x-injected-yes", "Jo"),
    "../../etc/passwd": ("etc-passwd", "etc"),
    "Ann\u202egpj.exe": ("anngpj-exe", "Ann"),  # a right-to-left override, to disguise the extension
    "Ω" * 100: ("learner", "Ω" * 40),  # long: cut, and the date kept
}

# One Content-Disposition parameter: a token name, then a token or a quoted string.
PARAM = r"""\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\\r\n]|\\.)*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)"""


def disposition_params(header: str, kind: str) -> list[tuple[str, str]]:
    """The parameters of a Content-Disposition header, checking the whole header parses."""
    assert re.fullmatch(rf"{kind}(?:{PARAM})*\s*", header), header
    return re.findall(PARAM, header)


def check_filename_header(header: str, kind: str, ascii_name: str, ext: str) -> str:
    """Exactly one filename= (plain ASCII, [a-z0-9-]) and one filename*= (RFC 5987 UTF-8);
    returns filename* decoded, after checking nothing dangerous survives in it."""
    header.encode("ascii")  # waitress sends headers as Latin-1: ASCII is safe everywhere
    params = disposition_params(header, kind)
    names = [name.lower() for name, _ in params]
    assert sorted(names) == ["filename", "filename*"], header
    values = dict((name.lower(), value) for name, value in params)
    assert values["filename"] == f'"{ascii_name}"', header
    assert re.fullmatch(rf"[a-z0-9-]+\.{ext}", ascii_name), ascii_name
    extended = values["filename*"]
    assert extended.startswith("UTF-8''"), header
    decoded = unquote(extended.removeprefix("UTF-8''"), encoding="utf-8", errors="strict")
    for bad in ('"', "'", ";", "/", "\\", "\r", "\n", "\x00", "\u202e"):
        assert bad not in decoded, (bad, decoded)
    assert decoded.endswith(f".{ext}"), decoded
    # Werkzeug's parser (RFC 2231 decoding; the last of filename and filename* wins) reads the same
    # name: filename* comes last, as RFC 6266 advises, for clients that take whichever comes last.
    assert parse_options_header(header) == (kind, {"filename": decoded})
    return decoded


def enrol(app, system, preferred: str) -> str:
    return app.enrol_learner(system, name="Sam Taylor", date_of_birth="2007-01-01", provider="northfield",
                             preferred_name=preferred).result


def is_pdf(body: bytes) -> bool:
    return body.startswith(b"%PDF-") and b"%%EOF" in body[-1024:]


# --- A. the annual-review PDF's filename --------------------------------------------------------
def test_pdf_filename_survives_any_preferred_name(web, app, world, system):
    learners = {name: enrol(app, system, name) for name in NAMES}
    sign_in(web, "lead@example.org")
    for name, (ascii_part, kept) in NAMES.items():
        response = web.get(f"/learners/{learners[name]}/annual-review.pdf?{PERIOD}")
        assert response.status_code == 200, (name, response.status_code)
        assert response.mimetype == "application/pdf" and is_pdf(response.data), name
        assert "X-Injected" not in response.headers
        decoded = check_filename_header(response.headers["Content-Disposition"], "inline",
                                        f"annual-review-{ascii_part}-{TODAY}.pdf", "pdf")
        assert decoded.startswith("annual-review-") and decoded.endswith(f"-{TODAY}.pdf"), (name, decoded)
        assert kept in decoded, (name, decoded)
    assert check_filename_header(
        web.get(f"/learners/{learners['Łukasz']}/annual-review.pdf?{PERIOD}").headers["Content-Disposition"],
        "inline", f"annual-review-lukasz-{TODAY}.pdf", "pdf") == f"annual-review-Łukasz-{TODAY}.pdf"


def test_cohort_csv_uses_the_same_safe_header(web, world):
    sign_in(web, "lead@example.org")
    response = web.get("/cohort.csv")
    assert response.status_code == 200
    decoded = check_filename_header(response.headers["Content-Disposition"], "attachment",
                                    f"cohort-northfield-{TODAY}.csv", "csv")
    assert decoded == f"cohort-northfield-{TODAY}.csv"


def test_content_disposition_helper_keeps_headers_and_filenames_safe():
    from web.downloads import ascii_slug, content_disposition

    assert ascii_slug("Łukasz Żółć", "learner") == "lukasz-zolc"
    assert ascii_slug("Straße Øre", "learner") == "strasse-ore"
    assert ascii_slug("محمد 🙂", "learner") == "learner"
    for hostile in ('a"b.pdf', "a;b=c.pdf", "a\r\nSet-Cookie: x=1.pdf", "../../x.pdf", "..\\..\\x.pdf",
                    "\x00\x1b[31m.pdf", ".hidden.pdf", "%2e%2e%2fx.pdf", "x" * 500 + ".pdf"):
        header = content_disposition("attachment", hostile)
        decoded = check_filename_header(header, "attachment", re.search(r'filename="([^"]*)"', header).group(1), "pdf")
        assert not decoded.startswith("."), decoded
        assert "%" not in decoded, decoded  # what looked percent-encoded is not decoded twice
        assert len(decoded.encode()) <= 200, len(decoded.encode())
    with pytest.raises(ValueError):
        content_disposition("inline; x=1", "a.pdf")


class Browserless:
    """A cookie-keeping HTTP client for 127.0.0.1 only, on http.client (no redirects followed)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, payload


@pytest.fixture
def served(settings, world, tmp_path):
    """`rarpa serve` (waitress) on the world's store, on 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    env.update(RARPA_DB=settings.db, RARPA_VIEWS=settings.views, RARPA_PASSWORD_PROFILE="cheapest")
    with serving(env, tmp_path, tmp_path / "serve.log") as server:
        yield server.port, server.log


def test_pdf_filename_of_a_non_latin1_name_through_waitress(app, world, system, served):
    port, log = served
    learners = {name: enrol(app, system, name) for name in ("Łukasz", "محمد", "Jo\r\nX-Injected: yes")}
    client = Browserless(port)
    status, _, page = client.request("GET", "/login")
    assert status == 200
    status, _, _ = client.request("POST", "/login", {"email": "lead@example.org", "password": PASSWORD,
                                                     "csrf_token": token_of(page.decode())})
    assert status == 302
    for name, lid in learners.items():
        status, headers, body = client.request("GET", f"/learners/{lid}/annual-review.pdf?{PERIOD}")
        assert status == 200, (name, status, log.read_text()[-2000:])
        assert headers.get_content_type() == "application/pdf" and is_pdf(body)
        assert headers.get("X-Injected") is None
        assert len(headers.get_all("Content-Disposition")) == 1
        ascii_part, kept = NAMES[name]
        decoded = check_filename_header(headers["Content-Disposition"], "inline",
                                        f"annual-review-{ascii_part}-{TODAY}.pdf", "pdf")
        assert kept in decoded


# --- B. what the PDF renderer may fetch -----------------------------------------------------------
class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it is offered and
    closes each at once: a count of 0 proves nothing tried to fetch from it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener():
    one = Listener()
    yield one
    one.close()


def pdf_text(body: bytes) -> str:
    return " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split())


def test_pdf_never_fetches_from_the_host_the_request_names(web, world, listener):
    """Whatever Host the request names, the stylesheet comes from disk: the listener
    that Host points at is never contacted, and the pack's page footer (set only in
    static/pack.css) is in the PDF."""
    amy = world["learners"]["amy"]
    sign_in(web, "lead@example.org")
    host = f"127.0.0.1:{listener.port}"
    web.set_cookie("rarpa_session", web.get_cookie("rarpa_session").value, domain="127.0.0.1")
    response = web.get(f"/learners/{amy}/annual-review.pdf?{PERIOD}", headers={"Host": host})
    assert response.status_code == 200 and is_pdf(response.data)
    text = pdf_text(response.data)
    assert "Amy's annual review" in text
    assert "Page 1 of" in text, "pack.css was not applied"
    time.sleep(0.3)  # give a stray connection time to be counted
    assert listener.connections == 0


HOSTILE_PACK = """<!doctype html><html><head>
<link rel="stylesheet" href="http://127.0.0.1:{port}/evil.css">
<link rel="stylesheet" href="//127.0.0.1:{port}/evil.css">
<link rel="stylesheet" href="file:///etc/passwd">
<link rel="stylesheet" href="static/../../pyproject.toml">
<link rel="stylesheet" href="static/%2e%2e/pyproject.toml">
<link rel="stylesheet" href="static/pack.css">
<style>@import url("http://127.0.0.1:{port}/import.css"); @font-face {{ font-family: x; src: url("http://127.0.0.1:{port}/f.woff"); }}</style>
</head><body class="pdf"><div class="pack"><h1>Hello</h1>
<img src="http://127.0.0.1:{port}/pixel.png" alt="">
<img src="file:///etc/hostname" alt="">
<object data="http://127.0.0.1:{port}/o.svg"></object>
<p style="background: url('http://127.0.0.1:{port}/bg.png')">Body text</p>
</div></body></html>"""


def test_render_pdf_fetches_only_our_static_files(listener):
    from web.pdf import render_pdf

    body = render_pdf(HOSTILE_PACK.format(port=listener.port))
    assert is_pdf(body)
    text = pdf_text(body)
    assert "Hello" in text and "Body text" in text
    assert "Page 1 of" in text  # static/pack.css, from disk
    assert "rarpa" not in text.lower()  # no pyproject.toml, no /etc content pulled in
    time.sleep(0.3)
    assert listener.connections == 0


def test_the_pdf_fetcher_refuses_all_but_static_files(listener):
    from web.pdf import BASE_URL, StaticFilesOnly

    fetch = StaticFilesOnly()
    good = fetch(BASE_URL + "static/pack.css")
    assert good.read() == (ROOT / "static" / "pack.css").read_bytes()
    assert good.content_type == "text/css"
    refused = [
        f"http://127.0.0.1:{listener.port}/static/pack.css",
        f"http://127.0.0.1:{listener.port}/",
        "file:///etc/passwd",
        f"file://{ROOT}/static/pack.css",
        "data:text/css,body{color:red}",
        BASE_URL + "static/../pyproject.toml",
        BASE_URL + "static/icons/../../pyproject.toml",
        BASE_URL + "static/%2e%2e/pyproject.toml",
        BASE_URL + "static/%2E%2E%2Fpyproject.toml",
        BASE_URL + "static/..%5cpyproject.toml",
        BASE_URL + "static/%2fetc%2fpasswd",
        BASE_URL + "static//etc/passwd",
        BASE_URL + "static/pack.css%00.png",
        BASE_URL + "static/",
        BASE_URL + "static/icons",
        BASE_URL + "pyproject.toml",
        BASE_URL.replace("https:", "http:") + "static/pack.css",
        BASE_URL.rstrip("/") + ":8080/static/pack.css",
        BASE_URL.replace("//", "//user@") + "static/pack.css",
    ]
    for url in refused:
        with pytest.raises(Exception) as e:
            fetch(url)
        assert "refused" in str(e.value).lower(), (url, e.value)
    time.sleep(0.3)
    assert listener.connections == 0


# --- C. Content-Security-Policy on every page -----------------------------------------------------
class InlineFinder(html.parser.HTMLParser):
    """What a strict CSP would block in a page: inline scripts, event-handler and
    style attributes, javascript: URLs, htmx's hx-on."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in attrs
            if self._in_script:
                self.found.append("inline <script>")
        if tag == "style":
            self.found.append("inline <style>")
        for name, value in attrs.items():
            if name.startswith("on") or name.startswith("hx-on") or name == "style":
                self.found.append(f"<{tag} {name}=...>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def csp_directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def check_csp(response, label: str) -> None:
    assert response.mimetype == "text/html", label
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{label}: no Content-Security-Policy"
    d = csp_directives(header)
    for directive in ("script-src", "style-src"):
        sources = d.get(directive, d.get("default-src"))
        assert sources == ["'self'"], (label, directive, sources)
    assert d["default-src"] == ["'self'"], label
    for directive, value in (("object-src", ["'none'"]), ("base-uri", ["'none'"]),
                             ("frame-ancestors", ["'none'"]), ("form-action", ["'self'"])):
        assert d.get(directive) == value, (label, directive)
    assert "unsafe" not in header and "*" not in header and "http:" not in header, (label, header)
    finder = InlineFinder()
    finder.feed(response.get_data(as_text=True))
    assert finder.found == [], (label, finder.found)


def test_every_html_page_carries_a_strict_csp(web, app, world, system):
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    oid = observation(target, "secure")["observation_id"]
    app.record_observation(system, amy, **{**observation(target, "secure"), "observation_id": oid})
    check_csp(web.get("/login"), "sign-in")
    check_csp(sign_in(web, password="wrong"), "sign-in with an error")
    check_csp(web.get("/offline"), "offline")
    sign_in(web)
    page = web.get("/")
    check_csp(page, "today")
    html = page.get_data(as_text=True)
    assert re.search(r'<meta name="htmx-config" content=\'\{[^\']*"includeIndicatorStyles": false', html)
    assert '"allowEval": false' in html and '"allowScriptTags": false' in html
    for path, label in ((f"/learners/{amy}", "learner"),
                        (f"/learners/{amy}/observations/{oid}", "observation"),
                        (f"/learners/{amy}/observations/{oid}?history=1", "observation with history"),
                        (f"/learners/{amy}/self-assessment", "self-assessment"),
                        (f"/learners/{amy}/reviews/new", "progress review"),
                        (f"/learners/{amy}/annual-review", "annual-review pack")):
        response = web.get(path)
        assert response.status_code == 200, label
        check_csp(response, label)
    check_csp(web.get(f"/learners/{uuid.uuid4()}"), "404")
    forbidden = web.get("/cohort")
    assert forbidden.status_code == 403
    check_csp(forbidden, "403")
    bad = web.post(f"/learners/{amy}/reviews/new", data={"csrf_token": token_of(html), "held_on": "nope"})
    assert bad.status_code == 422
    check_csp(bad, "progress review with errors")
    web.post("/logout", data={"csrf_token": token_of(html)})
    sign_in(web, "lead@example.org")
    check_csp(web.get("/cohort"), "cohort")
    check_csp(web.get("/no-such-page"), "404 of an unknown path")
    # The shell keeps working: the worker script and the manifest are served as before.
    worker = web.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    manifest = web.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.get_json()["start_url"] == "/"
