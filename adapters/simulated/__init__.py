"""The software charger: a first-order or ramp-limited charger + EV model behind `ChargerAdapter`."""

from adapters.simulated.charger import SimulatedCharger, SimulatedChargerConfigError

__all__ = ["SimulatedCharger", "SimulatedChargerConfigError"]
