"""Records to download, in a real browser (Chromium driven by Playwright), on a
demo store served by a real `rarpa serve` (the fixtures of tests/test_browser.py).

The SEND lead finds "Records to download" on a learner's page, downloads the
transfer pack and the subject-access bundle (POST forms), and the files inside
open on their own at tablet size: summary.html for the receiving college and
index.html for the learner, each axe-core clean, with no Content-Security-
Policy violation (their own meta policy allows only their inline CSS).
Screenshots for people go to /tmp/rarpa-shots/bundles-*.png.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from playwright.sync_api import expect

from tests import test_browser as shared
from tests.test_browser import AXE, AXE_TAGS, SHOTS, TABLET, WAIT_MS, _new_page, axe, learner_id, shot, sign_in

browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)

LEAD = "lead@example.org"
LEAD_NAME = "Priya Shah"  # the demo's Northfield SEND lead
LEARNER = 1  # a Northfield learner
MAKE_MS = 60_000  # the bound on making a ZIP (a PDF is rendered for the transfer pack): generous, CPUs are shared


def download(page, button: str) -> dict[str, bytes]:
    """Press a download button on the page; the ZIP's files, after checking its manifest."""
    with page.expect_download(timeout=MAKE_MS) as started:
        page.get_by_role("button", name=button).click(timeout=MAKE_MS)  # the click waits for the answer too
    with open(started.value.path(), "rb") as f:
        data = f.read()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {name: z.read(name) for name in z.namelist()}
    manifest = json.loads(files["manifest.json"])
    assert [f["name"] for f in manifest["files"]] == [n for n in files if n != "manifest.json"]
    for f in manifest["files"]:
        assert hashlib.sha256(files[f["name"]]).hexdigest() == f["sha256"]
    return files


def axe_offline(browser, path, label: str) -> None:
    """axe-core on a file opened from disk: injected by Playwright, so this
    context bypasses the file's own policy (which allows no script at all)."""
    context = browser.new_context(viewport=TABLET, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
        assert result["passes"], "axe checked nothing"
        problems = [f"[{v['id']}] {v['help']}: " + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"])
                    for v in result["violations"]]
        assert not problems, f"axe on {label}:\n" + "\n".join(problems)
    finally:
        context.close()


def open_offline(browser, path, name: str):
    """The file as someone opens it from the ZIP (watched for CSP violations); a full-page screenshot."""
    context, page = _new_page(browser, TABLET)
    try:
        page.goto(path.as_uri())
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("performance.getEntriesByType('resource').length") == 0  # nothing fetched
        assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]  # no sideways scrolling
        # A full page of a long record: generous, CPUs are shared (a screenshot is not what is tested).
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, timeout=MAKE_MS)
        page.screenshot(path=str(SHOTS / f"{name}-top.png"), timeout=MAKE_MS)
        return page.locator("body").inner_text(timeout=WAIT_MS)
    finally:
        context.close()


def test_the_send_lead_downloads_both_and_each_opens_on_its_own(page, server, browser, tmp_path):
    sign_in(page, server, LEAD)
    lid = learner_id(LEARNER)
    page.goto(server.url(f"/learners/{lid}"))
    section = page.locator("section.bundles")
    expect(section.get_by_role("heading", name="Records to download")).to_be_visible()
    axe(page, "the learner page with Records to download")
    section.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "bundles-learner-section.png"))
    box = section.get_by_role("button", name="Transfer pack (ZIP)").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44

    transfer = download(page, "Transfer pack (ZIP)")
    assert sorted(transfer) == ["annual-review-pack.pdf", "export.jsonl", "manifest.json", "summary.html"]
    expect(page).to_have_url(server.url(f"/learners/{lid}"))  # a download: the page stays
    subject = download(page, "Subject access request (ZIP)")
    assert sorted(subject) == ["export.jsonl", "index.html", "manifest.json", "record.json"]

    summary, index = tmp_path / "summary.html", tmp_path / "index.html"
    summary.write_bytes(transfer["summary.html"])
    index.write_bytes(subject["index.html"])

    text = open_offline(browser, summary, "bundles-summary")
    assert "a summary for" in text and "Started at" in text and "Recent evidence" in text
    axe_offline(browser, summary, "summary.html of the transfer pack")

    text = open_offline(browser, index, "bundles-subject-access")
    assert "Who has looked at your record" in text
    assert f"{LEAD_NAME} (SEND lead) made a transfer pack for your next college" in text  # the download before
    axe_offline(browser, index, "index.html of the subject-access bundle")
    shot(page, "bundles-learner-page")
