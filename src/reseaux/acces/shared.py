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

With ``RESEAUX_DATABASE_URL`` set, the same tables are kept in the database's schema ``reseaux``
(prefixed ``shared_``), so every server of that database shares the sign-ins, the limits and the
map tokens. A write transaction first takes one advisory lock of the database, as ``BEGIN
IMMEDIATE`` takes SQLite's one writer lock: the writers of every server queue, and a read-then-write
(a bucket's tokens) cannot interleave with another's. The callers' SQL is SQLite's; the database
connection turns its ``?`` into ``%s``, names each table in the schema and turns ``INSERT OR
REPLACE`` into an ``ON CONFLICT`` on the table's key (:func:`_sql`), so each caller keeps one text
of each statement.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reseaux import config, stockage
from reseaux.annuaire.exports import private_folder
from reseaux.stockage.documents import CREATE_KEY

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


#: Each table's key and other columns, in order (the PostgreSQL tables and upserts are made from them).
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sessions": (("key",), ("name", "stamp", "created", "last_seen")),
    "tickets": (("key",), ("sealed", "expires")),
    "map_tokens": (("token",), ("owner", "issued_for", "expires")),
    "failures": ((), ("kind", "key", "client", "at")),
    "buckets": (("family", "client"), ("tokens", "stamp", "capacity", "rate")),
    "signed_in": (("name", "client"), ("at",)),
}
#: The columns that hold numbers (seconds, tokens); the others hold text.
_NUMBERS = {"created", "last_seen", "expires", "at", "tokens", "capacity", "rate"}
#: The advisory lock every write transaction takes on PostgreSQL (its one writer at a time).
WRITE_KEY = 7_311_532_201
PREFIX = "shared_"


def _postgres_schema() -> str:
    statements = ["CREATE SCHEMA IF NOT EXISTS reseaux;"]
    for table, (key, others) in TABLES.items():
        columns = [
            f"{c} {'double precision' if c in _NUMBERS or (table, c) == ('buckets', 'stamp') else 'text'} NOT NULL"
            for c in (*key, *others)
        ]
        if key:
            columns.append(f"PRIMARY KEY ({', '.join(key)})")
        statements.append(f"CREATE TABLE IF NOT EXISTS reseaux.{PREFIX}{table} ({', '.join(columns)});")
    statements += [
        f"CREATE INDEX IF NOT EXISTS {PREFIX}sessions_name ON reseaux.{PREFIX}sessions (name);",
        f"CREATE INDEX IF NOT EXISTS {PREFIX}map_tokens_owner ON reseaux.{PREFIX}map_tokens (owner);",
        f"CREATE INDEX IF NOT EXISTS {PREFIX}failures_key ON reseaux.{PREFIX}failures (kind, key, client, at);",
    ]
    return "\n".join(statements)


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
def transaction() -> Iterator[Any]:
    """One short write transaction, taken at once (``BEGIN IMMEDIATE``; on PostgreSQL the writers'
    advisory lock): two processes — or servers — writing queue one after the other instead of one
    failing on a read turned write. Yields what ``execute(sql, parameters)`` is called on."""
    url = stockage.database_url()
    if url:
        with _postgres_transaction(url) as db:
            yield db
        return
    connection = _connection()
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def read(sql: str, parameters: tuple = ()) -> list[tuple]:
    """The rows of one query, outside any write transaction (WAL, or PostgreSQL: never blocked by a writer)."""
    url = stockage.database_url()
    if url:
        with _reaching(url), _pool(url).connection() as connection:
            rows = _Postgres(connection).execute(sql, parameters).fetchall()
            connection.commit()
        return rows
    return _connection().execute(sql, parameters).fetchall()


# -- PostgreSQL --

_TABLE_NAME = re.compile(r"\b(" + "|".join(TABLES) + r")\b")
_REPLACE = re.compile(r"^\s*INSERT OR REPLACE INTO (\w+)", re.IGNORECASE)
_POOLS: dict[str, Any] = {}
_POOLS_LOCK = threading.Lock()


def _sql(statement: str) -> str:
    """SQLite's text of ``statement`` as PostgreSQL reads it: ``?`` → ``%s``, each shared table
    named in the schema ``reseaux`` with its prefix, ``INSERT OR REPLACE`` → an upsert on the key."""
    replace = _REPLACE.match(statement)
    if replace:
        table = replace.group(1)
        key, others = TABLES[table]
        statement = _REPLACE.sub(f"INSERT INTO {table}", statement, count=1)
        statement += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(
            f"{c} = EXCLUDED.{c}" for c in others
        )
    statement = _TABLE_NAME.sub(lambda m: f"reseaux.{PREFIX}{m.group(1)}", statement)
    return statement.replace("?", "%s")


class _Postgres:
    """A database connection used as the callers use SQLite's: ``execute`` → a cursor."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def execute(self, statement: str, parameters: tuple = ()):
        return self.connection.execute(_sql(statement), parameters)


def _reaching(url: str):
    """A server that does not answer is :class:`~reseaux.stockage.StorageUnavailable`, in French."""
    from reseaux.stockage.postgres import redacted

    return stockage.reaching(f"L'état partagé des sessions dans {redacted(url)}", (_POOLS, _POOLS_LOCK, url))


def _pool(url: str):
    """One small pool per database and process for the shared state (psycopg_pool), its tables
    created on first use (one server at a time)."""
    from psycopg_pool import ConnectionPool

    with _POOLS_LOCK:
        found = _POOLS.get(url)
        if found is None:
            found = ConnectionPool(
                url,
                kwargs={"options": f"-c lock_timeout={BUSY_MS}"},  # a wait for the writers' lock is bounded
                min_size=1,
                max_size=4,
                open=True,
                check=ConnectionPool.check_connection,
                timeout=BUSY_MS / 1000,
            )
            try:
                with found.connection() as connection, connection.transaction():
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (CREATE_KEY,))  # one creator at a time
                    connection.execute(_postgres_schema())
            except BaseException:
                found.close(timeout=1.0)  # not kept: its threads would retry forever
                raise
            _POOLS[url] = found
        return found


@contextmanager
def _postgres_transaction(url: str) -> Iterator[_Postgres]:
    with _reaching(url), _pool(url).connection() as connection, connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_KEY,))
        yield _Postgres(connection)
