"""Enrol and plan in a real browser (Chromium driven by Playwright, against a
real `rarpa serve`): a SEND lead enrols a learner with a dual placement, adds
two EHCP outcomes, a programme aim and a target serving both; then a tutor,
once the learner is on their caseload (by the CLI, as an operator would),
records an observation against that target from the learner page.

Every new page is checked with axe-core at tablet size, with and without
errors showing; any Content-Security-Policy violation fails the test (the
watch in tests/test_browser.py). What the browser did is checked against
the API. Screenshots for people to look at go to /tmp/rarpa-shots/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.localhost import serving
from tests.test_browser import (  # noqa: F401  (fixtures, used by name)
    ROOT,
    TABLET,
    Server,
    _cli,
    _env,
    _new_page,
    api_get,
    axe,
    browser,
    context_page,
    no_csp_violations,
    shot,
    sign_in,
)

LEAD = "lead@example.org"
TUTOR = "tutor@example.org"


@dataclass(frozen=True)
class Store:
    """The served store's folder and environment, for the command line."""

    folder: Path
    env: dict

    def cli(self, *args: str) -> str:
        return _cli(list(args), self.env, self.folder)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-plan-store")
    env = _env(folder / "rarpa.sqlite3")
    _cli(["demo", "--learners", "1"], env, folder)
    with serving(env, ROOT, folder / "serve.log") as served:
        yield served.base, Store(folder, env)


@pytest.fixture(scope="module")
def server(store):
    """As tests/test_browser.py's: the base address and the tutor's API token."""
    base, s = store
    return Server(base, s.cli("token", "create", TUTOR).strip())


def tap_chip(page, field: str, value: str) -> None:
    """Tap a choice drawn as a chip (the radio under it is visually hidden)."""
    page.locator(f'label[for="{field}-{value}"]').click()


def submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name).click()


def add_outcome(page, text: str, area: str, due: str) -> None:
    page.get_by_role("link", name="Add an EHCP outcome").click()
    page.get_by_label("Outcome", exact=True).fill(text)
    tap_chip(page, "pfa_area", area)
    page.get_by_label("Due by").fill(due)
    submit(page, "Add the outcome")
    expect(page.get_by_role("status")).to_have_text("The outcome is added.")


