"""How many WebSocket connections one caller may hold open in this process.

The caller is the token's subject when it signed in, else the client's IP address. The
counter lives in the process: with N gateway processes behind a balancer a caller can hold
up to N times the limit, which bounds the cost per process (the point of the limit) without
a shared store. A Redis counter with a lease would make it global; not needed yet.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

MAX_TRACKED_CALLERS: Final = 100_000


class ConnectionsPerCaller:
    """Counting leases: :meth:`acquire` before serving a connection, :meth:`release` after."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    def acquire(self, caller: str) -> bool:
        """Count one more connection of ``caller``; False (nothing counted) over the limit."""
        if self._open[caller] >= self.limit or (
            caller not in self._open and len(self._open) >= MAX_TRACKED_CALLERS
        ):
            return False
        self._open[caller] += 1
        return True

    def release(self, caller: str) -> None:
        if self._open[caller] <= 1:
            self._open.pop(caller, None)
        else:
            self._open[caller] -= 1

    def open_connections(self, caller: str) -> int:
        return self._open.get(caller, 0)
