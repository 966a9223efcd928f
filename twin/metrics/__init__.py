"""KPIs of a run: PJM score, droop, under-frequency response, kWh accuracy, CO2 (pure numpy)."""
