"""The directory in PostgreSQL with PostGIS: the same promises as the files, kept by the database.

Chosen by ``RESEAUX_DATABASE_URL`` (see :func:`reseaux.stockage.directory_store`). Three tables in
the schema ``reseaux``:

- ``directory_versions``: one row per save (number, moment, who, action, columns in order);
- ``directory_rows``: every row of every version, valid from the save that wrote it to the save
  that replaced or removed it (``valid_to`` NULL: the current directory). A save writes only the
  rows it changes, so a version costs its changes, not a full copy; any former version is read
  back as it was (point-in-time), none is dropped by a count;
- ``directory_journal``: the journal, one row per changed fiche, as the files' ``journal.jsonl``.

A save is one transaction: it locks the head row, refuses (:class:`ConflictError`, with what the
other save changed) when the directory is no longer at the version the editor loaded — the
Annuaire page then replays the person's edits on the new version field by field, as with files —
then writes its rows, its version and its journal lines together or not at all. An erasure deletes
every row of the fiche from every version and empties her journal lines (who and when stay).

Rows keep the file's order (``position``); a row is matched from one version to the next by its
identifier when it is unique, else by its content, so rows with errors or duplicate identifiers
are kept like any other (every row kept, as in the file). The position of each actor placed by
its coordinates is kept as a PostGIS point (``geom``, WGS 84, GiST index), for the searches in the
database this backend is meant to carry.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from reseaux import memory
from reseaux.acces import audit
from reseaux.annuaire.changes import (
    ID,
    Change,
    cells_differ,
    diff,
    journal_entry,
    same_fiches_in_place,
    string_cells,
)
from reseaux.annuaire.exports import LockTimeout
from reseaux.annuaire.store import (
    ConflictError,
    Snapshot,
    StoredVersion,
    UnaddressableRows,
    apply_rows,
    plan_rows,
    prepare_save,
    snapshot,
)
from reseaux.stockage.errors import reaching
from reseaux.text import one_empty

SCHEMA = "reseaux"
#: The advisory lock of the directory (an erasure holds it across its writes).
LOCK_KEY = 7_311_532_001
#: The order of the current rows, the file's (``position``; ``row_key`` only parts equal positions).
ROW_ORDER = "position, row_key"


@dataclass(frozen=True)
class Mark:
    """Where a reading of the database's directory stands, to read the next version as its changes
    (:meth:`PostgresDirectoryStore.changes_since`): the version, what makes it this database's (its
    name, and the version row's transaction and moment: a database replaced by a migration numbers
    its versions again), the columns, and the stored row of each record of its CSV, in order
    (record ``i`` is the spreadsheet line ``i + 2``)."""

    version: int
    identity: str
    header: tuple[str, ...]
    keys: np.ndarray  # int64, one per record


@dataclass
class Changes:
    """What a version has that a reading at an earlier one lacks: the CSV (header first) of the
    rows to read, in their order (written or rewritten since, and those asked for again), their
    stored rows in the same order, and the new version's :class:`Mark`."""

    version: str
    mark: Mark
    file: BinaryIO
    keys: np.ndarray


DDL = f"""
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.directory_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version bigint NOT NULL,
    next_row bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.directory_versions (
    version bigint PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    who text NOT NULL,
    action text NOT NULL,
    columns text[] NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.directory_rows (
    row_key bigint NOT NULL,
    valid_from bigint NOT NULL,
    valid_to bigint,
    position double precision NOT NULL,
    actor_id text NOT NULL,
    cells jsonb NOT NULL,
    geom geometry(Point, 4326),
    PRIMARY KEY (row_key, valid_from)
);
CREATE INDEX IF NOT EXISTS directory_rows_current ON {SCHEMA}.directory_rows (position) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS directory_rows_actor ON {SCHEMA}.directory_rows (actor_id);
CREATE INDEX IF NOT EXISTS directory_rows_since ON {SCHEMA}.directory_rows (valid_from) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS directory_rows_geom ON {SCHEMA}.directory_rows USING gist (geom) WHERE valid_to IS NULL;
CREATE TABLE IF NOT EXISTS {SCHEMA}.directory_journal (
    line bigserial PRIMARY KEY,
    version bigint NOT NULL,
    actor_id text NOT NULL,
    entry jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS directory_journal_actor ON {SCHEMA}.directory_journal (actor_id);
INSERT INTO {SCHEMA}.directory_head (version, next_row) VALUES (0, 1) ON CONFLICT DO NOTHING;
"""

_POOLS: dict[str, Any] = {}
_POOLS_LOCK = threading.Lock()
#: The databases whose tables this process has made sure of (once per process, not per store object).
_READY: set[str] = set()


def pool(url: str):
    """One connection pool per database and process (psycopg_pool): a connection killed under it
    (a restarted server, a backend ended by an administrator) is replaced at the next request."""
    from psycopg_pool import ConnectionPool

    with _POOLS_LOCK:
        found = _POOLS.get(url)
        if found is None:
            found = ConnectionPool(
                url, min_size=1, max_size=8, open=True, check=ConnectionPool.check_connection, timeout=10
            )
            _POOLS[url] = found
        return found


def close_pools() -> None:
    with _POOLS_LOCK:
        for found in _POOLS.values():
            found.close()
        _POOLS.clear()


