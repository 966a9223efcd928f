"""Input signals (frequency, regulation, FEMS kWh, reserve, CO2, prices): seeded generators + CSV.

Build one from a scenario entry with twin.signals.registry.build_signal.
"""
