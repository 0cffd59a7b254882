"""Per-client rate limits: a token bucket per client and per family of requests.

Each family (the fiches a map asks on click, the map's search box, the sign-in cookie) has a
number of requests per minute, set in :mod:`reseaux.config`; a client may spend a quarter of a
minute's worth at once (the burst: a search-as-you-type sends one request per key), then one
request each ``60 / per_minute`` seconds. A request over the limit is not served: the route
answers 429 with :data:`MESSAGE` and ``Retry-After``.

The defaults never hinder a person — 240 fiche requests a minute is a click every quarter of a
second for a minute — but one client with ten threads can no longer take the server's
processors from everyone else. Buckets live in memory, per server process.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from reseaux import config

#: Family → the setting giving its requests per minute.
FAMILIES = {"fiches": "rate_fiches", "recherche": "rate_search", "session": "rate_session"}
MESSAGE = "Trop de demandes en peu de temps depuis votre adresse : réessayez dans {seconds} s."
#: More clients than this in memory: the full buckets (clients idle long enough) are forgotten.
MAX_CLIENTS = 20_000


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets keyed by (family, client); safe to share between threads."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def wait_for(self, family: str, client: str, *, now: float | None = None) -> float:
        """Spend one request of ``client`` in ``family``: 0.0 when allowed, else the seconds to
        wait before the next one is. Raises KeyError for an unknown family."""
        per_minute = limit(family)
        if per_minute <= 0:
            return 0.0  # 0 turns the limit off
        rate, burst = per_minute / 60.0, max(1.0, per_minute / 4.0)
        now = self.clock() if now is None else now
        with self._lock:
            bucket = self._buckets.get((family, client))
            if bucket is None:
                self._forget_idle(now)
                bucket = self._buckets[(family, client)] = _Bucket(burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < MAX_CLIENTS:
            return
        for key, bucket in list(self._buckets.items()):
            per_minute = limit(key[0])
            if per_minute <= 0 or bucket.tokens + (now - bucket.stamp) * per_minute / 60.0 >= per_minute / 4.0:
                del self._buckets[key]
        if len(self._buckets) >= MAX_CLIENTS:  # a flood of addresses: start afresh rather than grow
            self._buckets.clear()


def limit(family: str) -> float:
    """Requests per minute allowed to one client in ``family`` (0: no limit); a setting that is
    not a number counts as its default."""
    name = FAMILIES[family]
    try:
        return max(0.0, float(config.get(name).replace(",", ".")))
    except ValueError:
        return float(config.SETTINGS[name].default)


def refusal(seconds: float) -> tuple[str, int]:
    """The French answer to a request over the limit, and the whole seconds for Retry-After."""
    whole = max(1, math.ceil(seconds))
    return MESSAGE.format(seconds=whole), whole


LIMITS = RateLimiter()
