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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CHANGE_KW = 0.1
"""A new limit is sent only when it moves by more than this (ExternalLimits is a standing
constraint, not a per-step command)."""


@dataclass(frozen=True)
class ChargerEnvelope:
    """One physical charger's share of its bus's envelope, per model step (kW, >= 0)."""

    charger_id: str
    element: str
    import_kw: np.ndarray
    export_kw: np.ndarray


def charger_envelopes(
    model: Any,
    bus_pos: dict[str, np.ndarray],
    bindings: Sequence[Any],
    n_steps: int,
) -> list[ChargerEnvelope]:
    """Per bound charger whose EV sits at a bus with a `bus:` envelope, its share (module doc).

    Args:
        model: the EMS's grid model (envelopes, site_net_load_kw(k)).
        bus_pos: per fleet, the bus position of each EV.
        bindings: the HIL bindings (fleet, index, charger_id).
        n_steps: model steps of the run.
    """
    envelopes = [e for e in getattr(model, "envelopes", []) if e.kind == "bus"]
    if not envelopes or not bindings:
        return []
    all_pos = np.concatenate([np.asarray(p) for p in bus_pos.values()])
    out = []
    base = None
    for b in bindings:
        pos = int(bus_pos[b.fleet][b.index])
        env = next((e for e in envelopes if e.position == pos), None)
        if env is None:
            continue
        if base is None:  # the forecast net load of every bus, once per step
            base = np.stack([model.site_net_load_kw(k) for k in range(n_steps)])
        n_ev = int(np.count_nonzero(all_pos == pos))
        net = base[:, pos]
        out.append(
            ChargerEnvelope(
                charger_id=b.charger_id,
                element=env.element,
                import_kw=np.maximum(env.import_kw - net, 0.0) / n_ev,
                export_kw=np.maximum(env.export_kw + net, 0.0) / n_ev,
            )
        )
    return out


def limits_to_send(
    envelopes: Sequence[ChargerEnvelope],
    k: int,
    last_sent: dict[str, tuple[float, float]],
) -> dict[str, tuple[float, float]]:
    """The (import_kw, export_kw) to send at step k: the chargers whose share moved by more
    than CHANGE_KW since the last value sent (or that never had one)."""
    out = {}
    for e in envelopes:
        step = min(k, e.import_kw.size - 1)
        value = (float(e.import_kw[step]), float(e.export_kw[step]))
        before = last_sent.get(e.charger_id)
        if before is None or max(abs(value[0] - before[0]), abs(value[1] - before[1])) > CHANGE_KW:
            out[e.charger_id] = value
    return out
