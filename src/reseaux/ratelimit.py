"""Per-client rate limits: requests counted, requests at once, and server time spent.

Three limits per client (an address, see :mod:`reseaux.clients`), kept in memory per server
process:

- **requests per minute**, per family (the fiches a map asks on click, the map's search box,
  the sign-in cookie), set in :mod:`reseaux.config`: a token bucket that holds a quarter of a
  minute's worth (the burst: a search-as-you-type sends one request per key) and refills at the
  rate;
- **requests at once**: at most :data:`MAX_AT_ONCE` of one client served at the same time
  (ten threads of one address get four workers, not ten; a fast typist on a large directory
  has two or three requests under way);
- **server time**: ``RESEAUX_WORK_SECONDS`` seconds of processor time a minute (a bucket of
  seconds, refilled at that rate): a request costs what it took. A person's searches cost
  hundredths of a second; a hundred-word search over 200,000 fiches cost 2.2 s, and no count of requests
  alone could bound that.

A request over a limit is not served: the route answers 429 with :data:`MESSAGE` and
``Retry-After``. The defaults never hinder a person — 240 fiche requests a minute is a click
every quarter of a second for a minute.
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
#: Requests of one client served at the same time, all families together.
MAX_AT_ONCE = 4
#: More clients than this in memory: the full buckets (clients idle long enough) are forgotten.
MAX_CLIENTS = 20_000
_WORK = "travail"


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    capacity: float
    rate: float


class RateLimiter:
    """The three limits, keyed by client; safe to share between threads. ``clock`` (seconds,
    monotonic) and ``work_clock`` (processor seconds of the calling thread) are for tests."""

    def __init__(self, clock=time.monotonic, work_clock=time.thread_time) -> None:
        self.clock, self.work_clock = clock, work_clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._serving: dict[str, int] = {}
        self._lock = threading.Lock()

    def wait_for(self, family: str, client: str, *, now: float | None = None) -> float:
        """Spend one request of ``client`` in ``family``: 0.0 when allowed, else the seconds to
        wait before the next one is. Raises KeyError for an unknown family."""
        now = self.clock() if now is None else now
        with self._lock:
            return self._take(family, client, now)

    def admit(self, family: str, client: str) -> float:
        """Start serving a request of ``client`` in ``family``: 0.0 when allowed (then call
        :meth:`done` when it is served), else the seconds to wait."""
        now, budget = self.clock(), work_seconds()
        with self._lock:  # one critical section: ten threads at once cannot all see two served
            if self._serving.get(client, 0) >= MAX_AT_ONCE:
                return 1.0
            if budget > 0:
                work = self._refilled((_WORK, client), budget, budget / 60.0, now)
                if work.tokens <= 0:
                    return (0.5 - work.tokens) / (budget / 60.0)  # back to half a second of credit
            seconds = self._take(family, client, now)
            if not seconds:
                self._serving[client] = self._serving.get(client, 0) + 1
            return seconds

    def _take(self, family: str, client: str, now: float) -> float:
        """Under the lock: :meth:`wait_for`."""
        per_minute = limit(family)
        if per_minute <= 0:
            return 0.0  # 0 turns the limit off
        bucket = self._refilled((family, client), max(1.0, per_minute / 4.0), per_minute / 60.0, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / (per_minute / 60.0)

    def done(self, client: str, spent: float) -> None:
        """A request admitted by :meth:`admit` was served in ``spent`` processor seconds."""
        budget = work_seconds()
        with self._lock:
            left = self._serving.get(client, 1) - 1
            if left > 0:
                self._serving[client] = left
            else:
                self._serving.pop(client, None)
            if budget > 0:
                self._refilled((_WORK, client), budget, budget / 60.0, self.clock()).tokens -= max(0.0, spent)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._serving.clear()

    def _refilled(self, key: tuple[str, str], capacity: float, rate: float, now: float) -> _Bucket:
        """Under the lock: the bucket of ``key``, full when new, refilled for the time elapsed."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_CLIENTS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(capacity, now, capacity, rate)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp, bucket.capacity, bucket.rate = now, capacity, rate
        return bucket

    def _forget_full(self, now: float) -> None:
        """Forget the clients whose buckets are full again (idle long enough): they lose nothing."""
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.stamp) * bucket.rate >= bucket.capacity:
                del self._buckets[key]
        if len(self._buckets) >= MAX_CLIENTS:  # a flood of addresses: start afresh rather than grow
            self._buckets.clear()


def limit(family: str) -> float:
    """Requests per minute allowed to one client in ``family`` (0: no limit)."""
    return _number(FAMILIES[family])


def work_seconds() -> float:
    """Processor seconds a minute allowed to one client on the map's routes (0: no limit)."""
    return _number("work_seconds")


def _number(setting: str) -> float:
    """Setting ``setting`` as a number ≥ 0; a value that is not a number counts as the default."""
    try:
        value = float(config.get(setting).replace(",", "."))
    except ValueError:
        value = float(config.SETTINGS[setting].default)
    return value if value >= 0 else 0.0


def refusal(seconds: float) -> tuple[str, int]:
    """The French answer to a request over the limit, and the whole seconds for Retry-After."""
    whole = max(1, math.ceil(seconds))
    return MESSAGE.format(seconds=whole), whole


LIMITS = RateLimiter()
