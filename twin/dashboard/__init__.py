"""The Streamlit dashboard of the twin, split by job so every piece but the page is testable.

- `view`: the data one page draws (`View`, its `Timeline` and `History`).
- `history`: a results table into the chart series (pure pandas).
- `replay`: a finished run's folder into a `View` at a chosen step.
- `live`: a telemetry snapshot into a `View`, and the shared subscriber.
- `network`: grid topology for drawing, built once per grid in the background.
- `kpis`, `formatting`, `tables`: KPI cards, number text, the page's tables (pure).
- `charts`: plotly figure builders (data in, figure out).
- `pages`: the Streamlit calls (sections, live and replay pages).
- `app`: `main()`, the entry point the top-level app.py runs.

Importing any module here has no side effects: Streamlit is only called from functions.
"""
