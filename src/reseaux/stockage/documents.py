"""The app's small documents — accounts, scenes, import profiles — in files or in PostgreSQL.

Each is a whole document read and written at once (a JSON or TOML text of a few kilobytes), with
a lock for its read-modify-writes. Both backends keep one contract
(``tests/test_document_store_contract.py``):

- ``read()`` → the bytes last written, None when there are none; ``write(data)``: all or nothing;
- ``stamp()``: a value that changes with every write (None: nothing written), so a caller can keep
  what it parsed until the document changes;
- ``locked()``: exclusive across threads, processes and — on PostgreSQL — servers, for the ``with``
  block; raises :class:`~reseaux.annuaire.exports.LockTimeout` after ``lock_timeout`` seconds.
  Each write inside it is durable at once, as a file's is: a block that fails after a write (a
  sign-in refused after its failure was counted) keeps what it wrote.

:class:`FileDocument` is today's file (atomic write through a rename, ``flock`` on ``NAME.lock``
beside it). :class:`PostgresDocument` is one row of ``reseaux.documents`` (collection, name), its
lock a session advisory lock of the database, released by the database if the process dies.
:class:`FileFolder` and :class:`PostgresFolder` hold named documents of one kind (the import
profiles). :func:`document` and :func:`folder` choose by ``RESEAUX_DATABASE_URL``
(:func:`reseaux.stockage.database_url`). :class:`Carry` lists them for ``python -m reseaux migrer``,
which moves them with the directory.

The state the servers share (sessions, sign-in limits, route buckets, map tokens) is not kept
here but by :mod:`reseaux.acces.shared`, in the same database when there is one. The layers
added from a file are documents too (:mod:`reseaux.territoire.layer_store`): on PostgreSQL their
registry and their files are rows of ``reseaux.documents``, beside the registry deployed with the
territory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reseaux.annuaire.exports import LOCK_TIMEOUT, file_lock, private_folder, write_atomic
from reseaux.stockage.errors import StorageUnavailable, forget_pool

SCHEMA = "reseaux"
#: The advisory lock under which the tables of the schema are created: the directory store's
#: (``reseaux.stockage.postgres.LOCK_KEY + 1``), so that two first starts never both create the schema.
CREATE_KEY = 7_311_532_002
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.documents (
    collection text NOT NULL,
    name text NOT NULL,
    body bytea NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (collection, name)
);
"""


class DocumentUnavailable(StorageUnavailable):
    """The database of the documents could not be reached (:class:`StorageUnavailable`)."""


class FileDocument:
    """One document kept as one file; ``private``: the file 0600 in a folder 0700 (accounts)."""

    kind = "fichiers"

    def __init__(self, path: Path, *, private: bool = False, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path).expanduser()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.private = private
        self.lock_timeout = lock_timeout

    def describe(self) -> str:
        return f"le fichier {self.path}"

    def identity(self) -> str:
        return str(self.path)

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def write(self, data: bytes) -> None:
        if self.private:
            private_folder(self.path.parent)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, data)
        if self.private:
            self.path.chmod(0o600)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with file_lock(self.lock_path, self.lock_timeout):
            yield


class FileFolder:
    """Named documents of one kind as the files ``NAME.suffix`` of a folder."""

    def __init__(self, folder: Path, suffix: str, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.folder, self.suffix, self.lock_timeout = Path(folder), suffix, lock_timeout

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        cut = len(self.suffix)
        return sorted(p.name[: len(p.name) - cut] for p in self.folder.glob(f"*{self.suffix}") if p.is_file())

    def document(self, name: str) -> FileDocument:
        return FileDocument(self.folder / f"{name}{self.suffix}", lock_timeout=self.lock_timeout)


_READY: set[str] = set()
_READY_LOCK = threading.Lock()
#: Per thread: the connection holding each document's lock (collection, name) → connection.
_HELD = threading.local()


@contextmanager
def _database(url: str) -> Iterator[Any]:
    """A connection of the pool of ``url``, the table created on first use; a database that
    cannot be reached is a :class:`DocumentUnavailable` in French, not a driver's message."""
    import psycopg

    from reseaux.stockage.postgres import _POOLS, _POOLS_LOCK, pool, redacted

    try:
        with pool(url).connection() as connection:
            if url not in _READY:
                with connection.transaction():
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (CREATE_KEY,))
                    connection.execute(DDL)
                with _READY_LOCK:
                    _READY.add(url)
            yield connection
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:  # PoolTimeout among them
        forget_pool(_POOLS, _POOLS_LOCK, url)
        raise DocumentUnavailable(redacted(url), type(exc).__name__) from exc


