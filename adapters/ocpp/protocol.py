"""The `ocpp` entry of adapters.registry: chargers that dial in to the twin's central system.

All OCPP bindings of a scenario share one CentralSystem (the `hil.csms_*` settings); it runs as
a service on the bridge's loop, started before and stopped after the chargers' adapters.
Nothing heavy is imported at module level (`twin validate` calls `binding_problems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.registry import BoundCharger, HardwareContext, HardwareStartError, ProtocolHardware

EVENT_SOURCE = "csms"
"""`source` of the central system's own events in a run's hil_events.json."""


def binding_problems(binding: Any) -> list[tuple[str, str]]:
    """An OCPP binding needs `id` (the identity the charger connects with) and `password`
    (without one, anyone who knows the identity could connect as that charger)."""
    if not binding.id:
        return [("id", "an OCPP binding needs `id` (the charger identity)")]
    if not getattr(binding, "password", None):
        return [
            (
                "password",
                "an OCPP binding needs `password` (HTTP Basic): without one anyone who knows "
                "the identity can take the charger over",
            )
        ]
    return []


class _CentralSystemService:
    """The central system as a bridge service; a port it cannot bind names `hil.csms_port`."""

    def __init__(self, csms: Any) -> None:
        self.csms = csms

    async def start(self) -> None:
        from adapters.ocpp.config import OcppConfigError

        try:
            await self.csms.start()
        except (OSError, OcppConfigError) as err:  # port taken (a `twin csms` still running?)
            raise HardwareStartError("hil.csms_port", str(err)) from None

    async def stop(self) -> None:
        await self.csms.stop()


def build(chargers: Sequence[BoundCharger], context: HardwareContext) -> ProtocolHardware:
    """One central system for all OCPP chargers, and one adapter per charger."""
    from adapters.ocpp.central_system import CentralSystem
    from adapters.ocpp.config import ChargerAuth, CsmsConfig

    hil = context.hil
    config = CsmsConfig(
        host=hil.csms_host,
        port=hil.csms_port,
        chargers={
            c.charger_id: ChargerAuth(
                password=c.binding.password,
                can_discharge=getattr(c.binding, "bidirectional", None),
            )
            for c in chargers
        },
        tls_cert=context.path(hil.tls_cert),
        tls_key=context.path(hil.tls_key),
        client_ca=context.path(getattr(hil, "client_ca", None)),
        meter_interval_s=hil.meter_interval_s,
    )
    # The CSMS's own events (refused identities, wrong passwords, boots, transactions, protocol
    # errors) go to the results beside the bridge's link events.
    csms = CentralSystem(
        config, on_event=lambda event: context.on_event({**event, "source": EVENT_SOURCE})
    )
    return ProtocolHardware(
        adapters=[
            csms.adapter(c.charger_id, connect_timeout_s=hil.connect_timeout_s) for c in chargers
        ],
        services=[_CentralSystemService(csms)],
    )