def advisory_lock(connection, key_sql: str, key: object, timeout_s: float, where) -> None:
    """Take the session advisory lock ``key_sql`` (a SQL expression of ``key``) on ``connection``,
    waiting at most ``timeout_s``; committed, so the lock outlives the statement. Raises
    :class:`~reseaux.annuaire.exports.LockTimeout` naming ``where`` when another holds it longer."""
    import psycopg

    try:
        connection.execute(f"SET lock_timeout = '{int(timeout_s * 1000)}ms'")
        connection.execute(f"SELECT pg_advisory_lock({key_sql})", (key,))
        connection.commit()
    except psycopg.errors.LockNotAvailable as exc:
        connection.rollback()
        raise LockTimeout(where, timeout_s) from exc


def redacted(url: str) -> str:
    """The URL without its password, for a message or a log."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 — an unreadable URL is said as such
        return "(adresse illisible)"
    return f"PostgreSQL « {parts.get('dbname', '?')} » sur {parts.get('host', 'localhost')}"


class PostgresDirectoryStore:
    """The directory, its versions and its journal in one PostgreSQL database."""

    kind = "postgresql"

    def __init__(self, url: str, *, lock_timeout: float = 30.0) -> None:
        self.url = url
        self.lock_timeout = lock_timeout
        self._held = threading.local()

    def describe(self) -> str:
        return f"la base {redacted(self.url)}"

    # -- connections --

    @contextmanager
    def _connection(self, *, alone: bool = False) -> Iterator[Any]:
        """A connection of the pool (the one :meth:`locked` holds, inside it). A server that does not
        answer, or a connection cut midway, is :class:`StorageUnavailable` (an OSError, in French):
        the transaction was not committed, nothing was written. ``alone``: a connection of its own,
        closed after — for a large answer, whose buffer (as large) a pooled connection would keep."""
        if alone:
            import psycopg

            with reaching(self.describe()), psycopg.connect(self.url) as connection:
                if self.url not in _READY:
                    self._create(connection)
                yield connection
            return
        held = getattr(self._held, "connection", None)
        if held is not None:  # inside locked(): the same session, so the same lock
            yield held
            return
        with reaching(self.describe(), (_POOLS, _POOLS_LOCK, self.url)), pool(self.url).connection() as connection:
            if self.url not in _READY:
                self._create(connection)
            yield connection

    def _create(self, connection) -> None:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY + 1,))
            connection.execute(DDL)
        _READY.add(self.url)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The directory's lock (an erasure: read, save, scrub with no save in between);
        re-entrant. Raises LockTimeout when another holds it longer than ``lock_timeout``."""
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        with self._connection() as connection:
            advisory_lock(connection, "%s", LOCK_KEY, self.lock_timeout, self.describe())
            self._held.connection, self._held.depth = connection, 1
            try:
                yield
            finally:
                self._held.connection, self._held.depth = None, 0
                connection.rollback()
                connection.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
                connection.execute("RESET lock_timeout")
                connection.commit()

    # -- reading --

    def current_version(self) -> str:
        with self._connection() as connection:
            version = connection.execute(f"SELECT version FROM {SCHEMA}.directory_head").fetchone()[0]
            connection.commit()
        return str(version) if version else ""

    def current_content_key(self) -> str:
        """The :attr:`~reseaux.annuaire.store.Snapshot.content_key` of the current version (one
        query), ``""`` when there is no directory."""
        with self._connection() as connection:
            version = connection.execute(f"SELECT version FROM {SCHEMA}.directory_head").fetchone()[0]
            found = self._version_row(connection, version, missing_ok=True) if version else None
            connection.commit()
        return _content_key(version, found[1]) if found else ""

    def load(self) -> Snapshot:
        with self._connection() as connection, connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return self._load(connection)

    def _load(self, connection, at: int | None = None) -> Snapshot:
        head = connection.execute(f"SELECT version FROM {SCHEMA}.directory_head").fetchone()[0]
        version = head if at is None else at
        if not version:
            raise _missing()
        columns, identity = self._version_row(connection, version)  # KeyError when it is not there
        from psycopg import sql

        if at is None:
            where = sql.SQL("valid_to IS NULL")
        else:
            where = sql.SQL("valid_from <= {v} AND (valid_to IS NULL OR valid_to > {v})").format(v=sql.Literal(version))
        table, keys, positions = _read_rows(connection, columns, where)
        if at is not None:  # a former version: saving it back matches it against the current rows
            return Snapshot(table, str(version))
        return Snapshot(
            table, str(version), row_keys=keys, row_positions=positions, identity=_content_key(version, identity)
        )

    def load_csv(self) -> tuple[bytes, str]:
        """The current directory as the bytes of a CSV file and its version: byte for byte
        ``encode_table(self.load().table)`` (UTF-8), written by the database (``COPY``), so that the
        process never holds the table as Python strings (about 2 GB of them at 1,000,000 fiches)
        only to write them out again. Raises as :meth:`load` when there is no directory."""
        file, version = self.csv_file()
        with file:
            return file.read(), version

    def csv_file(self) -> tuple[BinaryIO, str]:
        """As :meth:`load_csv`, the CSV in a temporary file, open and at its start, for the caller
        to read and close: the app parses it a block at a time, never holding its 0.2 GB (at a
        million fiches) as bytes. The file has no name (unlinked at its creation, readable by
        this process only): nothing of it stays on the disk once closed, or after a crash."""
        file, version, _ = self.marked_csv_file(with_keys=False)
        return file, version

    def marked_csv_file(self, *, with_keys: bool = True) -> tuple[BinaryIO, str, Mark]:
        """As :meth:`csv_file`, with the :class:`Mark` of the version read, from the same snapshot
        (its row keys: 8 MB at a million fiches, written in binary by the database)."""
        file = tempfile.TemporaryFile()  # noqa: SIM115 — the caller's to close
        try:
            with self._snapshot() as (connection, version):
                if not version:
                    raise _missing()
                columns, identity = self._version_row(connection, version)
                _copy_csv(connection, columns, "valid_to IS NULL", (), file)
                keys = _row_keys(connection, "valid_to IS NULL", ()) if with_keys else np.zeros(0, dtype=np.int64)
            file.seek(0)
        except BaseException:
            file.close()
            raise
        return file, str(version), Mark(version, identity, tuple(columns), keys)

    def mark(self, *, with_keys: bool = True) -> Mark:
        """The :class:`Mark` of the current version, without its rows (a server that finds its
        reading kept reads nothing else); ``with_keys=False``: without its row keys either (empty),
        to ask whether a reading of this version is kept before reading them (8 MB at a million
        fiches). Raises as :meth:`load` when there is no directory."""
        with self._snapshot() as (connection, version):
            if not version:
                raise _missing()
            columns, identity = self._version_row(connection, version)
            keys = _row_keys(connection, "valid_to IS NULL", ()) if with_keys else np.zeros(0, dtype=np.int64)
        return Mark(version, identity, tuple(columns), keys)

    def changes_since(self, mark: Mark, again: np.ndarray, most: int) -> Changes | None:
        """The current version as what changed since the reading ``mark``: the rows written since
        (a save writes only the rows it changes, with their version) and the rows ``again`` (row
        keys a reading could not take back: rows kept aside, a warning on a date), as a CSV of
        those rows only, with the row keys of the whole version. None when that is not the
        cheaper reading or cannot be trusted: nothing newer, more than ``most`` rows to read, other
        columns, or not the database (or the history) ``mark`` was read from."""
        file = tempfile.TemporaryFile()  # noqa: SIM115 — the caller's to close
        try:
            found = self._changes(mark, again, most, file)
        except BaseException:
            file.close()
            raise
        if found is None:
            file.close()
            return None
        file.seek(0)
        return Changes(str(found[0].version), found[0], file, found[1])

    def _changes(self, mark: Mark, again: np.ndarray, most: int, file: BinaryIO) -> tuple[Mark, np.ndarray] | None:
        """:meth:`changes_since`, the rows' CSV written to ``file``: the new mark and the keys read."""
        with self._snapshot() as (connection, version):
            if not version or version <= mark.version:
                return None
            before = self._version_row(connection, mark.version, missing_ok=True)
            columns, identity = self._version_row(connection, version)
            if before is None or before[1] != mark.identity or tuple(columns) != mark.header:
                return None
            where = "valid_to IS NULL AND (valid_from > %s OR row_key = ANY(%s))"
            arguments = (mark.version, [int(k) for k in again])
            read = _row_keys(connection, where, arguments)
            if len(read) > most:
                return None
            _copy_csv(connection, columns, where, arguments, file)
            keys = _row_keys(connection, "valid_to IS NULL", ())
        return Mark(version, identity, tuple(columns), keys), read

    @contextmanager
    def _snapshot(self) -> Iterator[tuple[Any, int]]:
        """One snapshot of the directory (repeatable read, text in UTF-8) and its version (0: none)."""
        with self._connection() as connection, connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            connection.execute("SET LOCAL client_encoding TO 'UTF8'")
            version = connection.execute(f"SELECT version FROM {SCHEMA}.directory_head").fetchone()[0]
            yield connection, int(version or 0)

    @staticmethod
    def _version_row(connection, version: int, *, missing_ok: bool = False) -> tuple[list[str], str] | None:
        """The columns of ``version`` and what makes it this database's own (see :class:`Mark`)."""
        found = connection.execute(
            f"SELECT columns, current_database() || ':' || xmin::text || ':' "
            "|| (extract(epoch FROM at) * 1000000)::bigint::text "
            f"FROM {SCHEMA}.directory_versions WHERE version = %s",
            (version,),
        ).fetchone()
        if found is None:
            if missing_ok:
                return None
            raise KeyError(str(version))
        return list(found[0]), found[1]

    def read_journal(self) -> list[dict]:
        with self._connection() as connection:
            rows = connection.execute(f"SELECT entry::text FROM {SCHEMA}.directory_journal ORDER BY line").fetchall()
            connection.commit()
        return [json.loads(entry) for (entry,) in rows]

    def journal_tail(self, n: int) -> tuple[int, list[dict]]:
        """How many lines the journal holds and its last ``n``, oldest first: what a page shows of
        it (the whole journal read at every click was 7 s and 1.7 GB at a million fiches)."""
        with self._connection() as connection:
            count = connection.execute(f"SELECT count(*) FROM {SCHEMA}.directory_journal").fetchone()[0]
            rows = connection.execute(
                f"SELECT entry::text FROM {SCHEMA}.directory_journal ORDER BY line DESC LIMIT %s", (n,)
            ).fetchall()
            connection.commit()
        return int(count), [json.loads(entry) for (entry,) in reversed(rows)]

    # -- versions --

    def versions(self, limit: int = 200) -> list[StoredVersion]:
        """Former versions, newest first (the current one excluded)."""
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT v.version, v.at, v.who, v.action FROM {SCHEMA}.directory_versions v, "
                f"{SCHEMA}.directory_head h WHERE v.version < h.version ORDER BY v.version DESC LIMIT %s",
                (limit,),
            ).fetchall()
            connection.commit()
        return [
            StoredVersion(str(version), at.astimezone().replace(tzinfo=None), f"par {who} ({action})")
            for version, at, who, action in rows
        ]

    def load_version(self, key: str) -> Snapshot:
        with self._connection() as connection, connection.transaction():
            return self._load(connection, at=int(key))

    def restore_version(self, key: str, base: Snapshot, who: str) -> Snapshot:
        old = self.load_version(key)
        moment = next((v.when for v in self.versions(limit=100_000) if v.key == key), None)
        label = f"la version {key}" + (f" du {moment:%d/%m/%Y %H:%M}" if moment else "")
        return self.save(old.table, base, who, action=f"restauration de {label}")

    # -- writing --

    def save(self, table: pd.DataFrame, base: Snapshot, who: str, *, action: str = "modification") -> Snapshot:
        """Write ``table`` if the directory is still at ``base.version``; see the files'
        :meth:`reseaux.annuaire.store.DirectoryStore.save` for the contract, kept the same."""
        return self._save(table, base, who, action, restoring=action.startswith("restauration"))

    def _save(self, table: pd.DataFrame, base: Snapshot, who: str, action: str, *, restoring: bool) -> Snapshot:
        table, changes = prepare_save(base, table, restoring=restoring)
        with self._connection() as connection, connection.transaction():
            head, next_row = self._head_at(connection, base)
            if head and not restoring and not changes and _same_rows(base.table, table):
                return base
            if not head:
                keys = positions = None
            elif base.row_keys is None:  # a snapshot read elsewhere (an archive): match on the base
                current = self._load(connection)
                base, keys, positions = current, current.row_keys, current.row_positions
            else:
                keys, positions = base.row_keys, base.row_positions
            table = table.reset_index(drop=True)
            new_keys, new_positions = self._write(
                connection, int(head or 0), int(next_row), base.table, keys, positions, table, who, action
            )
            self._journal(connection, int(head or 0) + 1, changes, who, action)
        audit.record("enregistrement", who=who, action=action, fiches=len(changes), annuaire="postgresql")
        return Snapshot(table, str(int(head or 0) + 1), row_keys=new_keys, row_positions=new_positions)

    def _head_at(self, connection, base: Snapshot) -> tuple[int, int]:
        """Lock the head (a save at a time) and return its version and next row key, if the
        directory is still at ``base.version``; else :class:`ConflictError` with what changed."""
        head, next_row = connection.execute(
            f"SELECT version, next_row FROM {SCHEMA}.directory_head FOR UPDATE"
        ).fetchone()
        if str(head or "") != base.version:
            current = self._load(connection) if head else _empty(base)
            raise ConflictError(diff(base.table, current.table), current)
        return head, next_row

    def save_rows(
        self,
        base: Snapshot,
        rows: pd.DataFrame,
        who: str,
        *,
        removed: Iterable[str] = (),
        action: str = "modification",
    ) -> Snapshot:
        """Save the fiches ``rows`` and remove the fiches ``removed`` if the directory is still at
        ``base.version``; see the files' :meth:`reseaux.annuaire.store.DirectoryStore.save_rows`
        for the contract, kept the same. One transaction that reads and writes those fiches' rows
        alone: their current rows are closed, the new ones take their row keys and places (an added
        fiche a new key, after the last); nothing in it grows with the directory but the refusal.

        Raises :class:`~reseaux.annuaire.store.UnaddressableRows` (nothing written) when an id is
        empty or repeated, or ``base`` was not read from this store; and what ``save`` raises."""
        if base.row_keys is None or not base.version:
            raise UnaddressableRows("version lue ailleurs")
        edit = plan_rows(base.table, rows, removed)
        ids = sorted({c.id for c in edit.changes})
        with self._connection() as connection, connection.transaction():
            head, next_row = self._head_at(connection, base)
            if not edit.changes:
                return base
            found = connection.execute(
                f"SELECT actor_id, row_key, position FROM {SCHEMA}.directory_rows "
                "WHERE actor_id = ANY(%s) AND valid_to IS NULL",
                (ids,),
            ).fetchall()
            stored = {actor: (int(key), float(place)) for actor, key, place in found}
            known = {c.id for c in edit.changes if c.kind != "ajout"}
            if len(stored) != len(found) or set(stored) != known:  # not the rows its version says
                raise UnaddressableRows("lignes de la base différentes de la version lue")
            version, next_row = int(head) + 1, int(next_row)
            columns = [str(c) for c in base.table.columns]
            connection.execute(
                f"INSERT INTO {SCHEMA}.directory_versions (version, who, action, columns) VALUES (%s, %s, %s, %s)",
                (version, who, action, columns),
            )
            if stored:
                connection.execute(
                    f"UPDATE {SCHEMA}.directory_rows SET valid_to = %s WHERE valid_to IS NULL AND row_key = ANY(%s)",
                    (version, [key for key, _ in stored.values()]),
                )
            added = int((edit.at < 0).sum())
            if added:
                last = connection.execute(
                    f"SELECT max(position) FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL"
                ).fetchone()[0]
                start = float(last or 0.0)
            ids_written = edit.written[ID].astype(str).tolist()
            keys = np.zeros(len(edit.written), dtype=np.int64)
            places = np.zeros(len(edit.written), dtype=float)
            for r, actor in enumerate(ids_written):
                if edit.at[r] >= 0:
                    keys[r], places[r] = stored[actor]
                else:
                    keys[r], places[r], next_row = (
                        next_row,
                        start + 1024.0 * (r - len(ids_written) + added + 1),
                        next_row + 1,
                    )
            if len(edit.written):
                written = edit.written[list(base.table.columns)]
                self._insert(connection, version, written, columns, np.arange(len(keys)), keys, places)
            connection.execute(f"UPDATE {SCHEMA}.directory_head SET version = %s, next_row = %s", (version, next_row))
            self._journal(connection, version, edit.changes, who, action)
        audit.record("enregistrement", who=who, action=action, fiches=len(edit.changes), annuaire="postgresql")
        # The next base: the rows, keys and places in the order the database reads them back.
        row_keys, row_positions = np.delete(base.row_keys, edit.gone), np.delete(base.row_positions, edit.gone)
        added_rows = edit.at < 0
        return Snapshot(
            apply_rows(base.table, edit),
            str(version),
            row_keys=np.concatenate([row_keys, keys[added_rows]]),
            row_positions=np.concatenate([row_positions, places[added_rows]]),
        )

    def replace(self, data: bytes, who: str, action: str) -> Snapshot:
        """Make the directory file ``data`` the current directory, whatever it is now (a restoration
        from an archive, a migration); one journal line per fiche changed."""
        new = snapshot(data)
        with self.locked():
            try:
                base = self.load()
            except Exception:  # noqa: BLE001 — nothing yet, or unreadable: everything is « ajout »
                base = _empty(new)
            return self._save(new.table, base, who, action, restoring=True)  # written as it is, never stamped

    def _write(self, connection, head, next_row, before, keys, positions_before, table, who, action):
        """Close the rows that changed or left, insert the new ones; return the row keys and the
        positions of ``table``'s rows, in order."""
        version = head + 1
        columns = [str(c) for c in table.columns]
        connection.execute(
            f"INSERT INTO {SCHEMA}.directory_versions (version, who, action, columns) VALUES (%s, %s, %s, %s)",
            (version, who, action, columns),
        )
        matched = _match(before, keys, table) if keys is not None else np.full(len(table), -1)
        old_positions = positions_before if keys is not None else None
        # Rows of ``before`` no longer there, and rows whose content changed: closed at this version.
        changed = np.zeros(len(table), dtype=bool)
        kept_rows = np.flatnonzero(matched >= 0)
        if keys is not None and len(kept_rows):
            if [str(c) for c in before.columns] != columns:
                changed[kept_rows] = True
            elif len(kept_rows) == len(table) == len(before) and (matched == kept_rows).all():
                changed[:] = cells_differ(before, table)  # the usual whole table: each row in its place
            else:
                changed[kept_rows] = cells_differ(before, table, matched[kept_rows], kept_rows)
        gone = np.ones(len(keys) if keys is not None else 0, dtype=bool)
        gone[matched[kept_rows]] = False
        closing = [int(k) for k in keys[gone]] if keys is not None else []
        closing += [int(keys[matched[row]]) for row in np.flatnonzero(changed)]
        if closing:
            connection.execute(
                f"UPDATE {SCHEMA}.directory_rows SET valid_to = %s WHERE valid_to IS NULL AND row_key = ANY(%s)",
                (version, closing),
            )
        row_keys = np.zeros(len(table), dtype=np.int64)
        for row, old in enumerate(matched):
            if old >= 0:
                row_keys[row] = keys[old]
            else:
                row_keys[row], next_row = next_row, next_row + 1
        positions, renumber = _new_positions(matched, old_positions)
        if renumber:  # rows reordered: current rows take their new place (the order is not versioned)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {SCHEMA}.directory_rows SET position = %s WHERE valid_to IS NULL AND row_key = %s",
                    [(float(positions[r]), int(row_keys[r])) for r in range(len(table)) if matched[r] >= 0],
                )
        writing = np.flatnonzero((matched < 0) | changed)
        if len(writing):
            self._insert(connection, version, table, columns, writing, row_keys, positions)
        connection.execute(f"UPDATE {SCHEMA}.directory_head SET version = %s, next_row = %s", (version, next_row))
        return row_keys, positions

    def _insert(self, connection, version, table, columns, rows, row_keys, positions) -> None:
        """Write the ``rows`` of ``table`` (its columns: ``columns``), a block at a time: the
        cells of an import of a million rows as Python strings were 1.2 GB."""
        lat = columns.index("latitude") if "latitude" in columns else None
        lon = columns.index("longitude") if "longitude" in columns else None
        id_at = columns.index(ID) if ID in columns else None
        with (
            connection.cursor() as cursor,
            cursor.copy(
                f"COPY {SCHEMA}.directory_rows (row_key, valid_from, position, actor_id, cells, geom) FROM STDIN"
            ) as copy,
        ):
            for start in range(0, len(rows), INSERT_BLOCK):
                block = rows[start : start + INSERT_BLOCK]
                for r, values in zip(block, string_cells(table.iloc[block]), strict=True):
                    point = _point(values[lat] if lat is not None else "", values[lon] if lon is not None else "")
                    copy.write_row(
                        (
                            int(row_keys[r]),
                            version,
                            float(positions[r]),
                            str(values[id_at]) if id_at is not None else "",
                            json.dumps(dict(zip(columns, (str(v) for v in values), strict=True)), ensure_ascii=False),
                            point,
                        )
                    )

    def _journal(self, connection, version: int, changes: list[Change], who: str, action: str) -> None:
        now = datetime.now().isoformat(timespec="seconds")
        if not changes:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {SCHEMA}.directory_journal (version, actor_id, entry) VALUES (%s, %s, %s)",
                [
                    (version, c.id, json.dumps(journal_entry(c, who, action, now, str(version)), ensure_ascii=False))
                    for c in changes
                ],
            )

    # -- migration (reseaux.stockage.migrate) --

    def holds_directory(self) -> bool:
        """Whether the database holds a directory already: a version or a journal line."""
        with self._connection() as connection, connection.transaction():
            return self._holds(connection)

    @staticmethod
    def _holds(connection) -> bool:
        return bool(
            connection.execute(
                f"SELECT (SELECT version FROM {SCHEMA}.directory_head) > 0 "
                f"OR EXISTS (SELECT 1 FROM {SCHEMA}.directory_journal)"
            ).fetchone()[0]
        )

    @contextmanager
    def importing(self, *, replace: bool = False) -> Iterator[None]:
        """One transaction for a whole migration, under the directory's lock: the versions and the
        journal written inside are all kept or none is. With ``replace``, what the database held
        (directory, versions, journal) is deleted first; without, a database that holds a directory
        is refused (ValueError)."""
        with self.locked(), self._connection() as connection, connection.transaction():
            if replace:
                connection.execute(f"TRUNCATE {SCHEMA}.directory_rows, {SCHEMA}.directory_versions")
                connection.execute(f"TRUNCATE {SCHEMA}.directory_journal RESTART IDENTITY")
                connection.execute(f"UPDATE {SCHEMA}.directory_head SET version = 0, next_row = 1")
            elif self._holds(connection):
                raise ValueError(self.describe())
            yield

    def import_version(
        self, table: pd.DataFrame, when: datetime | None, who: str, action: str, *, after: Snapshot | None = None
    ) -> Snapshot:
        """Write ``table`` as it is (never stamped) as the next version, dated ``when`` (a naive
        moment is local time; None: now), with no journal line (:meth:`import_journal` brings the
        journal as it was). Every version is kept, one identical to the last as well. ``after``: the
        snapshot the previous call returned, so the version it wrote is not read back (taken only
        while it is still the current one). Returns the new version's snapshot."""
        with self._connection() as connection, connection.transaction():
            head, next_row = connection.execute(
                f"SELECT version, next_row FROM {SCHEMA}.directory_head FOR UPDATE"
            ).fetchone()
            current = after if after is not None and after.version == str(head) else None
            if current is None and head:
                current = self._load(connection)
            if current is not None:
                before, keys, positions = current.table, current.row_keys, current.row_positions
            else:
                before, keys, positions = table.iloc[0:0], None, None
            table = table.fillna("").astype(str).reset_index(drop=True)
            new_keys, new_positions = self._write(
                connection, int(head), int(next_row), before, keys, positions, table, who, action
            )
            if when is not None:
                connection.execute(
                    f"UPDATE {SCHEMA}.directory_versions SET at = %s WHERE version = %s",
                    (when.astimezone(), int(head) + 1),
                )
        return Snapshot(table, str(int(head) + 1), row_keys=new_keys, row_positions=new_positions)

    def import_journal(self, entries: list[dict]) -> int:
        """Append journal lines as they are (their fields kept; a jsonb object keeps no key order),
        each under the current version; returns how many."""
        with self._connection() as connection, connection.transaction():
            head = connection.execute(f"SELECT version FROM {SCHEMA}.directory_head").fetchone()[0]
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {SCHEMA}.directory_journal (version, actor_id, entry) VALUES (%s, %s, %s)",
                    [(int(head), str(e.get("id", "")), json.dumps(e, ensure_ascii=False)) for e in entries],
                )
        return len(entries)

    def counts(self) -> tuple[int, int, int]:
        """(versions, fiches of the current version, journal lines) as the database holds them."""
        with self._connection() as connection:
            found = connection.execute(
                f"SELECT (SELECT count(*) FROM {SCHEMA}.directory_versions), "
                f"(SELECT count(*) FROM {SCHEMA}.directory_rows WHERE valid_to IS NULL), "
                f"(SELECT count(*) FROM {SCHEMA}.directory_journal)"
            ).fetchone()
            connection.commit()
        return int(found[0]), int(found[1]), int(found[2])

    # -- erasure --

    def former_copies(self, actor_id: str) -> list[dict]:
        """Her fiche as every former version holds it (the current one excluded)."""
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT cells::text FROM {SCHEMA}.directory_rows WHERE actor_id = %s AND valid_to IS NOT NULL",
                (actor_id,),
            ).fetchall()
            connection.commit()
        return [json.loads(cells) for (cells,) in rows]

    def scrub(self, actor_id: str, erased: str) -> tuple[int, int]:
        """Delete her rows from every version and empty her journal lines (who and when stay);
        return (former versions that held her, journal lines emptied)."""
        with self._connection() as connection, connection.transaction():
            versions = connection.execute(
                f"SELECT count(DISTINCT valid_from) FROM {SCHEMA}.directory_rows WHERE actor_id = %s "
                "AND valid_to IS NOT NULL",
                (actor_id,),
            ).fetchone()[0]
            connection.execute(f"DELETE FROM {SCHEMA}.directory_rows WHERE actor_id = %s", (actor_id,))
            lines = connection.execute(
                f"UPDATE {SCHEMA}.directory_journal SET entry = entry || jsonb_build_object('nom', %s::text, "
                "'champs', '{}'::jsonb) WHERE actor_id = %s AND (entry->>'nom' IS DISTINCT FROM %s "
                "OR entry->'champs' <> '{}'::jsonb)",
                (erased, actor_id, erased),
            ).rowcount
        return int(versions), int(lines)