class PostgresDocument:
    """One document kept as the row (``collection``, ``name``) of ``reseaux.documents``."""

    kind = "postgresql"

    def __init__(self, url: str, collection: str, name: str = "", *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.url, self.collection, self.name, self.lock_timeout = url, collection, name, lock_timeout

    def describe(self) -> str:
        from reseaux.stockage.postgres import redacted

        what = f"« {self.collection} »" + (f" « {self.name} »" if self.name else "")
        return f"{what} de la base {redacted(self.url)}"

    def identity(self) -> str:
        return f"{self.url}\n{self.collection}\n{self.name}"

    @property
    def _key(self) -> tuple[str, str, str]:
        return (self.url, self.collection, self.name)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        held = getattr(_HELD, "connections", {}).get(self._key)
        if held is not None:  # inside locked(): the connection that holds the lock
            yield held
            return
        with _database(self.url) as connection:
            yield connection

    def read(self) -> bytes | None:
        with self._connection() as connection:
            row = connection.execute(
                f"SELECT body FROM {SCHEMA}.documents WHERE collection = %s AND name = %s",
                (self.collection, self.name),
            ).fetchone()
            connection.commit()
        return None if row is None else bytes(row[0])

    def stamp(self) -> int | None:
        with self._connection() as connection:
            row = connection.execute(
                f"SELECT version FROM {SCHEMA}.documents WHERE collection = %s AND name = %s",
                (self.collection, self.name),
            ).fetchone()
            connection.commit()
        return None if row is None else row[0]

    def write(self, data: bytes) -> None:
        with self._connection() as connection:
            connection.execute(
                f"INSERT INTO {SCHEMA}.documents (collection, name, body) VALUES (%s, %s, %s) "
                "ON CONFLICT (collection, name) DO UPDATE SET body = EXCLUDED.body, "
                "version = documents.version + 1, updated_at = clock_timestamp()",
                (self.collection, self.name, bytes(data)),
            )
            connection.commit()

    def delete(self) -> None:
        with self._connection() as connection:
            connection.execute(
                f"DELETE FROM {SCHEMA}.documents WHERE collection = %s AND name = %s", (self.collection, self.name)
            )
            connection.commit()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The document's advisory lock, held by one connection of this thread for the block (its
        reads and writes go through that connection, each write committed at once)."""
        from reseaux.stockage.postgres import advisory_lock

        held = getattr(_HELD, "connections", None)
        if held is None:
            held = _HELD.connections = {}
        if self._key in held:
            raise RuntimeError(f"verrou de {self.describe()} déjà tenu par ce fil")
        lock = f"{SCHEMA}.documents\n{self.collection}\n{self.name}"
        with _database(self.url) as connection:
            advisory_lock(connection, "hashtextextended(%s, 0)", lock, self.lock_timeout, Path(self.collection))
            held[self._key] = connection
            try:
                yield
            finally:
                del held[self._key]
                connection.rollback()
                connection.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (lock,))
                connection.execute("RESET lock_timeout")
                connection.commit()


class PostgresFolder:
    """Named documents of one kind: the rows of ``collection`` in ``reseaux.documents``."""

    def __init__(self, url: str, collection: str, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.url, self.collection, self.lock_timeout = url, collection, lock_timeout

    def names(self) -> list[str]:
        with _database(self.url) as connection:
            rows = connection.execute(
                f"SELECT name FROM {SCHEMA}.documents WHERE collection = %s ORDER BY name", (self.collection,)
            ).fetchall()
            connection.commit()
        return [row[0] for row in rows]

    def document(self, name: str) -> PostgresDocument:
        return PostgresDocument(self.url, self.collection, name, lock_timeout=self.lock_timeout)


def document(
    collection: str, path: Path, *, private: bool = False, lock_timeout: float = LOCK_TIMEOUT
) -> FileDocument | PostgresDocument:
    """The document of ``collection`` as the settings keep it: the row of that name in the
    database when ``RESEAUX_DATABASE_URL`` is set, else the file at ``path``."""
    from reseaux.stockage import database_url

    url = database_url()
    if url:
        return PostgresDocument(url, collection, lock_timeout=lock_timeout)
    return FileDocument(path, private=private, lock_timeout=lock_timeout)


def folder(
    collection: str, path: Path, suffix: str, *, lock_timeout: float = LOCK_TIMEOUT
) -> FileFolder | PostgresFolder:
    """The named documents of ``collection``: in the database when ``RESEAUX_DATABASE_URL`` is set,
    else the files ``NAME.suffix`` in the folder ``path``."""
    from reseaux.stockage import database_url

    url = database_url()
    if url:
        return PostgresFolder(url, collection, lock_timeout=lock_timeout)
    return FileFolder(path, suffix, lock_timeout=lock_timeout)


class Carry:
    """The documents ``python -m reseaux migrer`` moves with the directory: each single document
    (collection, file, private) and each folder (collection, folder, suffix) of ``places``, from
    the files to the database at ``url`` (``to_database``) or back. A target holding the same
    bytes is left as it is."""

    def __init__(
        self,
        url: str,
        singles: list[tuple[str, Path, bool]],
        folders: list[tuple[str, Path, str]],
        *,
        to_database: bool,
    ) -> None:
        self.url, self.singles, self.folders, self.to_database = url, singles, folders, to_database

    def _pairs(self) -> list[tuple[Any, Any]]:
        """(source, target) of every document (read when asked: the server is checked first)."""
        pairs: list[tuple[Any, Any]] = [
            (FileDocument(path, private=private), PostgresDocument(self.url, collection))
            for collection, path, private in self.singles
        ]
        for collection, path, suffix in self.folders:
            files, base = FileFolder(path, suffix), PostgresFolder(self.url, collection)
            names = files.names() if self.to_database else base.names()
            pairs += [(files.document(name), base.document(name)) for name in names]
        return [(file, row) if self.to_database else (row, file) for file, row in pairs]

    def _moves(self) -> list[tuple[Any, Any, bytes, bytes | None]]:
        moves = []
        for source, target in self._pairs():
            data = source.read()
            if data is not None:
                moves.append((source, target, data, target.read()))
        return moves

    def refused(self, replace: bool) -> list[str]:
        """What the target already holds, different from the source (nothing when ``replace``)."""
        if replace:
            return []
        return [target.describe() for _, target, data, there in self._moves() if there not in (None, data)]

    def write(self) -> int:
        """Write every document the target lacks or holds otherwise; return how many the target
        holds as the source, read back. Raises OSError (DocumentUnavailable) on a failed write."""
        moves = self._moves()
        for _, target, data, there in moves:
            if there != data:
                target.write(data)
        return sum(target.read() == data for _, target, data, _ in moves)
