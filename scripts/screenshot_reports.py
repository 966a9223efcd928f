"""Build `twin report` for run folders and screenshot each report.html in headless Chromium.

    .venv/bin/python scripts/screenshot_reports.py results/default results/island_year \
        --out test-artifacts/report-screenshots

One full-page PNG per run (`<out>/<run folder name>.png`); the page is opened from file:// with
every request to the network refused, and the script fails if an image of the page did not
load (the report must be self-contained). Needs Debian's chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
VIEWPORT = {"width": 1200, "height": 900}


def screenshot(pages: list[tuple[Path, Path]]) -> list[str]:
    """(report.html, png) pairs; returns one problem line per page whose images did not load."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        context.route("http*://**", lambda route: route.abort())  # self-contained or broken
        page = context.new_page()
        for html, png in pages:
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.alt)"
            )
            count = page.evaluate("document.images.length")
            if broken or not count:
                problems.append(f"{html}: {count} images, not loaded: {broken}")
            png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(png), full_page=True, timeout=120_000)
        browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("test-artifacts/report-screenshots"))
    parser.add_argument("--keep", action="store_true", help="Use an existing report.html.")
    args = parser.parse_args(argv)
    from twin.report.build import build_report
    from twin.results import columns as col

    pages = []
    for run in args.runs:
        html = run / col.REPORT_FILE
        if not (args.keep and html.exists()):
            t0 = time.perf_counter()
            built = build_report(run)
            print(f"{run}: {len(built.figures)} figures in {time.perf_counter() - t0:.1f} s")
        pages.append((html, args.out / f"{run.name}.png"))
    problems = screenshot(pages)
    for line in problems:
        print(line, file=sys.stderr)
    for _, png in pages:
        print(png)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