def _read_rows(connection, columns: list[str], where) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rows ``where`` selects, in their order: the table (the version's ``columns``, strings,
    ``""`` where a row has no such cell), their keys and their positions. The database writes them
    as CSV (``COPY``), read by pandas' C reader: decoding each row's jsonb in Python took 1.8 s of
    the 5.3 s of a load at 100,000 fiches, and building the table from the dicts 1.6 s. The CSV
    waits in a temporary file (unnamed, gone when closed), not in memory, and what the parser frees
    goes back to the system: at a million fiches the load peaked at 0.99 GiB, now 0.58."""
    from psycopg import sql

    cells = sql.SQL(", ").join(sql.SQL("cells->>{}").format(sql.Literal(c)) for c in columns)
    query = sql.SQL(
        "COPY (SELECT row_key, position, {} FROM {}.directory_rows WHERE {} ORDER BY {}) TO STDOUT (FORMAT csv)"
    ).format(cells, sql.Identifier(SCHEMA), where, sql.SQL(ROW_ORDER))
    with tempfile.TemporaryFile(prefix="reseaux-lecture-") as data:
        with connection.cursor() as cursor, cursor.copy(query) as copy:
            for block in copy:
                data.write(block)
        if not data.tell():
            return pd.DataFrame(columns=columns, dtype=str), np.zeros(0, dtype=np.int64), np.zeros(0)
        data.seek(0)
        with memory.reading():  # what the parser frees goes back to the system
            read = pd.read_csv(
                data,
                header=None,
                names=range(len(columns) + 2),
                dtype={0: np.int64, 1: float, **{j + 2: str for j in range(len(columns))}},
                na_filter=False,  # a NULL (no such cell) and an empty cell are both ""
                encoding=connection.info.encoding,
            )
    table = one_empty(read.iloc[:, 2:].set_axis(columns, axis=1).reset_index(drop=True))
    return table, read[0].to_numpy(dtype=np.int64), read[1].to_numpy(dtype=float)


def _copy_csv(connection, columns: list[str], where: str, arguments: tuple, file: BinaryIO) -> None:
    """Write to ``file`` the CSV (header first) of the rows ``where`` selects, in the file's order."""
    from psycopg import sql

    query = sql.SQL(
        "COPY (SELECT {} FROM {}.directory_rows WHERE {} ORDER BY {}) TO STDOUT (FORMAT csv, HEADER)"
    ).format(_csv_cells(columns), sql.Identifier(SCHEMA), sql.SQL(where), sql.SQL(ROW_ORDER))
    with connection.cursor() as cursor, cursor.copy(query, arguments or None) as copy:
        for block in copy:
            file.write(block)


