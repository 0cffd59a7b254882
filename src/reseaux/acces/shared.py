"""State shared by every process serving the same data: one SQLite file beside the accounts.

Sessions and their tickets (:mod:`reseaux.acces.sessions`), the map's fiche tokens
(:mod:`reseaux.annuaire.fiche_service`), the sign-in failure counts (:mod:`reseaux.acces.accounts`) and the
routes' per-client buckets (:mod:`reseaux.serveur.ratelimit`) were
kept in each process's memory: behind a proxy with two processes, a sign-out through one left
the session open in the other, and a map token given by one was unknown to the other. They now
live in ``etat-partage.sqlite`` beside the accounts file (``RESEAUX_ACCOUNTS``), so a sign-out, a
password or role changed, an account removed take effect in every process at its next request.

Why SQLite: no server to install or run, transactions atomic across the processes of one host
(a file lock), and it survives a restart. WAL mode lets readers go on while one writes; each
transaction is a few statements (``BEGIN IMMEDIATE``, so two writers queue instead of failing
half-way) and waits up to :data:`BUSY_MS` for another's. It does not serve several hosts (a
shared network disk breaks SQLite's locks): that needs a database server.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reseaux import config
from reseaux.annuaire.exports import private_folder

FILE_NAME = "etat-partage.sqlite"
#: How long a transaction waits for another process's to end before it fails (milliseconds).
BUSY_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY, name TEXT NOT NULL, stamp TEXT NOT NULL,
    created REAL NOT NULL, last_seen REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_name ON sessions (name);
CREATE TABLE IF NOT EXISTS tickets (key TEXT PRIMARY KEY, sealed TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS map_tokens (
    token TEXT PRIMARY KEY, owner TEXT NOT NULL, issued_for TEXT NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS map_tokens_owner ON map_tokens (owner);
CREATE TABLE IF NOT EXISTS failures (
    kind TEXT NOT NULL, key TEXT NOT NULL, client TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failures_key ON failures (kind, key, client, at);
CREATE TABLE IF NOT EXISTS buckets (family TEXT NOT NULL, client TEXT NOT NULL, tokens REAL NOT NULL,
    stamp REAL NOT NULL, capacity REAL NOT NULL, rate REAL NOT NULL, PRIMARY KEY (family, client));
CREATE TABLE IF NOT EXISTS signed_in (name TEXT NOT NULL, client TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (name, client));
"""


def path() -> Path:
    """The shared file of the data this process serves: beside the accounts file."""
    return config.path("accounts").with_name(FILE_NAME)


_local = threading.local()


def _connection() -> sqlite3.Connection:
    """This thread's connection to the file of :func:`path` (a new one when the setting changed)."""
    where = path()
    known = getattr(_local, "connection", None)
    if known is not None and known[0] == where:
        return known[1]
    if known is not None:
        known[1].close()
    private_folder(where.parent)
    connection = sqlite3.connect(where, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=True)
    where.chmod(0o600)  # session digests and failure times: the server's account only
    connection.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never corrupt
    connection.executescript(_SCHEMA)
    _local.connection = (where, connection)
    return connection


@contextmanager
def transaction() -> Iterator[sqlite3.Connection]:
    """One short write transaction, taken at once (``BEGIN IMMEDIATE``): two processes writing
    queue one after the other instead of one failing on a read turned write."""
    connection = _connection()
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def read(sql: str, parameters: tuple = ()) -> list[tuple]:
    """The rows of one query, outside any write transaction (WAL: never blocked by a writer)."""
    return _connection().execute(sql, parameters).fetchall()
