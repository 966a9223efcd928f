"""`twin report`: report.html and the PNG figures from a results folder alone, the KPIs that
apply with their units, and the long-run, violations and baseline-grid views when the run has
them."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tests.report.conftest import TWIN, VIOLATIONS, write_results
from twin.report.build import FIGURES, build_report
from twin.report.data import load_run_data
from twin.report.kpi_rows import kpi_rows
from twin.results import columns as col

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
# The modules that know about the scenario sources: the study's schema and loader, the catalog
# of services and grids, the grid builders and the co-simulation. A report needs none of them.
SOURCES = ("twin.config", "twin.catalog", "grids", "pandapower", "simbench", "mosaik", "twin.run")


def _figures_on_page(html: str) -> list[str]:
    return [alt for alt, _ in IMG.findall(html)]


def test_report_of_a_copied_run_folder_is_drawn_from_its_files_alone(default_run, tmp_path):
    # The folder moves to a machine without the study's sources: another folder, no scenarios/,
    # and the modules that read scenario sources cannot even be imported.
    copy = tmp_path / "elsewhere" / "run"
    shutil.copytree(default_run, copy)
    for stale in (copy / col.REPORT_FILE, copy / col.FIGURES_DIR):
        assert not stale.exists()
    script = (
        "import sys\n"
        f"for m in {SOURCES!r}: sys.modules[m] = None\n"
        "from twin.report.build import build_report\n"
        f"r = build_report({str(copy)!r})\n"
        "print(' '.join(f.slug for f in r.figures)); print('skipped', r.skipped)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert res.returncode == 0, res.stderr
    slugs = res.stdout.splitlines()[0].split()
    assert res.stdout.splitlines()[1] == "skipped []"
    # every figure a day of the default study can have, each as a PNG and inline on the page
    assert {"fleet_power", "soc", "ems", "grid_extremes", "grid_trafos", "grid_worst"} <= set(slugs)
    html = (copy / col.REPORT_FILE).read_text(encoding="utf-8")
    titles = {s.slug: s.title for s in FIGURES}
    assert _figures_on_page(html) == [titles[s] for s in slugs]
    for slug, (_, b64) in zip(slugs, IMG.findall(html), strict=True):
        png = (copy / col.FIGURES_DIR / f"{slug}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 20_000  # a drawn figure, not a blank
        assert base64.b64decode(b64) == png
    # self-contained: nothing the page loads comes from elsewhere
    assert not re.search(r'(src|href)="(https?:|//)', html)
    assert "<script" not in html
    # the study's own grid facts: violations controlled vs baseline from summary.json
    summary = json.loads((copy / col.SUMMARY_FILE).read_text())
    v = summary["violations"]
    assert "Grid violations: controlled vs baseline" in html
    row = (
        "<td>Transformer overload</td><td>steps</td>"
        f'<td class="num">{v["controlled"]["trafo_overload_steps"]}</td>'
        f'<td class="num">{v["baseline"]["trafo_overload_steps"]}</td>'
    )
    assert row in html


def test_twin_report_prints_units_and_only_the_kpis_that_apply(default_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(default_run, copy)
    res = subprocess.run(
        [*TWIN, "report", str(copy), "--no-figures"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert re.search(r"Push-up\s+│\s+[\d.]+\s+│ kWh/EV/day\s+│ push_up_kwh_per_ev_day", out), out
    assert re.search(r"Highest transformer loading\s+│\s+[\d.]+\s+│ %", out), out
    assert "per fleet" in out and "households" in out
    assert "report:" not in out and not (copy / col.REPORT_FILE).exists()  # --no-figures


def test_a_study_without_windows_shows_no_push_rows(tmp_path):
    # The reserve study has no flexibility windows: its "push-up" of -7 kWh/EV/day is no result.
    run = write_results(tmp_path / "reserve", services=("uncontrolled", "reserve"))
    data = load_run_data(run)
    assert data.windows == {} and not data.has_windows
    keys = [r.key for r in kpi_rows(data.kpis, data.has_windows)]
    assert keys == ["energy_charged_kwh", "max_trafo_loading_pct", "nonconverged_steps"]
    res = subprocess.run(
        [*TWIN, "report", str(run), "--no-figures"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert "push" not in res.stdout.lower()
    assert "nan" not in res.stdout.lower()


def test_a_study_with_windows_keeps_them_and_drops_only_what_is_missing(tmp_path):
    data = load_run_data(write_results(tmp_path / "flex"))
    assert data.windows == {"push_up": (36000, 50400), "push_down": (57600, 72000)}
    rows = {r.key: r for r in kpi_rows(data.kpis, data.has_windows)}
    assert rows["push_down_kwh_per_ev_day"].value == -0.4  # a real (negative) result stays
    assert "push_up_mw_mean" not in rows  # NaN: not a result
    assert rows["push_up_kwh_per_ev_day"].unit == "kWh/EV/day"


def test_long_run_gets_daily_duration_and_heat_map_figures(tmp_path):
    long_views = {"daily", "duration_curves", "heatmaps"}
    run = write_results(tmp_path / "long", days=15, step_s=3 * 3600, grid_baseline=True)
    report = build_report(run, only=long_views | {"grid_trafos"})
    assert {f.slug for f in report.figures} == long_views  # grid_trafos: no per-element tables
    assert report.skipped == []
    html = report.html_path.read_text(encoding="utf-8")
    assert _figures_on_page(html) == [f.title for f in report.figures]
    short = load_run_data(write_results(tmp_path / "short", days=1, step_s=900))
    assert all(s.draw(short) is None for s in FIGURES if s.slug in long_views)


def test_violations_and_the_baseline_grid_are_shown_when_present(tmp_path):
    run = write_results(tmp_path / "grid", violations=VIOLATIONS, grid_baseline=True, detail=True)
    report = build_report(run, only={"grid_extremes", "grid_worst"})
    html = report.html_path.read_text(encoding="utf-8")
    assert "Grid violations: controlled vs baseline" in html
    assert "trafo 2 (MV-LV trafo)" in html and "bus voltage 381 (LV1.101 Bus 7)" in html
    assert "Element-hours in violation: bus voltage" in html
    extremes = next(f for f in report.figures if f.slug == "grid_extremes")
    assert "the same grid with the fleets charging uncontrolled" in extremes.caption
    assert "grid_worst" in {f.slug for f in report.figures}
    # and without them: no table, no baseline in the caption
    plain = build_report(write_results(tmp_path / "plain"), only={"grid_extremes"})
    assert "Grid violations" not in plain.html_path.read_text(encoding="utf-8")
    assert "uncontrolled" not in next(f for f in plain.figures if f.slug == "grid_extremes").caption


def test_hardware_run_gets_a_panel_per_physical_charger(tmp_path):
    run = write_results(tmp_path / "hil")
    path = run / col.table_file(col.TIMESERIES)
    table = pd.read_parquet(path)
    n = len(table)
    for cid in ("CP001", "lab.modbus.1"):
        table[col.hil_column(cid, "power_kw")] = np.linspace(0, 6, n)
        table[col.hil_column(cid, "online")] = (np.arange(n) % 10 != 0).astype(float)
        table[col.hil_column(cid, "degraded")] = np.zeros(n)
    table.to_parquet(path, index=False)
    summary = json.loads((run / col.SUMMARY_FILE).read_text())
    summary["hil"] = {
        "chargers": ["CP001", "lab.modbus.1"],
        "events": 2,
        "per_charger": {"CP001": {"online_share": 0.9, "energy_measured_kwh": 12.5}},
    }
    (run / col.SUMMARY_FILE).write_text(json.dumps(summary))
    report = build_report(run, only={"hardware"})
    assert [f.slug for f in report.figures] == ["hardware"]
    html = report.html_path.read_text(encoding="utf-8")
    assert "CP001, lab.modbus.1" in html and "Energy measured (kWh)" in html
