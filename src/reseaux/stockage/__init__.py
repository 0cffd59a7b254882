"""Where the directory is kept: files (the embedded default) or PostgreSQL with PostGIS.

Every read and write of the directory goes through the store this module gives
(:func:`directory_store`); both backends keep one contract (``tests/test_storage_contract.py``):

- ``load()`` → :class:`~reseaux.annuaire.store.Snapshot` (table, version); ``current_version()``;
  ``current_content_key()``, the ``content_key`` of the current version (what the Annuaire page
  shares a version read between sessions by);
- ``save(table, base, who, action=…)``: refused with :class:`~reseaux.annuaire.store.ConflictError`
  when the directory is no longer at ``base.version``; stamps ``date_maj``; journals each fiche;
- ``save_rows(base, rows, who, removed=…, action=…)``: the same promises for the fiches ``rows``
  (each replacing the fiche of its id, or added after the last) and the ids ``removed``, compared
  on those fiches alone — a save that costs its changes (the files still write the whole file);
  :class:`~reseaux.annuaire.store.UnaddressableRows` when an id is empty or repeated, and
  :func:`~reseaux.annuaire.store.save_changes` then saves the whole table;
- ``replace(data, who, action)``: a whole directory file made current (archive, migration);
- ``versions()``, ``load_version(key)``, ``restore_version(key, base, who)``: former versions;
- ``read_journal()``, and ``journal_tail(n)`` (its count and last ``n`` lines: what a page shows); ``locked()``; ``former_copies(id)`` and ``scrub(id, erased)`` for an erasure.

The files (:class:`~reseaux.annuaire.store.DirectoryStore`) keep the canonical CSV that people
open in a spreadsheet, with dated full copies; PostgreSQL
(:class:`~reseaux.stockage.postgres.PostgresDirectoryStore`) keeps every version as its changes,
for several servers on one database. ``RESEAUX_DATABASE_URL`` chooses; ``python -m reseaux
migrer`` moves a directory from one to the other (:mod:`reseaux.stockage.migrate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from reseaux import config
from reseaux.stockage.errors import StorageUnavailable, forget_pool, reaching, unavailable

__all__ = ["StorageUnavailable", "forget_pool", "reaching", "unavailable"]


def database_url() -> str:
    """The PostgreSQL URL the settings name, ``""`` for the files."""
    return config.get("database_url").strip()


def directory_store(path: Path | None = None):
    """The directory's store as the settings make it: PostgreSQL when ``RESEAUX_DATABASE_URL`` is
    set (and no file ``path`` is asked for), else the file at ``path`` (the ``actors`` setting)."""
    url = database_url()
    if url and path is None:
        from reseaux.stockage.postgres import PostgresDirectoryStore

        return PostgresDirectoryStore(url)
    from reseaux.annuaire.store import DirectoryStore

    return DirectoryStore.configured(path)


#: The app's name for a directory read from the database (a file's is its path).
DATABASE = "postgresql"


def directory_source() -> tuple[str, float]:
    """Where the app reads the directory now, and the stamp of its version: the file's path and
    modification time, or (``DATABASE``, the database's version number). A stamp that changes
    is a directory to read again; a map token answers only while it is unchanged."""
    if database_url():
        version = directory_store().current_version()
        return DATABASE, float(version or 0)
    path = config.path("actors")
    return str(path), path.stat().st_mtime if path.exists() else 0.0


def unchanged(source: str, stamp: float) -> bool:
    """Whether the directory read from ``source`` is still at ``stamp`` (one ``stat``, or one query)."""
    import os

    try:
        if source == DATABASE:
            return database_url() != "" and float(directory_store().current_version() or 0) == stamp
        return os.stat(source).st_mtime == stamp
    except Exception:  # noqa: BLE001 — a file gone, a database down: the token answers no more
        return False


def stored_directory() -> tuple[BinaryIO, str]:
    """The database's current directory as a CSV file (open, at its start, the caller's to
    close), and its version: what the app parses and validates exactly as it parses a file. The
    database writes the CSV (:meth:`~reseaux.stockage.postgres.PostgresDirectoryStore.csv_file`):
    the table is never held as Python objects here, nor its text whole."""
    return directory_store().csv_file()


class DatabaseDirectory:
    """How the map reads the database's directory (:func:`reseaux.app_data.load_actors`): the
    :class:`~reseaux.stockage.postgres.Mark` of the current version alone (its reading may be kept
    already), the whole version (a CSV file the app parses as a file, with its mark), or what
    changed since the reading of a mark (None: read it whole)."""

    def mark(self, *, with_keys: bool = True):
        return directory_store().mark(with_keys=with_keys)

    def whole(self):
        return directory_store().marked_csv_file()

    def changes(self, mark, again, most):
        return directory_store().changes_since(mark, again, most)
