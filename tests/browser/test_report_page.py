"""report.html in a real headless Chromium with every network request refused: each figure's
image loads (the page is self-contained) and the tables read as in the file. The screenshot goes
to test-artifacts/report-page.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.conftest import VIOLATIONS, write_results
from twin.report.build import build_report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def test_report_page_is_self_contained_in_a_browser(tmp_path):
    run = write_results(tmp_path / "run", violations=VIOLATIONS, grid_baseline=True, detail=True)
    report = build_report(run, only={"fleet_power", "grid_extremes", "grid_worst"})
    assert len(report.figures) == 3
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})

            def refuse(route):
                requests.append(route.request.url)
                route.abort()

            context.route("http*://**", refuse)
            page = context.new_page()
            page.goto(report.html_path.resolve().as_uri())
            page.wait_for_load_state("load")
            sizes = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
            )
            assert [s[0] for s in sizes] == [f.title for f in report.figures]
            assert all(complete and width > 500 for _, complete, width in sizes), sizes
            cell = page.locator("td", has_text="Transformer overload").first
            assert cell.is_visible()
            assert (
                page.locator("h2", has_text="Grid violations: controlled vs baseline").count() == 1
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(
                path=str(ARTIFACTS / "report-page.png"), full_page=True, timeout=120_000
            )
        finally:
            browser.close()
    assert requests == []  # nothing asked of the network
