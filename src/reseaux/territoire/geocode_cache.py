"""The persistent geocoding cache: one answer per address (« not found » included), in SQLite,
keyed by the folded address, so that a second run of the same file asks the geocoder nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from reseaux.annuaire.exports import PRIVATE_FILE, private_folder
from reseaux.territoire.geocoder_client import Match
from reseaux.text import fold


def address_key(row: dict[str, str]) -> str:
    """The cache key: address, postcode and commune, folded (accents, case, spacing)."""
    return "|".join(
        (fold(row.get("adresse", "")), row.get("code_postal", "").replace(" ", ""), fold(row.get("commune", "")))
    )


class GeoCache:
    """A persistent cache in SQLite; ``None`` answers (not found) are cached too."""

    _MISSING = object()
    #: How the keys are written (the database's ``user_version``): 1 is :func:`address_key` with
    #: ``text.fold``. Before, Unidecode folded them (« N° 12 » was « ndeg 12 », « € » was « eur »):
    #: those rows are no longer found, and an erasure, which looks an address up by its key today,
    #: would leave them. Only the keys are stored, not the addresses, so they cannot be written
    #: again: a cache of an older version is emptied when opened (its addresses are asked again).
    KEY_VERSION = 1

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        private_folder(self.path.parent)
        # Addresses of people: created private (SQLite would create it through the umask, and
        # gives its journal the database's mode). One that exists is left as it is (maybe read-only).
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        except FileExistsError:
            pass
        self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT, stored REAL)")
        self.db.commit()
        if self._version() < self.KEY_VERSION:
            self._empty_outdated()

    def _version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _empty_outdated(self) -> None:
        """Remove every row of a cache whose keys were written another way, their bytes overwritten
        (addresses of people), and mark it current; under a write lock, so that two processes
        opening it together do not both empty it. A read-only copy is left as it is."""
        self.db.execute("PRAGMA secure_delete = ON")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            if self._version() < self.KEY_VERSION:
                self.db.execute("DELETE FROM answers")
                self.db.execute(f"PRAGMA user_version = {int(self.KEY_VERSION)}")
            self.db.commit()
        except sqlite3.OperationalError as exc:
            self.db.rollback()
            if exc.sqlite_errorcode != sqlite3.SQLITE_READONLY:  # read-only: it cannot be written to either
                raise

    def get(self, key: str):
        """Return the cached Match, ``None`` for a cached « not found », or ``GeoCache.MISSING``."""
        row = self.db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None:
            return self._MISSING
        return None if row[0] is None else Match(**json.loads(row[0]))

    def put_many(self, items: Iterable[tuple[str, Match | None]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?)",
                [(k, None if m is None else json.dumps(asdict(m)), time.time()) for k, m in items],
            )

    def forget(self, keys: Iterable[str]) -> None:
        """Remove ``keys``, their bytes overwritten in the file (an erased person's address)."""
        self.db.execute("PRAGMA secure_delete = ON")
        with self.db:
            self.db.executemany("DELETE FROM answers WHERE key = ?", [(k,) for k in keys])

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        self.db.close()


GeoCache.MISSING = GeoCache._MISSING
