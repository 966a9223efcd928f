"""Shared fixture of the adapter tests: `run` (no pytest-asyncio: each test runs its own loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


@pytest.fixture
def run() -> Callable[..., Any]:
    """Run a coroutine on a fresh event loop with a hard time limit (seconds)."""

    def _run(coro: Awaitable[Any], timeout_s: float = 20.0) -> Any:
        async def bounded() -> Any:
            return await asyncio.wait_for(coro, timeout_s)

        return asyncio.run(bounded())

    return _run
