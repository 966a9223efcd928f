"""Which model steps a mosaik step covers, for simulators that take `block_steps` per step."""

from __future__ import annotations


def block_span(time: int, step_s: int, block_steps: int, n_steps: int | None) -> tuple[int, int]:
    """First model step and number of model steps of the mosaik step at `time` (s): a full block,
    or what is left of the run's `n_steps` (None = unbounded)."""
    k0 = time // step_s
    return k0, block_steps if n_steps is None else min(block_steps, n_steps - k0)
