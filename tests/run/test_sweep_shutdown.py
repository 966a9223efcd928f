"""The end of a sweep (issue 15, Low): every worker process exits on its own, none is killed
("Worker process still alive after 4.0 seconds, killing" on every sweep before)."""

from __future__ import annotations

import logging

from tests.conftest import ROOT
from twin.run.sweep import Variant, run_sweep


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_sweep_workers_exit_without_being_killed(tmp_path):
    records = _Records()
    nanny = logging.getLogger("distributed.nanny")
    nanny.addHandler(records)
    try:
        variant = Variant(
            name="short", overrides={"duration": "15min", "outputs.grid_detail": False}
        )
        table = run_sweep(ROOT / "scenarios" / "default.yaml", [variant], tmp_path, workers=1)
    finally:
        nanny.removeHandler(records)
    assert list(table["status"]) == ["completed"], table.get("error")
    assert not [m for m in records.messages if "still alive" in m], records.messages
