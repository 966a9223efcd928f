"""Test doubles for the charger seam: OCPP and Modbus charger emulators and a manual clock.

Production code (the adapters, the bridge, the run) never imports this package; tests and the
`twin emulate ocpp|modbus` commands (imported lazily when the command runs) do.
"""