def _row_keys(connection, where: str, arguments: tuple) -> np.ndarray:
    """The row keys of the rows ``where`` selects, in the file's order, as int64: one value packed
    by the database (8 bytes a key, big-endian: ``int8send``), 8 MB at a million fiches. Read as
    rows (a ``COPY``, one message a row), a million keys took 2 s."""
    (packed,) = connection.execute(
        f"SELECT string_agg(int8send(row_key), ''::bytea ORDER BY {ROW_ORDER}) "
        f"FROM {SCHEMA}.directory_rows WHERE {where}",
        arguments or None,
    ).fetchone()
    return np.frombuffer(packed or b"", dtype=">i8").astype(np.int64)


def _csv_cells(columns: list[str]):
    """The select list whose CSV is Python's ``csv.writer`` of the table (:func:`encode_table`):
    PostgreSQL quotes an empty string (``""``) and leaves a NULL bare, Python leaves an empty cell
    bare — so an empty cell is written as NULL, as is a cell a row lacks (written before its
    version's column existed). Otherwise both quote alike: a delimiter, a quote (doubled) or a line
    break. (A table of one column would differ — Python writes ``""`` for its empty cell — but a
    directory has every column of the registry.)"""
    from psycopg import sql

    return sql.SQL(", ").join(
        sql.SQL("NULLIF(cells->>{}, '') AS {}").format(sql.Literal(c), sql.Identifier(c)) for c in columns
    )


