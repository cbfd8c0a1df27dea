"""Take docs/console.png: the console's call page as a shift lead sees it.

    .venv/bin/python scripts/console_screenshot.py [--out docs/console.png]

Builds the sample store (tests/data/console, no speech model), starts `qa-audit serve` on a
free port and photographs a call page in Debian's headless Chromium (needs fonts-noto-cjk
for the Chinese).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from console.console_support import PASSWORD, RunningConsole, build_store  # noqa: E402

CALL = "20261116_081205_318_repair_401"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "console.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        db = build_store(Path(folder) / "qa.sqlite")
        console = RunningConsole(db)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--headless", "--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1280, "height": 1000},
                                        device_scale_factor=1, locale="zh-CN")
                page.goto(console.url + "/login")
                page.fill("input[name=username]", "王班长")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state()
                page.goto(f"{console.url}/calls/{CALL}#item-address")
                page.wait_for_function("document.getElementById('player').readyState >= 1")
                page.locator("tr#item-address button.evidence").first.click()
                page.wait_for_timeout(400)
                page.evaluate("document.getElementById('player').pause()")
                page.evaluate("window.scrollTo(0, 0)")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            console.stop()
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
