"""Streamlit entry point of the EV-fleet twin dashboard: `streamlit run app.py` (or
`twin dashboard`, which also runs a scenario live into it). The page lives in twin/dashboard/."""

from twin.dashboard.app import main

main()
