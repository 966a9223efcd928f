"""Screenshots of report.html for real runs of the seed studies, in headless Chromium.

    python scripts/report_screenshots.py [--out test-artifacts] [--studies default frequency_event ...]

Runs each study (island_year shortened to 21 days with `duration=21d`, so its long-run views are
drawn in seconds instead of the year's 5 minutes), builds its report from the results folder alone
and writes `<out>/report-<study>.png` (full page) with every network request refused, checking
that each figure's image loaded. Needs chromium (`apt-get install -y chromium`) and playwright.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STUDIES = {
    "default": {},
    "frequency_event": {},
    "v2g_regulation": {},
    "island_year": {"duration": "21d"},
}
CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts")
    parser.add_argument("--studies", nargs="*", default=list(STUDIES))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from twin.catalog import load_scenario
    from twin.report.build import build_report
    from twin.run.world import prepare_run

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # All runs first: playwright's sync API keeps an event loop running in this thread,
        # and a mosaik world cannot start its own beside it.
        reports = {}
        for name in args.studies:
            t0 = time.perf_counter()
            overrides = STUDIES.get(name) or None
            scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml", overrides)
            run_dir = Path(tmp) / name
            prepare_run(scenario, run_dir).run(progress=False)
            reports[name] = build_report(run_dir)
            print(f"{name}: run and report in {time.perf_counter() - t0:.0f} s")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            for name, report in reports.items():
                context = browser.new_context(viewport={"width": 1200, "height": 900})
                refused: list[str] = []

                def refuse(route, seen=refused):  # bound now: each study has its own list
                    seen.append(route.request.url)
                    route.abort()

                context.route("http*://**", refuse)
                page = context.new_page()
                page.goto(report.html_path.resolve().as_uri())
                page.wait_for_load_state("load")
                images = page.evaluate(
                    "Array.from(document.images).map(i => [i.alt, i.naturalWidth])"
                )
                broken = [alt for alt, width in images if width == 0]
                shot = args.out / f"report-{name}.png"
                page.screenshot(path=str(shot), full_page=True, timeout=180_000)
                context.close()
                print(
                    f"{name}: {len(images)} figures, {len(broken)} broken, "
                    f"{len(refused)} network requests -> {shot}"
                )
                if broken or refused:
                    return 1
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
