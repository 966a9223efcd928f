"""The naive reference build: one mosaik entity per EV, plain `pandapower.runpp` every step.

It exists only to be measured against the twin; it reproduces the twin's physics EV by EV (scalar
Python) so the comparison is between architectures, not between models.
"""
