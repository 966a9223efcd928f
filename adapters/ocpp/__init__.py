"""OCPP 1.6J / 2.0.1 / 2.1: the central system (CSMS), its charger adapter and charging profiles.

Kept empty on purpose: importing `adapters.ocpp.protocol` (the registry's entry, used by
`twin validate`) must not load the ocpp or websockets libraries. Import the modules themselves,
e.g. `from adapters.ocpp.central_system import CentralSystem`. The charge point emulator is in
`adapters.testing.ocpp.emulator`.
"""
