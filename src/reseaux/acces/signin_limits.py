"""Sign-in limits, kept in the file every process of the data shares (:mod:`reseaux.acces.shared`): a
budget spent through one process is spent in all.

Table ``failures`` holds each refused sign-in, forgotten :data:`LOCK_MINUTES` after it (an
account's missed passwords: :data:`BUDGET_MINUTES`): kind « recent » (name, client), for the delay
each refusal is made to wait (:func:`slow_down`); « client », for the limit of one address,
whatever the names (:func:`over_client_limit`); « account », for an account's budget of missed
passwords from any addresses (:func:`over_budget`). Table ``signed_in``: the clients an account
was signed in from lately, let past its spent budget. A client is named by a digest of its
address (its IPv6 /64, :func:`reseaux.serveur.clients.counted_as`), never in clear; the unknown address
is everyone at once, with no limit of its own nor an account's budget. One password check at a
time per client (:func:`turn`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from reseaux import config
from reseaux.acces import shared
from reseaux.serveur.clients import UNKNOWN, counted_as

#: The window of a client's failures: its limit, and the lock of an account for that client.
LOCK_MINUTES = 15
#: The window of an account's budget of missed passwords (``RESEAUX_ACCOUNT_FAILURES``).
BUDGET_MINUTES = 60
#: Clients an account was last signed in from, remembered to let them past its spent budget.
KNOWN_CLIENTS = 20
#: Seconds added to a refused answer per recent failure of the same name and client, at most MAX_DELAY.
DELAY_STEP = 0.25
MAX_DELAY = 2.0
#: When the shared file is next swept of what it no longer needs (at most once a minute per process).
_next_sweep = 0.0
#: One password check at a time per client (striped by digest): ten threads of one address
#: cost one Argon2 hash at a time, not ten, and the others wait without using the processors.
_TURNS = [threading.Lock() for _ in range(64)]


def client_digest(client: str) -> str:
    """The name of ``client`` (its IPv6 network, see :func:`reseaux.serveur.clients.counted_as`) in the
    accounts file and in memory: no address in clear."""
    return hashlib.sha256(counted_as(client or UNKNOWN).encode("utf-8")).hexdigest()[:16]


UNKNOWN_DIGEST = client_digest(UNKNOWN)


def _client_limit() -> int:
    return _setting("signin_failures")


def _account_budget() -> int:
    return _setting("account_failures")


def _setting(name: str) -> int:
    try:
        return max(1, int(config.get(name)))
    except ValueError:
        return int(config.SETTINGS[name].default)


@contextmanager
def turn(client: str) -> Iterator[None]:
    """Hold ``client``'s turn for a sign-in; an unknown address is everyone: it waits for nobody."""
    if client == UNKNOWN_DIGEST:
        yield
        return
    with _TURNS[int(client, 16) % len(_TURNS)]:
        yield


def over_client_limit(client: str, now: float) -> bool:
    """True when ``client`` failed more than its limit in the last :data:`LOCK_MINUTES`. An
    unknown address is everyone at once: it has no limit of its own (it would lock everyone)."""
    if client == UNKNOWN_DIGEST:
        return False
    return _failures("client", client, "", now - LOCK_MINUTES * 60, now) >= _client_limit()


def over_budget(name: str, client: str, now: float) -> bool:
    """True when ``name``'s passwords were missed :func:`_account_budget` times in the last
    :data:`BUDGET_MINUTES` and ``client`` is not one it was signed in from (nor unknown: everyone)."""
    if client == UNKNOWN_DIGEST:
        return False
    if shared.read("SELECT 1 FROM signed_in WHERE name = ? AND client = ?", (name, client)):
        return False
    return _failures("account", name, "", now - BUDGET_MINUTES * 60, now) >= _account_budget()


def _failures(kind: str, key: str, client: str, since: float, now: float) -> int:
    return shared.read(
        "SELECT count(*) FROM failures WHERE kind = ? AND key = ? AND client = ? AND at > ? AND at <= ?",
        (kind, key, client, since, now),
    )[0][0]


def count_missed(name: str, now: float) -> None:
    """Count a wrong password given for the existing account ``name`` (from any client)."""
    with shared.transaction() as db:
        db.execute("INSERT INTO failures VALUES ('account', ?, '', ?)", (name, now))


def count_success(name: str, client: str, now: float) -> None:
    """``name`` signed in from ``client``: its delay ends, and it is let past a spent budget."""
    with shared.transaction() as db:
        db.execute("DELETE FROM failures WHERE kind = 'recent' AND key = ? AND client = ?", (name, client))
        db.execute("INSERT OR REPLACE INTO signed_in VALUES (?, ?, ?)", (name, client, now))
        db.execute(
            "DELETE FROM signed_in WHERE name = ? AND client NOT IN (SELECT client FROM signed_in "
            "WHERE name = ? ORDER BY at DESC LIMIT ?)",
            (name, name, KNOWN_CLIENTS),
        )


def count_failure(name: str, client: str, now: float) -> int:
    """Count a refused sign-in of ``name`` from ``client``; return its recent failures for the delay."""
    _sweep(now)
    with shared.transaction() as db:
        db.execute("INSERT INTO failures VALUES ('recent', ?, ?, ?)", (name, client, now))
        if client != UNKNOWN_DIGEST:
            db.execute("INSERT INTO failures VALUES ('client', ?, '', ?)", (client, now))
    return _failures("recent", name, client, now - LOCK_MINUTES * 60, now)


def _sweep(now: float) -> None:
    """At most once a minute: forget the failures too old to count (never everyone's at once:
    that would free an attacker). The file stays bounded by the failures of a window, each of
    which cost an Argon2 hash."""
    global _next_sweep
    if now < _next_sweep:
        return
    _next_sweep = now + 60
    with shared.transaction() as db:
        db.execute("DELETE FROM failures WHERE kind != 'account' AND at <= ?", (now - LOCK_MINUTES * 60,))
        db.execute("DELETE FROM failures WHERE kind = 'account' AND at <= ?", (now - BUDGET_MINUTES * 60,))


def slow_down(count: int) -> None:
    """Sleep a little more for each recent failure of the same name and client (outside every lock)."""
    time.sleep(min(MAX_DELAY, DELAY_STEP * count))


def forget_failures(name: str) -> None:
    """Forget the missed passwords of ``name`` (its budget, its delays): every client may try again."""
    with shared.transaction() as db:
        db.execute("DELETE FROM failures WHERE kind IN ('account', 'recent') AND key = ?", (name,))


def forget_account(name: str) -> None:
    """Forget all that is known of ``name`` (a removed account): a new account of that name starts afresh."""
    with shared.transaction() as db:
        db.execute("DELETE FROM failures WHERE kind IN ('account', 'recent') AND key = ?", (name,))
        db.execute("DELETE FROM signed_in WHERE name = ?", (name,))