def _missing() -> Exception:
    from reseaux.annuaire.directory import DirectoryError

    return DirectoryError("L'annuaire de la base PostgreSQL est vide : importez un fichier ou migrez l'annuaire.")


#: Rows whose cells are made Python strings at a time when written (:meth:`PostgresDirectoryStore._insert`).
INSERT_BLOCK = 10_000


def _empty(like: Snapshot) -> Snapshot:
    return Snapshot(like.table.iloc[0:0], "", row_keys=np.zeros(0, dtype=np.int64), row_positions=np.zeros(0))


def _same_rows(before: pd.DataFrame, after: pd.DataFrame) -> bool:
    """Whether two tables hold the same rows in the same order (a save with an empty diff: the
    diff sees one fiche per id, so duplicate ids need the rows themselves)."""
    if list(before.columns) != list(after.columns) or len(before) != len(after):
        return False
    return not cells_differ(before, after).any()


def _match(before: pd.DataFrame, keys: np.ndarray, after: pd.DataFrame) -> np.ndarray:
    """For each row of ``after``, the row of ``before`` it continues (-1: a new row): by
    identifier when it names one row on each side, else by identical content."""
    out = np.full(len(after), -1, dtype=np.int64)
    if not len(before) or not len(after):
        return out
    if same_fiches_in_place(before, after):  # one column of ids, unique and filled: each row continues its own
        return np.arange(len(after), dtype=np.int64)
    ids_before = before[ID].fillna("").astype(str) if ID in before else pd.Series([""] * len(before))
    ids_after = after[ID].fillna("").astype(str) if ID in after else pd.Series([""] * len(after))
    unique_before = ids_before[(ids_before != "") & ~ids_before.duplicated(keep=False)]
    unique_after = ids_after[(ids_after != "") & ~ids_after.duplicated(keep=False)]
    found = pd.Index(unique_before.values).get_indexer(unique_after.values)
    hit = found >= 0
    out[unique_after.index.to_numpy()[hit]] = unique_before.index.to_numpy()[found[hit]]
    pending = np.flatnonzero(out < 0)
    if not len(pending):  # every row found by its id (the usual save): no content to compare
        return out
    free_rows = np.setdiff1d(np.arange(len(before)), out[out >= 0])
    if not len(free_rows):
        return out
    # The rest by content: rows with errors, duplicate identifiers (only those rows are read).
    common = [c for c in after.columns if c in before.columns]
    if len(common) == len(after.columns) == len(before.columns):
        free: dict[tuple, list[int]] = {}
        for row, values in zip(free_rows, string_cells(before[common].iloc[free_rows]), strict=True):
            free.setdefault(tuple(values), []).append(int(row))
        for row, values in zip(pending, string_cells(after[common].iloc[pending]), strict=True):
            waiting = free.get(tuple(values))
            if waiting:
                out[row] = waiting.pop(0)
    return out


