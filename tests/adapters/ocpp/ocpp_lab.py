"""A lab of CSMS + emulators on 127.0.0.1 for the OCPP tests (always torn down by run_lab)."""

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import ClientConnection, connect

from adapters.ocpp.central_system import CentralSystem
from adapters.ocpp.config import ChargerAuth, CsmsConfig
from adapters.testing.ocpp.emulator import ChargePointEmulator, EmulatorConfig

PASSWORD = "lab-password-0123456789"


class OcppLab:
    """Everything a test starts; `aclose` stops all of it (emulators first)."""

    def __init__(self) -> None:
        self.systems: list[CentralSystem] = []
        self.emulators: list[ChargePointEmulator] = []

    async def csms(
        self, chargers: dict[str, ChargerAuth] | None = None, **settings
    ) -> CentralSystem:
        settings.setdefault("meter_interval_s", 1)
        settings.setdefault("response_timeout_s", 3.0)
        config = CsmsConfig(
            port=0,
            chargers=chargers or {"CP1": ChargerAuth(password=PASSWORD)},
            **settings,
        )
        system = CentralSystem(config)
        await system.start()
        self.systems.append(system)
        return system

    async def emulator(
        self, system: CentralSystem, charger_id: str = "CP1", version: str = "1.6", **settings
    ) -> ChargePointEmulator:
        settings.setdefault("password", PASSWORD)
        settings.setdefault("time_constant_s", 0.1)
        settings.setdefault("meter_interval_s", 1.0)
        settings.setdefault("response_timeout_s", 3.0)
        emulator = ChargePointEmulator(
            EmulatorConfig(url=system.url, charger_id=charger_id, version=version, **settings)
        )
        self.emulators.append(emulator)
        await emulator.start()
        return emulator

    async def aclose(self) -> None:
        for emulator in self.emulators:
            await emulator.close()
        for system in self.systems:
            await system.stop(timeout_s=2.0)


async def eventually(
    predicate: Callable[[], Awaitable[bool] | bool], timeout_s: float = 5.0, what: str = "condition"
) -> None:
    """Poll `predicate` (sync or async) every 50 ms until true; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        await asyncio.sleep(0.05)


async def raw_client(
    system: CentralSystem,
    charger_id: str = "CP1",
    subprotocol: str = "ocpp1.6",
    password: str | None = PASSWORD,
    **connect_kwargs,
) -> ClientConnection:
    """A bare websocket to the CSMS, for frames no well-behaved client would send."""
    headers = dict(connect_kwargs.pop("additional_headers", {}))
    if password is not None:
        token = base64.b64encode(f"{charger_id}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return await connect(
        f"{system.url}/{charger_id}",
        subprotocols=[subprotocol],
        additional_headers=headers,
        proxy=None,
        open_timeout=3,
        **connect_kwargs,
    )


async def reply_to(
    websocket: ClientConnection, frame: str, unique_id: str, timeout_s: float = 3.0
) -> list:
    """Send `frame` and return the CALLRESULT/CALLERROR with `unique_id` (skipping CSMS calls)."""
    await websocket.send(frame)
    deadline = time.monotonic() + timeout_s
    while True:
        message = json.loads(
            await asyncio.wait_for(websocket.recv(), max(deadline - time.monotonic(), 0.01))
        )
        if message[0] in (3, 4) and message[1] == unique_id:
            return message


async def call_raw(
    websocket: ClientConnection, action: str, payload: dict, unique_id: str = "u1"
) -> list:
    """Send one CALL and return its answer."""
    return await reply_to(websocket, json.dumps([2, unique_id, action, payload]), unique_id)