def test_a_send_lead_enrols_and_plans_then_a_tutor_records(context_page, browser, server, store):  # noqa: F811
    _, s = store
    context, page = context_page
    sign_in(page, server, LEAD)

    # 1. Enrol, with a dual placement: first with a mistake, said in plain words by its field.
    page.get_by_role("link", name="Enrol a learner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrol a learner")
    axe(page, "the enrol page")
    shot(page, "plan-01-enrol")
    page.get_by_label("Preferred name (optional)").fill("Zee")
    page.get_by_label("Date of birth").fill("2008-02-14")
    page.get_by_label("Second provider (optional)").select_option("riverside")
    submit(page, "Enrol the learner")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Enter the learner's full name")
    expect(page.locator("#name-error")).to_contain_text("Enter the learner's full name")
    expect(page.get_by_label("Preferred name (optional)")).to_have_value("Zee")  # the answers are kept
    expect(page.get_by_label("Second provider (optional)")).to_have_value("riverside")
    axe(page, "the enrol page with an error")
    shot(page, "plan-02-enrol-error")
    summary.get_by_role("link", name="Enter the learner's full name").click()
    expect(page.get_by_label("Full name")).to_be_focused()  # the summary takes you to the field
    page.get_by_label("Full name").fill("Zainab Hussain")
    submit(page, "Enrol the learner")
    match = re.search(r"/learners/([0-9a-f-]{36})\?enrolled=1(#.*)?$", page.url)
    assert match, page.url
    lid = match.group(1)
    expect(page.get_by_role("heading", level=1)).to_have_text("Zee H.")
    expect(page.locator(".lede")).to_contain_text("Riverside")

    # 2. The plan: two outcomes in two PfA areas, an aim serving both, a target serving both.
    page.get_by_role("link", name="Plan: outcomes, aims and targets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan: Zee H.")
    axe(page, "the empty plan")
    page.get_by_role("link", name="Add an EHCP outcome").click()
    submit(page, "Add the outcome")  # nothing filled in: three plain refusals
    for field, said in (("text", "Enter the outcome's wording"), ("pfa_area", "Choose a Preparing for Adulthood area"),
                        ("due", "Enter the date it is due by")):
        expect(page.locator(f"#{field}-error")).to_contain_text(said)
    axe(page, "the outcome form with errors")
    shot(page, "plan-03-outcome-errors")
    page.get_by_role("link", name=re.compile("Back to Zee H.'s plan")).click()
    add_outcome(page, "Zee will travel to college on the bus on her own.", "independent_living", "2027-07-01")
    add_outcome(page, "Zee will make and keep a friend at college.", "community", "2027-07-01")

    page.get_by_role("link", name="Agree a programme aim").click()
    axe(page, "the aim form")
    shot(page, "plan-04-aim")
    page.get_by_label("Programme aim").fill("Get about and make friends")
    page.get_by_label(re.compile("Independent living: Zee will travel")).check()
    page.get_by_label(re.compile("Friends, relationships and community: Zee will make")).check()
    submit(page, "Agree the aim")
    expect(page.get_by_role("status")).to_have_text("The programme aim is agreed.")

    page.get_by_role("link", name="Set a target", exact=True).click()
    axe(page, "the target form")
    page.get_by_label("Target", exact=True).fill("Say hello to a classmate on the bus")
    page.get_by_label("What success looks like").fill("Every day for a week, unprompted")
    page.get_by_label(re.compile("Independent living: Zee will travel")).check()
    page.get_by_label(re.compile("Friends, relationships and community: Zee will make")).check()
    tap_chip(page, "baseline", "emerging")
    page.get_by_label("Review by").fill("2027-01-15")
    shot(page, "plan-05-target")
    submit(page, "Set the target")
    expect(page.get_by_role("status")).to_have_text("The target is set.")
    axe(page, "the plan with outcomes, an aim and a target")
    shot(page, "plan-06-plan")

    # The change forms, looked at (and the outcome's amendment refused without a reason).
    page.get_by_role("link", name=re.compile("^Amend the outcome: Zee will travel")).click()
    page.get_by_label("Due by").fill("2027-09-01")
    submit(page, "Save the amended outcome")
    expect(page.locator("#reason-error")).to_contain_text("Enter a reason for the change")
    expect(page.get_by_label("Due by")).to_have_value("2027-09-01")
    axe(page, "the amend form with an error")
    shot(page, "plan-07-amend-error")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name=re.compile("^Revise or renegotiate")).click()
    axe(page, "the revise form")
    shot(page, "plan-08-revise")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name=re.compile("^Close the target: Say hello")).click()
    axe(page, "the close form")
    shot(page, "plan-09-close")
    page.get_by_role("link", name="Cancel").click()

    page.goto(server.url(f"/learners/{lid}"))
    expect(page.locator(".aims")).to_contain_text("Get about and make friends")
    axe(page, "the learner page with its aims")
    shot(page, "plan-10-learner")

    # 3. The tutor, once the learner is on their caseload, records against that target.
    assert s.cli("caseload", "add", TUTOR, lid).strip() == "added"
    tutor_context, tutor = _new_page(browser, TABLET)
    try:
        sign_in(tutor, server, TUTOR)
        tutor.goto(server.url(f"/learners/{lid}"))
        expect(tutor.get_by_role("link", name="Plan: outcomes, aims and targets")).to_have_count(0)
        card = tutor.locator("article.target", has_text="Say hello to a classmate on the bus").first
        card.locator("details.record > summary").click()
        card.get_by_role("button", name="Developing", exact=True).click()
        expect(tutor.locator("article.target .flash").first).to_contain_text("Recorded")
    finally:
        tutor_context.close()

    # What the browser did, as the API tells it (the tutor's token).
    progress = api_get(server, f"/learners/{lid}/progress")
    (target,) = progress["targets"]
    assert target["text"] == "Say hello to a classmate on the bus" and target["baseline"] == "emerging"
    assert sorted(target["outcome_ids"]) == sorted(o["id"] for o in progress["outcomes"]) and len(progress["outcomes"]) == 2
    assert target["observations"] == 1 and target["latest"] == "developing"
    learner = api_get(server, f"/learners/{lid}")
    assert learner["providers"] == [{"provider": "northfield", "lead": True}, {"provider": "riverside", "lead": False}]
    joined = [e for e in api_get(server, f"/learners/{lid}/events")[1:] if e["type"] == "ProviderJoined"]
    assert [(e["joined"], e["reason"]) for e in joined] == [("riverside", "Dual placement agreed at enrolment")]

    # 4. The whole cycle on the same learner: the lead records a summative
    # judgement of the target and a destination, and the pack shows all of it.
    page.goto(server.url(f"/learners/{lid}/end-of-programme"))
    item = page.locator("article.eop-item[id^='t-']", has_text="Say hello to a classmate on the bus")
    if item.locator("details.eop-form[open]").count() == 0:
        item.locator("details.eop-form > summary").click()
    item.locator("label.chip-choice", has_text="secure").click()
    item.get_by_label("What the learner can do now").fill("Says hello on the bus most days without a prompt.")
    item.get_by_role("button", name="Save the judgement").click()
    expect(page.locator(".flash")).to_have_text("The judgement is saved.")
    page.get_by_role("link", name="Record a destination").click()
    page.locator("label.chip-choice", has_text="further learning").click()
    page.get_by_label("Starts on").fill("2027-09-06")
    page.get_by_role("button", name="Save the destination").click()
    page.goto(server.url(f"/learners/{lid}/annual-review"))
    pack = page.locator("div.pack")
    for said in ("Zee will travel to college on the bus on her own.", "Zee will make and keep a friend at college.",
                 "Say hello to a classmate on the bus", "Says hello on the bus most days without a prompt.",
                 "Get about and make friends", "Destination: further learning"):
        expect(pack).to_contain_text(said)
    axe(page, "the new learner's annual-review pack")
