"""A call in flight cancelled because its connection went away is a lost link for the caller
(ChargerUnavailable), never a CancelledError: that one killed the HIL bridge's worker and left a
dropped charger 'online' with its last reading for the rest of the run."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from adapters.base import ChargerUnavailable
from adapters.ocpp.config import ChargerAuth
from adapters.ocpp.session import ChargerSession


class _Connection:
    """A charger connection whose answer never comes until the CSMS cancels the waiter."""

    def __init__(self) -> None:
        self.waiter: asyncio.Future | None = None
        self.closed = asyncio.Event()

    async def call(self, request, suppress: bool = True):
        self.waiter = asyncio.get_running_loop().create_future()
        return await self.waiter

    def close_waiters(self) -> None:  # what the CSMS's ChargePoint does on detach
        if self.waiter is not None:
            self.waiter.cancel()

    async def wait_closed(self) -> None:
        await self.closed.wait()


def test_a_call_cancelled_by_the_connection_closing_is_charger_unavailable(run):
    async def scenario() -> None:
        session = ChargerSession(
            "CP1", ChargerAuth(password="x"), 1, 60, lambda: 0.0, lambda *a: None,
            itertools.count(1),
        )  # fmt: skip
        connection = _Connection()
        session.attach(connection, connection, "2.1", "127.0.0.1:1")
        task = asyncio.ensure_future(session._call(object()))
        while connection.waiter is None:
            await asyncio.sleep(0)
        assert session.detach(connection)  # cancels the call in flight
        with pytest.raises(ChargerUnavailable, match="connection closed"):
            await task

    run(scenario())


def test_cancelling_the_caller_still_cancels(run):
    async def scenario() -> None:
        session = ChargerSession(
            "CP1", ChargerAuth(password="x"), 1, 60, lambda: 0.0, lambda *a: None,
            itertools.count(1),
        )  # fmt: skip
        connection = _Connection()
        session.attach(connection, connection, "2.1", "127.0.0.1:1")
        task = asyncio.ensure_future(session._call(object()))
        while connection.waiter is None:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())
