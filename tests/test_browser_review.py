"""The self-review page in a real headless Chromium: clicking evidence moves the player."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers_audits import november, write_wav

from qa_audit.review_page import write_review_page
from qa_audit.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and shutil.which("chromium") is None,
                       reason="chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture()
def page_dir(tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    wav = write_wav(recordings / "call.wav", 50)
    calls = november(audio=str(wav))
    with Store(tmp_path / "results.sqlite") as store:
        for call in calls:
            store.save_audit(call.audit, transcript=call.transcript, meta=call.meta)
        store.save_tickets(c.ticket for c in calls if c.ticket)
        write_review_page(store, "307", tmp_path / "page")
    return tmp_path / "page", calls


@pytest.fixture()
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed")
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _current_time(page, call_id: str) -> float:
    return page.evaluate(
        "id => document.querySelector(`section[data-call='${id}'] audio`).currentTime", call_id)


def test_clicking_evidence_jumps_the_player_to_it(page_dir, browser):
    folder, calls = page_dir
    page = browser.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((folder / "index.html").as_uri())

    first = calls[0].audit
    evidence = first.item("readback_name").evidence[0]
    section = page.locator(f"section[data-call='{first.call_id}']")
    page.wait_for_function(
        "id => document.querySelector(`section[data-call='${id}'] audio`).readyState >= 1",
        arg=first.call_id)
    assert _current_time(page, first.call_id) == 0

    section.locator(f"button.evidence[data-seek='{evidence.start}']").click()
    page.wait_for_function(
        "([id, at]) => { const a = document.querySelector(`section[data-call='${id}'] audio`);"
        " return a.currentTime >= at - 0.05 && a.currentTime < at + 2; }",
        arg=[first.call_id, evidence.start])
    # The line the evidence came from is marked in the transcript.
    marked = section.locator("ol.lines li.now")
    assert marked.count() == 1
    assert float(marked.get_attribute("data-start")) == evidence.start

    # A line of the second call's transcript moves the second call's player, not the first's.
    second = calls[1].audit
    line = calls[1].transcript.utterances[5]
    section = page.locator(f"section[data-call='{second.call_id}']")
    section.locator(f"ol.lines button[data-seek='{line.start}']").click()
    page.wait_for_function(
        "([id, at]) => { const a = document.querySelector(`section[data-call='${id}'] audio`);"
        " return a.currentTime >= at - 0.05 && a.currentTime < at + 2; }",
        arg=[second.call_id, line.start])
    assert errors == []


def test_page_fits_a_laptop_screen_and_lists_the_calls(page_dir, browser):
    folder, _ = page_dir
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((folder / "index.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 1200
    assert page.locator("header h1").inner_text() == "录音自查 · 工号 307"
    assert page.locator("section.call").count() == 4
    # The table of contents leads to each call.
    page.locator("nav.toc a").nth(2).click()
    assert page.evaluate("location.hash").startswith("#call-")
