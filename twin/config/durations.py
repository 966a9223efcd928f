"""Duration strings of scenario files: "1s", "15min", "1h", "1d", "2.5h".

Only these four units exist on purpose: "m" is ambiguous (minutes or months?) and ISO-8601
durations are unreadable for most grid engineers.
"""

from __future__ import annotations

import functools
import math
import re

_UNIT_S = {"s": 1, "min": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|h|d)\s*$")


def parse_duration_s(text: str | int | float) -> int:
    """Convert a duration string to whole seconds.

    Args:
        text: e.g. "15min", "1d", "1s", or a bare number of seconds.

    Returns:
        Duration in seconds (integer: mosaik runs on an integer clock of 1 s resolution).

    Raises:
        ValueError: with a message saying which forms are accepted.
    """
    if isinstance(text, bool):
        raise ValueError("expected a duration such as '15min', got a boolean")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _PATTERN.match(str(text))
        if not match:
            raise ValueError(
                f"'{text}' is not a duration; use a number and one of s, min, h, d (e.g. '15min', '1d')"
            )
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"duration must be a finite number of seconds, got {text!r}")
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {text!r}")
    if abs(seconds - round(seconds)) > 1e-9:
        raise ValueError(f"duration {text!r} is not a whole number of seconds")
    return int(round(seconds))


@functools.lru_cache(maxsize=256)
def parse_clock_s(text: str) -> int:
    """Convert a wall-clock time "HH:MM" (24 h, "24:00" allowed) to seconds after midnight."""
    match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", str(text))
    if not match:
        raise ValueError(f"'{text}' is not a time of day; use HH:MM, e.g. '10:00'")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"'{text}' is not a valid time of day")
    return hours * 3600 + minutes * 60
