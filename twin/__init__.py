"""Digital twin for EV-fleet flexibility."""
