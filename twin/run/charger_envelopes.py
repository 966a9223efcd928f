"""The DSO's operating envelopes as per-charger limits for physical chargers (issue 13: "the DSO
envelope of the grid-aware EMS reaches the charger").

The grid-protection service keeps a `bus:<id>` envelope (the site's net load: base load - local
generation + its EVs) in the plan. A physical charger that loses its link, or a CSMS that is
slow, should still not break it, so each charger at an enveloped bus also gets the envelope as
its own standing limit (OCPP 2.1 ExternalLimits / ChargingStationExternalConstraints):

    import_kw = max(E_import[k] - base_net[k], 0) / n_ev,   export_kw = max(E_export[k] + base_net[k], 0) / n_ev

with base_net the EMS's forecast of the bus's net load without EVs and n_ev the EVs at the bus
(simulated and physical share the room evenly). Transformer envelopes are not split onto
chargers (their share depends on the power flow); the EMS alone keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CHANGE_KW = 0.1
"""A new limit is sent only when it moves by more than this (ExternalLimits is a standing
constraint, not a per-step command)."""


@dataclass(frozen=True)
class ChargerEnvelope:
    """One physical charger's place under a bus envelope: the envelope (per model step, kW) and
    how many EVs share the bus. Its share at a step needs the bus's forecast net load then,
    so it is worked out when due (`limits_to_send`), never for the whole run at once."""

    charger_id: str
    element: str
    position: int
    n_ev: int
    import_kw: np.ndarray
    export_kw: np.ndarray

    def share_kw(self, k: int, base_net_kw: float) -> tuple[float, float]:
        """(import_kw, export_kw) at step k, given the bus's net load without EVs (module doc)."""
        step = min(k, self.import_kw.size - 1)
        return (
            max(float(self.import_kw[step]) - base_net_kw, 0.0) / self.n_ev,
            max(float(self.export_kw[step]) + base_net_kw, 0.0) / self.n_ev,
        )


def charger_envelopes(
    model: Any,
    bus_pos: dict[str, np.ndarray],
    bindings: Sequence[Any],
) -> list[ChargerEnvelope]:
    """Per bound charger whose EV sits at a bus with a `bus:` envelope, that envelope and the
    EVs sharing its bus.

    Args:
        model: the EMS's grid model (its `envelopes`).
        bus_pos: per fleet, the bus position of each EV.
        bindings: the HIL bindings (fleet, index, charger_id).
    """
    envelopes = [e for e in getattr(model, "envelopes", []) if e.kind == "bus"]
    if not envelopes or not bindings:
        return []
    all_pos = np.concatenate([np.asarray(p) for p in bus_pos.values()])
    out = []
    for b in bindings:
        pos = int(bus_pos[b.fleet][b.index])
        env = next((e for e in envelopes if e.position == pos), None)
        if env is not None:
            out.append(
                ChargerEnvelope(
                    b.charger_id,
                    env.element,
                    pos,
                    int(np.count_nonzero(all_pos == pos)),
                    env.import_kw,
                    env.export_kw,
                )
            )
    return out


def limits_to_send(
    envelopes: Sequence[ChargerEnvelope],
    k: int,
    last_sent: dict[str, tuple[float, float]],
    site_net_load_kw: Callable[[int], np.ndarray],
) -> dict[str, tuple[float, float]]:
    """The (import_kw, export_kw) to send at step k: the chargers whose share moved by more
    than CHANGE_KW since the last value sent (or that never had one). `site_net_load_kw(k)` is
    the EMS's forecast net load of every bus without EVs (asked once per step, only when some
    charger has an envelope)."""
    if not envelopes:
        return {}
    base = site_net_load_kw(k)
    out = {}
    for e in envelopes:
        value = e.share_kw(k, float(base[e.position]))
        before = last_sent.get(e.charger_id)
        if before is None or max(abs(value[0] - before[0]), abs(value[1] - before[1])) > CHANGE_KW:
            out[e.charger_id] = value
    return out
