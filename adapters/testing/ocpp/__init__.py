"""An OCPP 1.6J / 2.0.1 / 2.1 charge point emulator and what only it uses."""
