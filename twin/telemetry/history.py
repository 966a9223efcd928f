"""The bounded history each message carries, so a dashboard that joins late or misses steps
still draws the whole run so far."""

from __future__ import annotations

import numpy as np


class DecimatedHistory:
    """At most `capacity` rows; when full, every other row is dropped and the stride doubles, so
    the rows stay evenly spaced over the whole run at bounded size.

    Args:
        columns: Values per row.
        capacity: Upper bound of rows (rounded down to an even number, at least 2).
    """

    def __init__(self, columns: int, capacity: int):
        self.capacity = max(2, capacity - capacity % 2)
        self.rows = np.empty((self.capacity, columns))
        self.n = 0
        self.stride = 1
        """Steps between two kept rows."""
        self.count = 0
        """Rows offered so far."""

    def append(self, values: list[float]) -> None:
        if self.count % self.stride == 0:
            if self.n == self.capacity:
                half = self.rows[::2].copy()
                self.rows[: len(half)] = half
                self.n = len(half)
                self.stride *= 2
            if self.count % self.stride == 0:
                self.rows[self.n] = values
                self.n += 1
        self.count += 1

    def block(self) -> np.ndarray:
        """The kept rows, oldest first (a view: copy it to keep it past the next append)."""
        return self.rows[: self.n]
