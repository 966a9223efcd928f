"""Schedule-tracking KPIs of the V2G demo (Toyota V2G demo).

kWh accuracy (simultaneous FEMS + regulation control; the demo reached 86.34 %):

    kWh accuracy = sum of EV output / sum of FEMS requests x 100

Requests carry a sign (+ = the fleet charges, - = it discharges). To keep mixed-sign plans
meaningful, each slot's delivery counts in the requested direction:

    overall = sum_i(delivered_i * sign(req_i)) / sum_i |req_i| x 100

which equals the Toyota V2G demo's plain ratio of sums whenever all requests have one sign. Slots with a zero
request do not count. `overall_capped_percent` also caps each slot at its request
(min(delivered_i * sign(req_i), |req_i|), floored at 0) so over-delivery in one slot cannot
hide a shortfall in another. Per slot: delivered_i / req_i x 100 (NaN where req_i = 0).

In-band rate (tertiary reserve; the demo kept 100 %): share of slots with

    |delivered_i - commanded_i| <= band x |commanded_i|          (band = 10 %)

A slot commanded 0 is in band only if the delivery is 0 (within `zero_tolerance`).

Plan accuracy:

    plan accuracy = average number of vehicles actually parked / number registered in the plan x 100
                  = sum_i min(parked_i, planned_i) / sum_i planned_i x 100

Cars parked beyond the plan in a slot are not in the plan, hence the min().
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.metrics.errors import MetricInputError


@dataclass(frozen=True)
class KwhAccuracy:
    """kWh accuracy of a schedule.

    Attributes:
        overall_percent: the Toyota V2G demo's kWh accuracy, percent (direction-aware, see module doc).
        overall_capped_percent: Same with each slot capped at its request, percent.
        per_slot_percent: delivered / requested x 100 per slot (NaN where nothing was requested).
        delivered_kwh: Energy delivered in the requested direction, kWh.
        requested_kwh: Sum of |requests|, kWh.
    """

    overall_percent: float
    overall_capped_percent: float
    per_slot_percent: np.ndarray
    delivered_kwh: float
    requested_kwh: float


@dataclass(frozen=True)
class InBandRate:
    """Share of slots within the tolerance band around the command.

    Attributes:
        rate_percent: In-band slots / all slots x 100.
        in_band: Per-slot flags.
        n_slots: Number of slots scored.
    """

    rate_percent: float
    in_band: np.ndarray
    n_slots: int


def _pair(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.size != b.size:
        raise MetricInputError(f"{names[0]} and {names[1]} differ in length ({a.size} vs {b.size})")
    if a.size == 0:
        raise MetricInputError(f"{names[0]} and {names[1]} are empty")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise MetricInputError(f"{names[0]} and {names[1]} must not contain NaN or infinite values")
    return a, b


def kwh_accuracy(
    delivered_kwh_per_slot: np.ndarray, requested_kwh_per_slot: np.ndarray
) -> KwhAccuracy:
    """kWh accuracy of delivered energy against the FEMS requests, per slot and overall.

    Args:
        delivered_kwh_per_slot: Energy the fleet took (+) or gave (-) per slot, kWh.
        requested_kwh_per_slot: Requested energy per slot, kWh (+ charge, - discharge).

    Returns:
        KwhAccuracy.

    Raises:
        MetricInputError: Length mismatch, NaN, or no energy requested at all.
    """
    delivered, requested = _pair(
        delivered_kwh_per_slot,
        requested_kwh_per_slot,
        ("delivered_kwh_per_slot", "requested_kwh_per_slot"),
    )
    direction = np.sign(requested)
    magnitude = np.abs(requested)
    total_requested = float(magnitude.sum())
    if total_requested == 0.0:
        raise MetricInputError("no energy was requested in any slot, so kWh accuracy is undefined")
    toward = delivered * direction
    with np.errstate(invalid="ignore", divide="ignore"):
        per_slot = np.where(requested != 0.0, delivered / requested * 100.0, np.nan)
    capped = np.clip(toward, 0.0, magnitude)
    return KwhAccuracy(
        overall_percent=float(toward.sum() / total_requested * 100.0),
        overall_capped_percent=float(capped.sum() / total_requested * 100.0),
        per_slot_percent=per_slot,
        delivered_kwh=float(toward.sum()),
        requested_kwh=total_requested,
    )


def in_band_rate(
    delivered_per_slot: np.ndarray,
    commanded_per_slot: np.ndarray,
    band: float = 0.10,
    zero_tolerance: float = 1e-9,
) -> InBandRate:
    """Share of slots whose delivery stays within +-band of the command.

    Args:
        delivered_per_slot: Delivered amount per slot (kW average or kWh, same unit as the command).
        commanded_per_slot: Commanded amount per slot, same unit.
        band: Relative tolerance (0.10 = +-10 %).
        zero_tolerance: Absolute tolerance for slots commanded exactly 0.

    Returns:
        InBandRate.

    Raises:
        MetricInputError: Length mismatch, NaN, empty input or a negative band.
    """
    delivered, commanded = _pair(
        delivered_per_slot, commanded_per_slot, ("delivered_per_slot", "commanded_per_slot")
    )
    if band < 0:
        raise MetricInputError(f"band must not be negative, got {band}")
    allowed = np.maximum(band * np.abs(commanded), zero_tolerance)
    in_band = np.abs(delivered - commanded) <= allowed
    return InBandRate(
        rate_percent=float(np.count_nonzero(in_band) / in_band.size * 100.0),
        in_band=in_band,
        n_slots=int(in_band.size),
    )


def plan_accuracy(parked_counts: np.ndarray, planned_counts: np.ndarray) -> float:
    """Plan accuracy: vehicles actually parked / vehicles registered in the plan x 100.

    Args:
        parked_counts: Vehicles of the plan actually parked, per slot.
        planned_counts: Vehicles the plan registered as parked, per slot.

    Returns:
        Plan accuracy, percent.

    Raises:
        MetricInputError: Length mismatch, NaN, negative counts or an empty plan.
    """
    parked, planned = _pair(parked_counts, planned_counts, ("parked_counts", "planned_counts"))
    if np.any(parked < 0) or np.any(planned < 0):
        raise MetricInputError("vehicle counts must not be negative")
    total_planned = float(planned.sum())
    if total_planned == 0.0:
        raise MetricInputError("the plan registers no vehicle, so plan accuracy is undefined")
    return float(np.minimum(parked, planned).sum() / total_planned * 100.0)
