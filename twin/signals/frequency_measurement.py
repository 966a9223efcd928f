"""The frequency the EMS measures: the grid's frequency plus the meter's error.

A charger or EMS meter does not see the grid frequency exactly: class-A instruments
(IEC 61000-4-30) are specified to +-10 mHz, and the frequency-containment products of ENTSO-E
ask for a measurement accuracy of 10 mHz. The twin models that error as white Gaussian noise
per step, drawn from its own seeded stream (so adding it leaves the grid frequency, and with it
the droop regression against the true frequency, untouched):

    f_measured[k] = f[k] + e[k],   e[k] ~ N(0, measurement_noise_std_hz^2), independent.

The scenario asks for it inside its frequency entry (`signals.frequency.measurement_noise_std_hz`,
for any source, synthetic or a CSV record); the EMS then reads `frequency_measured_hz` and the
results keep both (`signal.frequency_hz`, `signal.frequency_measured_hz`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from twin.signals.errors import SignalConfigError
from twin.signals.timebase import stream_rng

MEASUREMENT_NOISE_KEY = "measurement_noise_std_hz"
MEASURED_FREQUENCY_SIGNAL = "frequency_measured_hz"
MAX_MEASUREMENT_NOISE_HZ = 0.5
"""A meter worse than this cannot tell normal operation from an event (the droop's band is
+-0.2 Hz): such a value is a typo, e.g. mHz given as Hz."""


def split_measurement(params: Mapping[str, Any]) -> tuple[dict[str, Any], float | None]:
    """The frequency entry without its measurement key, and the meter's noise std (Hz) or None.

    Raises:
        SignalConfigError: a noise value that is not a number in [0, MAX_MEASUREMENT_NOISE_HZ].
    """
    rest = {k: v for k, v in params.items() if k != MEASUREMENT_NOISE_KEY}
    if MEASUREMENT_NOISE_KEY not in params:
        return rest, None
    raw = params[MEASUREMENT_NOISE_KEY]
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise SignalConfigError(MEASUREMENT_NOISE_KEY, f"expected a number of Hz, got {raw!r}")
    if not 0.0 <= float(raw) <= MAX_MEASUREMENT_NOISE_HZ:
        raise SignalConfigError(
            MEASUREMENT_NOISE_KEY,
            f"{raw} Hz is outside 0-{MAX_MEASUREMENT_NOISE_HZ} Hz (a class-A meter: 0.01)",
        )
    return rest, float(raw)


def measured_frequency_hz(frequency_hz: np.ndarray, noise_std_hz: float, seed: int) -> np.ndarray:
    """The grid frequency as the meter reads it (white noise of `noise_std_hz`, seeded)."""
    f = np.asarray(frequency_hz, dtype=float)
    if noise_std_hz == 0.0:
        return f.copy()
    return f + stream_rng(seed, "frequency_measurement").normal(0.0, noise_std_hz, f.size)
