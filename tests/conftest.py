import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tokyo_start() -> dt.datetime:
    # A Wednesday in June (summer efficiency, weekday schedules).
    return dt.datetime(2025, 6, 4, tzinfo=ZoneInfo("Asia/Tokyo"))
