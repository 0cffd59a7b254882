"""Per-client rate limits: requests counted, requests at once, and server time spent.

Three limits per client (an address, see :mod:`reseaux.serveur.clients`). The buckets (requests per
minute, server time) are kept in the file every process of the same data shares
(:mod:`reseaux.acces.shared`): behind a proxy with two processes, a client over its count through one
is over it through the other (each process kept its own, which doubled every limit). The
requests at once are counted per process: they bound this process's workers, and a count shared
would outlive a process that died with requests under way.

- **requests per minute**, per family (the fiches a map asks on click, the map's search box,
  the clusters of a large map's view, the sign-in cookie), set in :mod:`reseaux.config`: a token bucket that holds a quarter of a
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

from reseaux import config
from reseaux.acces import shared

#: Family → the setting giving its requests per minute.
FAMILIES = {"fiches": "rate_fiches", "recherche": "rate_search", "groupes": "rate_groups", "session": "rate_session"}
MESSAGE = "Trop de demandes en peu de temps depuis votre adresse : réessayez dans {seconds} s."
#: Requests of one client served at the same time, all families together.
MAX_AT_ONCE = 4
#: More clients than this in the shared file: the full buckets (clients idle long enough) are forgotten.
MAX_CLIENTS = 20_000
_WORK = "travail"


class RateLimiter:
    """The three limits, keyed by client; safe to share between threads and processes.
    ``clock`` (seconds, the wall clock: every process reads the same) and ``work_clock``
    (processor seconds of the calling thread) are for tests."""

    def __init__(self, clock=time.time, work_clock=time.thread_time) -> None:
        self.clock, self.work_clock = clock, work_clock
        self._serving: dict[str, int] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def wait_for(self, family: str, client: str, *, now: float | None = None) -> float:
        """Spend one request of ``client`` in ``family``: 0.0 when allowed, else the seconds to
        wait before the next one is. Raises KeyError for an unknown family."""
        now = self.clock() if now is None else now
        per_minute = limit(family)
        if per_minute <= 0:
            return 0.0  # 0 turns the limit off: nothing to count
        with self._lock, shared.transaction() as db:
            return self._take(db, family, per_minute, client, now)

    def admit(self, family: str, client: str) -> float:
        """Start serving a request of ``client`` in ``family``: 0.0 when allowed (then call
        :meth:`done` when it is served), else the seconds to wait."""
        now, budget, per_minute = self.clock(), work_seconds(), limit(family)
        with self._lock:  # one critical section: ten threads at once cannot all see two served
            if self._serving.get(client, 0) >= MAX_AT_ONCE:
                return 1.0
            if budget > 0 or per_minute > 0:
                with shared.transaction() as db:  # the bucket read and written by one process at a time
                    if budget > 0:
                        work = self._refilled(db, _WORK, client, budget, budget / 60.0, now)
                        if work <= 0:
                            return (0.5 - work) / (budget / 60.0)  # back to half a second of credit
                    seconds = self._take(db, family, per_minute, client, now) if per_minute > 0 else 0.0
            else:
                seconds = 0.0
            if not seconds:
                self._serving[client] = self._serving.get(client, 0) + 1
            return seconds

    def _take(self, db, family: str, per_minute: float, client: str, now: float) -> float:
        """In a transaction: :meth:`wait_for`."""
        tokens = self._refilled(db, family, client, max(1.0, per_minute / 4.0), per_minute / 60.0, now)
        if tokens >= 1.0:
            _put(db, family, client, tokens - 1.0)
            return 0.0
        return (1.0 - tokens) / (per_minute / 60.0)

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
                with shared.transaction() as db:
                    work = self._refilled(db, _WORK, client, budget, budget / 60.0, self.clock())
                    _put(db, _WORK, client, work - max(0.0, spent))

    def clear(self) -> None:
        """Forget every count (this process's requests at once, and the shared buckets)."""
        with self._lock:
            self._serving.clear()
            with shared.transaction() as db:
                db.execute("DELETE FROM buckets")

    def _refilled(self, db, family: str, client: str, capacity: float, rate: float, now: float) -> float:
        """In a transaction: the tokens of ``client``'s bucket in ``family`` — full when new,
        refilled for the time elapsed — stamped ``now`` (the caller writes what it spends)."""
        row = db.execute(
            "SELECT tokens, stamp FROM buckets WHERE family = ? AND client = ?", (family, client)
        ).fetchone()
        if row is None:
            self._sweep(db, now)
            tokens = capacity
        else:  # a clock set back (another process's, or NTP) refills nothing, takes nothing
            tokens = min(capacity, row[0] + max(0.0, now - row[1]) * rate)
        db.execute(
            "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?, ?, ?)", (family, client, tokens, now, capacity, rate)
        )
        return tokens

    def _sweep(self, db, now: float) -> None:
        """At most once a minute, with more than :data:`MAX_CLIENTS` buckets: forget the clients
        whose buckets are full again (idle long enough: they lose nothing); a flood of addresses
        that are not: start afresh rather than grow."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        if db.execute("SELECT count(*) FROM buckets").fetchone()[0] < MAX_CLIENTS:
            return
        db.execute("DELETE FROM buckets WHERE tokens + (? - stamp) * rate >= capacity", (now,))
        if db.execute("SELECT count(*) FROM buckets").fetchone()[0] >= MAX_CLIENTS:
            db.execute("DELETE FROM buckets")


def _put(db, family: str, client: str, tokens: float) -> None:
    db.execute("UPDATE buckets SET tokens = ? WHERE family = ? AND client = ?", (tokens, family, client))


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
