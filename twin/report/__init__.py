"""The run report: figures (PNG, matplotlib) and a self-contained report.html from a results
folder alone, and the comparison of runs.

    data.py       a results folder read once: tables on a local-time index, windows, services
    kpi_rows.py   which KPIs apply to the study, their labels and units (terminal, HTML, compare)
    style.py      figure size, colours, the time axis, window shading, daily aggregates
    power.py      fleet power vs baseline, SOC by fleet, EMS target and contributions
    grid.py       voltage band, element loading, controlled vs baseline, worst elements
    studies.py    frequency response, regulation (PJM), reserve in-band, CO2 / PV, hardware
    long_run.py   daily aggregates, duration curves, day x time-of-day heat maps
    html.py       the page: KPI table, violations table, figures inline (base64 PNG)
    build.py      build_report(run_dir): every figure, PNG files and report.html
    compare.py    several runs side by side: KPI table with differences, overlay figures
"""
