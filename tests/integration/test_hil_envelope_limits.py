"""The DSO envelope reaches the physical charger: each charger at an enveloped bus gets its share
as a standing OCPP 2.1 ExternalLimits profile (worked by hand here), sent again only when it
moves; a charger that cannot hold one (OCPP 1.6) is told once and keeps its set-points."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from tests.integration.test_hil_guards import _wait, lab  # noqa: F401 - the fixture
from twin.ems.grid_model import Envelope
from twin.run.charger_envelopes import ChargerEnvelope, charger_envelopes, limits_to_send


class _Model:
    """A grid model with one bus envelope and a base net load that changes per step."""

    def __init__(self, base_kw: np.ndarray):
        self.base_kw = base_kw  # [k] net load of bus 3 without EVs
        self.envelopes = [
            Envelope("bus", 3, "bus:3", np.array([10.0, 10.0, 4.0]), np.array([5.0, 5.0, 5.0])),
            Envelope("trafo", 0, "trafo:0", np.full(3, 100.0), np.full(3, 100.0)),
        ]

    def site_net_load_kw(self, k: int) -> np.ndarray:
        net = np.zeros(6)
        net[3] = self.base_kw[k]
        return net


def test_share_of_the_bus_envelope_worked_by_hand():
    model = _Model(np.array([2.0, -1.0, 6.0]))
    # fleet a: EVs at buses 3, 3, 1; fleet b: one EV at bus 3 -> 3 EVs share bus 3
    bus_pos = {"a": np.array([3, 3, 1]), "b": np.array([3])}
    bindings = [
        SimpleNamespace(fleet="a", index=1, charger_id="CP1"),
        SimpleNamespace(fleet="a", index=2, charger_id="CP2"),  # bus 1: no envelope
    ]
    (share,) = charger_envelopes(model, bus_pos, bindings)
    assert share.charger_id == "CP1" and share.element == "bus:3" and share.n_ev == 3
    # import: max(E_imp - base, 0) / 3 ; export: max(E_exp + base, 0) / 3
    got = [limits_to_send([share], k, {}, model.site_net_load_kw)["CP1"] for k in range(3)]
    np.testing.assert_allclose([g[0] for g in got], [8.0 / 3, 11.0 / 3, 0.0])
    np.testing.assert_allclose([g[1] for g in got], [7.0 / 3, 4.0 / 3, 11.0 / 3])


def _flat(base_kw: float = 0.0):
    return lambda k: np.full(6, base_kw)


def test_limits_are_sent_when_they_move():
    env = ChargerEnvelope(
        "CP1", "bus:3", 3, 1, np.array([3.0, 3.05, 2.0]), np.array([1.0, 1.0, 1.0])
    )
    sent: dict[str, tuple[float, float]] = {}
    first = limits_to_send([env], 0, sent, _flat())
    assert first == {"CP1": (3.0, 1.0)}
    sent.update(first)
    assert limits_to_send([env], 1, sent, _flat()) == {}  # 0.05 kW: not worth a new profile
    assert limits_to_send([env], 2, sent, _flat()) == {"CP1": (2.0, 1.0)}


def test_the_envelope_share_reaches_an_ocpp21_charger(lab):  # noqa: F811 - the fixture
    link, emulators, events = lab
    _wait(lambda: all(r is not None for r in link.readings().values()))
    link.envelopes = [
        ChargerEnvelope(
            "CP002", "bus:3", 3, 1, np.array([2.0, 2.0, 1.5]), np.array([0.5, 0.5, 0.5])
        ),
        ChargerEnvelope("CP001", "bus:3", 3, 1, np.array([2.0, 2.0, 2.0]), np.zeros(3)),
    ]
    link.site_net_load_kw = _flat()
    emulator = emulators["CP002"]

    def held() -> tuple[float, float] | None:
        return emulator.profiles.external_limits_kw(time.monotonic())

    link.submit_envelope(0)
    _wait(lambda: held() is not None)
    low, high = held()
    assert high == pytest.approx(2.0) and low == pytest.approx(0.0)  # no discharge allowed yet
    link.submit_envelope(1)  # unchanged: nothing new is sent
    link.submit_envelope(2)
    _wait(lambda: held() is not None and abs(held()[1] - 1.5) < 1e-6)

    def refused() -> bool:
        events.extend(link.events())
        return any(e["kind"] == "limits_refused" and e["charger_id"] == "CP001" for e in events)

    _wait(refused)
    assert link.bridge.limits_counts()["CP002"] == 2
    assert link.status()["CP001"] == "online"  # a charger without limits keeps its set-points
