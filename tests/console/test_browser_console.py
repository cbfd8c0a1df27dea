"""Each role's main path in a real headless Chromium against `qa-audit serve` on a free port:
the lead decides from the queue while the player seeks to the evidence, the agent appeals
and later reads the answer, the head draws a sample, the office downloads the workbook.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from .console_support import PASSWORD, RunningConsole, build_store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--autoplay-policy=no-user-gesture-required"]
CALL_402 = "20261116_094030_301_repair_402"  # agent 301; PCM16 stereo WAV
CALL_406 = "20261120_164503_318_repair_406"  # agent 318; MP3; wrong station

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and shutil.which("chromium") is None,
                       reason="chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    db = build_store(tmp_path_factory.mktemp("browser") / "qa.sqlite")
    running = RunningConsole(db)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed")
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def open_as(console, browser):
    """open_as(name) -> a page signed in through the login form."""
    contexts = []

    def make(name: str, **options):
        context = browser.new_context(accept_downloads=True, locale="zh-CN",
                                      viewport={"width": 1280, "height": 900}, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        page.goto(console.url + "/")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    yield make
    for context in contexts:
        context.close()


def _player_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_chinese_renders_with_a_cjk_font_not_boxes(open_as):
    """Two different characters drawn with the page's font differ; as boxes they would not."""
    page = open_as("王班长")
    same = page.evaluate("""() => {
        const font = getComputedStyle(document.body).fontFamily;
        const draw = (ch) => {
            const c = document.createElement('canvas'); c.width = 40; c.height = 40;
            const g = c.getContext('2d'); g.font = '32px ' + font; g.fillText(ch, 2, 32);
            return g.getImageData(0, 0, 40, 40).data.join(',');
        };
        return draw('录') === draw('音');
    }""")
    assert same is False, "Chinese renders as boxes: install fonts-noto-cjk"
    assert page.locator("header.top .brand").inner_text() == "大龙供暖 · 录音质检台"


def test_lead_decides_from_the_queue_and_the_player_seeks_to_the_evidence(open_as):
    page = open_as("王班长")
    assert page.url.endswith("/queue")
    row = page.locator(f"table.queue tr[data-call='{CALL_402}']").first
    item = row.get_attribute("data-item")
    row.locator("a.open").click()
    page.wait_for_url(f"**/calls/{CALL_402}*")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    assert _player_time(page) == 0

    target = page.locator(f"tr#item-{item}")
    evidence = target.locator("button.evidence").first
    at = float(evidence.get_attribute("data-seek"))
    evidence.click()
    page.wait_for_function(
        f"Math.abs(document.getElementById('player').currentTime - {at}) < 1.5")
    marked = page.locator("ol.lines li.now")
    assert marked.count() >= 1
    assert page.locator("ol.lines li.evidence").count() >= 1

    target.locator("input[name=note]").fill("听了录音，没问题")
    target.locator("button[value=pass]").click()
    page.wait_for_load_state()
    decided = page.locator(f"tr#item-{item}")
    decided.locator(".status.pass").wait_for()
    assert "机器原判：待复核" in decided.inner_text()
    assert "听了录音，没问题" in decided.inner_text()

    # The next call waiting in the queue is one click away.
    page.click("a#next-item")
    page.wait_for_load_state()
    assert "/calls/" in page.url and CALL_402 not in page.url
    page.goto(page.url.split("/calls/")[0] + "/queue")
    remaining = {(r.get_attribute("data-call"), r.get_attribute("data-item"))
                 for r in page.locator("table.queue tbody tr").all()}
    assert (CALL_402, item) not in remaining
    assert page.errors == []


def test_agent_appeals_and_later_sees_the_answer(open_as):
    agent = open_as("a318")
    assert agent.url.endswith("/my")
    agent.locator(".chart .main-svg").first.wait_for()  # the month's trend is drawn
    # Flagged calls come first, and each is reachable.
    rows = agent.locator("table.calls tbody tr")
    assert rows.count() == 2
    agent.locator(f"table.calls tr[data-call='{CALL_406}'] a").click()
    agent.wait_for_url(f"**/calls/{CALL_406}")
    station = agent.locator("tr#item-station")
    station.locator("details.appeal-box summary").click()
    station.locator("textarea[name=reason]").fill("住户先说的是电力局家属院，我按别名派的单")
    station.locator("button.primary").click()
    agent.wait_for_load_state()
    agent.locator("tr#item-station .appeal.open").wait_for()
    assert "处理中" in agent.locator("tr#item-station .appeal").inner_text()

    lead = open_as("王班长")
    lead.goto(lead.url.split("/queue")[0] + "/appeals?state=open")
    appeal_row = lead.locator("table.appeals tr.appeal.open").first
    appeal_row.locator("input[name=note]").fill("电力小区归滨河站，派单有误，维持原判")
    appeal_row.locator("button[value=reject]").click()
    lead.wait_for_load_state()
    lead.locator("td.empty").wait_for()  # no open appeal left

    agent.goto(agent.url.split("/calls/")[0] + "/my")
    mine = agent.locator("table.appeals tr.appeal").first
    assert "已驳回" in mine.inner_text()
    assert "电力小区归滨河站，派单有误，维持原判" in mine.inner_text()
    # The answered appeal stays visible on the call page too.
    agent.goto(agent.url.split("/my")[0] + f"/calls/{CALL_406}")
    assert "答复：电力小区归滨河站" in agent.locator("tr#item-station").inner_text()
    assert agent.errors == [] and lead.errors == []


def test_head_draws_the_weekly_sample(open_as):
    page = open_as("赵部长")
    page.goto(page.url.split("/queue")[0] + "/sample")
    page.fill("input[name=from]", "2026-11-16")
    page.fill("input[name=to]", "2026-11-22")
    page.fill("input[name=per_agent]", "1")
    page.fill("input[name=seed]", "47")
    page.click("#sample-form button[type=submit]")
    page.locator("#sample-result table.sample").wait_for()
    assert page.locator("#sample-result table.sample tbody tr").count() == 5
    page.goto(page.url.split("/sample")[0] + "/log")
    assert page.locator("table.log tr[data-action='sample']").count() == 1
    assert page.errors == []


def test_office_downloads_the_workbook_and_it_opens(open_as):
    page = open_as("钱会计")
    assert "/dashboard" in page.url
    page.goto(page.url.split("?")[0] + "?month=2026-11")
    page.locator("#chart-agents .main-svg").first.wait_for()
    assert page.locator(".chart .main-svg").count() >= 6
    with page.expect_download() as info:
        page.click("a#tally")
    download = info.value
    assert download.suggested_filename == "tally-2026-11.xlsx"
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert {"坐席 agents", "维修站 stations", "申诉 appeals"} <= set(book.sheetnames)
    # The office has no call pages.
    response = page.goto(page.url.split("/dashboard")[0] + f"/calls/{CALL_402}")
    assert response.status in (403, 404)
    assert page.errors == []
