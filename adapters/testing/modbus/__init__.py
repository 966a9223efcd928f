"""A Modbus TCP charger emulator (any shipped register map) and its EV model."""