def _new_positions(matched: np.ndarray, old_positions: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """Positions for the rows of the new table: kept rows keep theirs when their order is kept
    (then only new rows get one, between their neighbours); else all are numbered again."""
    count = len(matched)
    kept_rows = np.flatnonzero(matched >= 0)
    if old_positions is None or not len(kept_rows):
        return np.arange(1, count + 1, dtype=float) * 1024.0, False
    known = old_positions[matched[kept_rows]]
    if (np.diff(known) <= 0).any():
        return np.arange(1, count + 1, dtype=float) * 1024.0, True
    positions = np.zeros(count, dtype=float)
    positions[kept_rows] = known
    # New rows between the kept row before them and the kept row after them.
    r = 0
    while r < count:
        if matched[r] >= 0:
            r += 1
            continue
        end = r
        while end < count and matched[end] < 0:
            end += 1
        low = positions[r - 1] if r > 0 else (positions[end] - 1024.0 * (end - r + 1) if end < count else 0.0)
        high = positions[end] if end < count else low + 1024.0 * (end - r + 1)
        step = (high - low) / (end - r + 1)
        if step <= 1e-9:
            return np.arange(1, count + 1, dtype=float) * 1024.0, True
        for i, row in enumerate(range(r, end)):
            positions[row] = low + step * (i + 1)
        r = end
    return positions, False


def _content_key(version, identity: str) -> str:
    """A version's content key: its number and the database's mark of it (see :class:`Mark`)."""
    return f"{version} {identity}"


def _point(latitude: str, longitude: str):
    """A PostGIS point (EWKT) for the coordinates, None when they do not make one."""
    try:
        lat, lon = float(str(latitude).replace(",", ".")), float(str(longitude).replace(",", "."))
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return f"SRID=4326;POINT({lon!r} {lat!r})"
