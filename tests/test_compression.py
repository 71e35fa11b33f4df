"""Light on bad wifi (issue 14): pages and JSON are compressed on the wire,
Brotli where the browser takes it, else gzip; photos, PDFs and anything the
browser did not ask to have compressed go as they are (web/compression.py)."""

from __future__ import annotations

import gzip
import re

import brotli

from tests.conftest import PASSWORD, observation
from tests.test_access_matrix import CSRF_TOKEN
from tests.test_photos import noise_jpeg
from tests.test_web import sign_in


def _page_of_evidence(app, system, world, n=60):
    lid, target = world["learners"]["amy"], world["amy"]["target"]
    for i in range(n):
        app.record_observation(system, lid, **observation(target, "developing", minutes_ago=10 + i,
                                                          context="classroom", note=f"Counted the coins, try {i}"))
    return lid


def _same_page(a: bytes, b: bytes) -> bool:
    return CSRF_TOKEN.sub(b"(csrf)", a) == CSRF_TOKEN.sub(b"(csrf)", b)


def test_a_learner_page_goes_compressed_and_reads_the_same(app, system, world, web):
    lid = _page_of_evidence(app, system, world)
    sign_in(web, "tutor@example.org", PASSWORD)
    plain = web.get(f"/learners/{lid}/evidence")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers  # not asked: as it is
    br = web.get(f"/learners/{lid}/evidence", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br" and "Accept-Encoding" in br.headers["Vary"]
    assert _same_page(brotli.decompress(br.data), plain.data)
    assert len(br.data) < 0.3 * len(plain.data), (len(br.data), len(plain.data))
    gz = web.get(f"/learners/{lid}/evidence", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and _same_page(gzip.decompress(gz.data), plain.data)
    assert gz.headers["Cache-Control"] == "private, no-store"  # still never kept by a shared cache


def test_json_is_compressed_and_photos_are_not(app, system, world, web):
    lid = _page_of_evidence(app, system, world, n=20)
    app.record_consent(system, lid, consent="photographs", given=True, reason="Asked")
    body = observation(world["amy"]["target"], "secure")
    pid = app.record_observation_with_photo(system, lid, photo=noise_jpeg(seed=2), **body).result["photo_id"]
    token = {"Authorization": f"Bearer {app.create_token('tutor@example.org')}", "Accept-Encoding": "gzip"}
    progress = web.get(f"/api/v1/learners/{lid}/progress", headers=token)
    assert progress.headers.get("Content-Encoding") == "gzip"
    assert re.search(rb'"observations": ?21', gzip.decompress(progress.data))
    photo = web.get(f"/api/v1/learners/{lid}/observations/{body['observation_id']}/photos/{pid}", headers=token)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and "Content-Encoding" not in photo.headers


def test_static_files_go_by_content_hashed_names_kept_a_year(web):
    """Pages name static files by their content; such a name is kept a year
    (immutable); an old name still gets the file, never kept; nothing outside
    static/ is reachable through it."""
    page = web.get("/login").get_data(as_text=True)
    found = re.search(r'href="(/static/h/([0-9a-f]{12})/app\.css)"', page)
    assert found, "the page does not name app.css by its hash"
    from pathlib import Path
    import hashlib

    assert found.group(2) == hashlib.sha256((Path(__file__).parent.parent / "static" / "app.css").read_bytes()).hexdigest()[:12]
    kept = web.get(found.group(1))
    assert kept.status_code == 200 and kept.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    old = web.get("/static/h/000000000000/app.css")
    assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache" and old.data == kept.data
    for path in ("/static/h/000000000000/../pyproject.toml", "/static/h/000000000000/%2e%2e/pyproject.toml",
                 "/static/h/000000000000/nothing.css"):
        assert web.get(path).status_code == 404, path
    sw = web.get("/sw.js").get_data(as_text=True)
    assert found.group(1) in sw  # the offline shell keeps the same names
