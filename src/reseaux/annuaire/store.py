"""Saving the directory safely: versions, conflicts, dated backups and an append-only journal.

The canonical file stays ``data/actors.csv`` (people open it in a spreadsheet). A save:

1. takes an exclusive lock (``actors.csv.lock``), so two saves never interleave;
2. refuses when the file on disk is no longer the version the editor loaded — another
   coordinator saved first — and returns what they changed (:class:`ConflictError`);
3. copies the current file to ``.backups/actors-<date>.csv`` and keeps the last N;
4. writes the new file to a temporary file and renames it (a crash leaves the old one whole);
5. appends one JSON line per changed fiche to the journal (when, who, what).

Tables are DataFrames of strings, one column per directory column, every row kept — rows
with errors included, so editing one fiche never loses another. What changed from one version
to another is :mod:`reseaux.annuaire.changes`; replaying one's edits on another's save,
:mod:`reseaux.annuaire.concurrent_edits`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from reseaux import config, memory
from reseaux.acces import audit
from reseaux.annuaire.changes import ID, Change, diff, diff_among, journal_entry, stamp_changes, string_cells
from reseaux.annuaire.directory import DirectoryError, read_directory_table
from reseaux.annuaire.exports import (
    LOCK_TIMEOUT,
    file_lock,
    open_private,
    private_folder,
    sync_folder,
    write_aside,
    write_atomic,
)
from reseaux.text import one_empty


@dataclass(frozen=True)
class Snapshot:
    """A version of the file: its table, its hash (the version) and how to write it back."""

    table: pd.DataFrame
    version: str
    delimiter: str = ","
    encoding: str = "utf-8"
    #: PostgreSQL only: the stored row each row of ``table`` is, and its place (see stockage.postgres).
    row_keys: object = field(default=None, compare=False, repr=False)
    row_positions: object = field(default=None, compare=False, repr=False)
    #: A database's version read whole: the version and the database's own mark of it (a new
    #: database numbers its versions from 1 again); see :attr:`content_key`.
    identity: str = field(default="", compare=False, repr=False)

    @property
    def content_key(self) -> str:
        """What names the content of this version, as ``current_content_key()`` of its store names
        the current one: the file's hash, or a database's version with its mark. Two versions with
        the same key hold the same table (the Annuaire page shares it between sessions)."""
        return self.identity or self.version


@dataclass(frozen=True)
class StoredVersion:
    """A former version of the directory one may read back and restore: a dated backup file, or a
    version of the database. ``key`` names it to its store."""

    key: str
    when: datetime | None
    label: str = ""


class ConflictError(Exception):
    """The file changed on disk since it was loaded; ``theirs`` lists what the other save did."""

    def __init__(self, theirs: list[Change], current: Snapshot) -> None:
        self.theirs = theirs
        self.current = current
        super().__init__(
            f"L'annuaire a été enregistré par quelqu'un d'autre depuis votre chargement "
            f"({len(theirs)} fiche(s) changée(s)) : vos modifications ne sont pas perdues, "
            "rechargez-les sur la nouvelle version avant d'enregistrer."
        )


def snapshot(data: bytes) -> Snapshot:
    """The table, version and format of a directory file's bytes (the file, or a backup)."""
    with memory.reading():  # what the reading frees goes back to the system (0.55 GB resident, not 0.77)
        table, encoding, delimiter = read_directory_table(data)
    return Snapshot(one_empty(table), version_of(data), delimiter, encoding)


def version_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prepare_save(base: Snapshot, table: pd.DataFrame, *, restoring: bool) -> tuple[pd.DataFrame, list[Change]]:
    """What a save writes, whatever the store: ``table`` with ``date_maj`` stamped on the fiches
    it changes (a restoration is written as it was), and those changes."""
    return _stamped(base.table, table, restoring=restoring)


def _stamped(before: pd.DataFrame, after: pd.DataFrame, *, restoring: bool) -> tuple[pd.DataFrame, list[Change]]:
    changes = diff(before, after)
    if not restoring:
        after = stamp_changes(before, after, changes=changes)
        # Stamping changed only those fiches: compare them again, not the whole directory.
        changes = diff_among(before, after, {c.id for c in changes})
    return after, changes


class UnaddressableRows(ValueError):
    """Fiches a save of rows cannot address by their identifier: an empty or repeated id (in the
    rows, or among the base's fiches they name), columns other than the base's. Raised before
    anything is written; the caller saves the whole table instead (:func:`save_changes`)."""


@dataclass(frozen=True)
class RowEdit:
    """What a save of rows writes, reckoned from its base without reading the whole directory.

    ``written``: the fiches that really change, stamped (replaced ones, then added ones);
    ``at``: for each of them, its row in the base's table (-1: added, written after the last);
    ``gone``: the rows of the base's table removed; ``changes``: the journal's changes."""

    written: pd.DataFrame
    at: np.ndarray
    gone: np.ndarray
    changes: list[Change]


def plan_rows(base: pd.DataFrame, rows: pd.DataFrame, removed: Iterable[str] = ()) -> RowEdit:
    """The fiches ``rows`` (whole fiches, the base's columns) each replacing the fiche of the same
    id in ``base`` or added when the id is new, and the ids ``removed`` deleted: what changes,
    compared on those fiches alone (:func:`~reseaux.annuaire.changes.diff` and
    :func:`~reseaux.annuaire.changes.stamp_changes` on a few rows; finding them is one ``isin``
    over the base's ids). Raises :class:`UnaddressableRows` when they cannot be addressed."""
    columns = [str(c) for c in base.columns]
    if ID not in columns or "date_maj" not in columns or sorted(map(str, rows.columns)) != sorted(columns):
        raise UnaddressableRows("colonnes différentes de celles de l'annuaire")
    rows = rows.reset_index(drop=True)[list(base.columns)]
    ids = rows[ID].fillna("").astype(str)
    removed = [str(r) for r in removed]
    named = [*ids, *removed]
    if "" in named or len(set(named)) != len(named):
        raise UnaddressableRows("identifiant vide ou répété")
    hits = np.flatnonzero(base[ID].isin(named).to_numpy())
    found = base[ID].iloc[hits].fillna("").astype(str)
    if not found.is_unique:
        raise UnaddressableRows("identifiant répété dans l'annuaire")
    written, changes = _stamped(base.iloc[hits], rows, restoring=False)
    kinds = {c.id: c.kind for c in changes}
    written = written[written[ID].astype(str).map(kinds).isin(["ajout", "modification"])].reset_index(drop=True)
    where = pd.Index(found.to_numpy(), dtype=object)
    at = np.asarray(where.get_indexer(written[ID].astype(str)), dtype=np.int64)
    at[at >= 0] = hits[at[at >= 0]]
    order = np.argsort(at < 0, kind="stable")  # replaced fiches first, then the added ones in their order
    gone = np.sort(hits[found.map(kinds).eq("suppression").to_numpy()])
    return RowEdit(written.iloc[order].reset_index(drop=True), at[order], gone, changes)


def apply_rows(table: pd.DataFrame, edit: RowEdit) -> pd.DataFrame:
    """``table`` with ``edit`` applied: replaced fiches in their place, removed ones gone, added
    ones after the last. The table is not changed; without removals or additions, only the
    columns whose cells change are copied (pandas copies on write)."""
    out = table.copy(deep=False)
    replaced = edit.at >= 0
    if replaced.any():
        rows = edit.at[replaced]
        new = edit.written[replaced]
        for name in out.columns:
            values = new[name].to_numpy(dtype=object)
            if (out[name].iloc[rows].to_numpy(dtype=object) != values).any():
                out.iloc[rows, out.columns.get_loc(name)] = values
    if len(edit.gone):
        out = out.drop(index=out.index[edit.gone])
    if not replaced.all():
        out = pd.concat([out, edit.written[~replaced].astype(out.dtypes.to_dict())], ignore_index=True)
    return out.reset_index(drop=True)


def save_changes(store, base: Snapshot, table: pd.DataFrame, changes: list[Change], who: str, **kw) -> Snapshot:
    """Save ``table``, whose ``changes`` from ``base.table`` are known (``diff``), by its changed
    fiches alone (``store.save_rows``: a save that costs its changes) when their ids address them,
    else whole (``store.save``). Added fiches go after the last, as the Annuaire page adds them."""
    kept = [c.id for c in changes if c.kind != "suppression"]
    if ID in table.columns:
        rows = table[table[ID].isin(kept)]
        if len(rows) == len(kept):
            removed = [c.id for c in changes if c.kind == "suppression"]
            try:
                return store.save_rows(base, rows, who, removed=removed, **kw)
            except UnaddressableRows:
                pass
    return store.save(table, base, who, **kw)


#: Bytes of the journal read at a time when reading its end.
JOURNAL_BLOCK = 1 << 20


#: Each journal's count of lines (``journal_tail``), with the state of the file it was counted
#: in, by path: kept by the process, since a page makes a new store at every run.
_JOURNAL_LINES: dict[str, tuple[tuple, int]] = {}
_JOURNAL_LOCK = threading.Lock()


def _counted_lines(handle: BinaryIO) -> int:
    """The lines of the file ``handle`` that hold something (as :meth:`DirectoryStore.read_journal`
    reads them), counted without parsing them."""
    handle.seek(0)
    return sum(1 for line in handle if line.strip())


def _last_lines(handle: BinaryIO, n: int) -> list[bytes]:
    """The last ``n`` lines of ``handle`` that hold something, oldest first, read backwards a block
    at a time from the end of the file."""
    end = pos = handle.seek(0, 2)
    blocks: list[bytes] = []
    kept: list[bytes] = []
    while pos > 0 and n > 0:
        step = min(JOURNAL_BLOCK, pos)
        pos -= step
        handle.seek(pos)
        blocks.insert(0, handle.read(step))
        lines = b"".join(blocks).split(b"\n")
        kept = [line for line in (lines if pos == 0 else lines[1:]) if line.strip()]  # the first may be cut
        if len(kept) >= n:
            break
    return kept[-n:] if n and end else []


class DirectoryStore:
    """The directory file, its backups folder and its journal."""

    kind = "fichiers"

    def __init__(
        self,
        path: Path,
        *,
        backups: Path | None = None,
        journal: Path | None = None,
        keep: int = 20,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.backups = backups or self.path.parent / ".backups"
        self.journal = journal or self.path.parent / "journal.jsonl"
        self.keep = keep
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._held = threading.local()

    @classmethod
    def configured(cls, path: Path | None = None) -> DirectoryStore:
        """The store as the settings make it: the directory at ``path`` (the ``actors`` setting
        when None), keeping as many backups as the ``backups`` setting says."""
        return cls(Path(path) if path is not None else config.path("actors"), keep=int(config.get("backups")))

    # -- reading --

    def load(self) -> Snapshot:
        """Read the file as it is now. Raises DirectoryError when it cannot be read."""
        return snapshot(self.path.read_bytes())

    def current_version(self) -> str:
        """The version (hash) of the file on disk now, ``""`` when it is missing."""
        return version_of(self.path.read_bytes()) if self.path.exists() else ""

    def current_content_key(self) -> str:
        """The :attr:`Snapshot.content_key` of the current version (its hash), ``""`` when there is none."""
        return self.current_version()

    # -- writing --

    def save(self, table: pd.DataFrame, base: Snapshot, who: str, *, action: str = "modification") -> Snapshot:
        """Write ``table`` if the file is still at ``base.version``; return the new snapshot.

        A save that changes no fiche (a geocoding that placed nobody) writes nothing and returns
        ``base`` itself: no backup pushing a real one out of ``keep``, no journal line. A
        restoration is always written (a person asked for it), and so is the first save of a file
        that does not exist yet.

        Raises :class:`ConflictError` (nothing written) when the file changed meanwhile, and
        :class:`~reseaux.annuaire.exports.LockTimeout` when another save holds the lock too long.
        """
        restoring = action.startswith("restauration")
        table, changes = prepare_save(base, table, restoring=restoring)
        with self._locked():
            on_disk = self.path.read_bytes() if self.path.exists() else None
            # Parsed only when it changed: at 200,000 fiches parsing is seconds, hashing a fraction.
            if on_disk is not None and version_of(on_disk) != base.version:
                current = snapshot(on_disk)
                raise ConflictError(diff(base.table, current.table), current)
            data = encode_table(table, base.delimiter, base.encoding)
            if on_disk is not None and not restoring and not changes and _unchanged(base.table, table, data, on_disk):
                return base
            self._commit(data, changes, who, action, backup=on_disk is not None)
        return Snapshot(table.reset_index(drop=True), version_of(data), base.delimiter, base.encoding)

    def save_rows(
        self,
        base: Snapshot,
        rows: pd.DataFrame,
        who: str,
        *,
        removed: Iterable[str] = (),
        action: str = "modification",
    ) -> Snapshot:
        """Save the fiches ``rows`` (each replacing the fiche of its id, or added after the last)
        and remove the fiches ``removed``, if the file is still at ``base.version``: ``save``'s
        promises (refusal, ``date_maj``, journal, nothing written when nothing changes), compared
        on those fiches alone (:func:`plan_rows`). The file is still written whole.

        Raises :class:`UnaddressableRows` (nothing written) when an id is empty or repeated, and
        what ``save`` raises."""
        edit = plan_rows(base.table, rows, removed)
        with self._locked():
            on_disk = self.path.read_bytes() if self.path.exists() else None
            if on_disk is None:
                raise UnaddressableRows("pas encore de fichier")
            if version_of(on_disk) != base.version:
                current = snapshot(on_disk)
                raise ConflictError(diff(base.table, current.table), current)
            if not edit.changes:
                return base
            table = apply_rows(base.table, edit)
            data = encode_table(table, base.delimiter, base.encoding)
            self._commit(data, edit.changes, who, action, backup=True)
        return Snapshot(table, version_of(data), base.delimiter, base.encoding)

    def _commit(self, data: bytes, changes: list[Change], who: str, action: str, *, backup: bool) -> None:
        """Write ``data`` and its journal lines together or not at all (a full disk, a folder
        turned read-only): the new file is written aside first, then the journal line, then the
        file takes its place; on any failure the journal is cut back and the old file stays.

        A save killed midway (kill -9, power cut) cannot cut anything back: it may leave its file
        written aside and, if it died after its journal lines, lines for a change that never
        happened. Each journal line names the version its save wrote; the next save (under the
        lock: no other save is running) cuts the journal's last lines when their version is that
        of a file left aside, then removes those files (one may hold a fiche since erased)."""
        leftovers = list(self.path.parent.glob(f".{self.path.name}.*.tmp"))
        if leftovers:
            aside = set()
            for leftover in leftovers:
                try:
                    aside.add(version_of(leftover.read_bytes()))
                except OSError:
                    pass
            orphan = self._orphan_start(aside)
            if orphan is not None:
                self._cut_journal(orphan)
            for leftover in leftovers:
                leftover.unlink(missing_ok=True)
        journal_size = self.journal.stat().st_size if self.journal.exists() else None
        # The mode is the file's own: a directory readable by a group stays so (it became 0600).
        aside = write_aside(self.path, data)
        try:
            if backup:
                self._backup()
            self._log(changes, who, action, version_of(data))
            os.replace(aside, self.path)
        except BaseException:
            aside.unlink(missing_ok=True)
            self._cut_journal(journal_size)
            raise
        sync_folder(self.path.parent)
        audit.record("enregistrement", who=who, action=action, fiches=len(changes), annuaire=self.path.name)

    def _orphan_start(self, aside: set[str]) -> int | None:
        """Where the journal's last lines start when they name one of the versions ``aside`` (files
        written by a save killed before they took their place, see :meth:`_commit`); ``None``
        when the journal ends otherwise."""
        try:
            size = self.journal.stat().st_size
        except OSError:
            return None

        def version_at_end(tail: bytes) -> str:
            last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
            try:
                return str(json.loads(last).get("version", ""))
            except (ValueError, AttributeError):
                return ""

        with open(self.journal, "rb") as handle:
            handle.seek(max(0, size - 65_536))
            orphan = version_at_end(handle.read())
            if orphan not in aside:
                return None
            # The lines of that save, from the end back to the first line of another save.
            handle.seek(0)
            offset, start = 0, None
            for line in handle:
                try:
                    named = json.loads(line).get("version", "") if line.strip() else ""
                except (ValueError, AttributeError):
                    named = ""
                if named != orphan:
                    start = None
                elif start is None:
                    start = offset
                offset += len(line)
        return start

    def _cut_journal(self, size: int | None) -> None:
        """Put the journal back as it was (``size`` bytes; None: it did not exist)."""
        try:
            if size is None:
                self.journal.unlink(missing_ok=True)
            elif self.journal.exists() and self.journal.stat().st_size != size:
                with open(self.journal, "r+b") as handle:
                    handle.truncate(size)
        except OSError:  # the save already failed and says so; never fail twice
            pass

    def describe(self) -> str:
        return f"le fichier « {self.path.name} »"

    def versions(self) -> list[StoredVersion]:
        """Former versions (the dated backups), newest first."""
        return [StoredVersion(str(path), self.backup_time(path), path.name) for path in self.list_backups()]

    def load_version(self, key: str) -> Snapshot:
        return snapshot(Path(key).read_bytes())

    def restore_version(self, key: str, base: Snapshot, who: str) -> Snapshot:
        return self.restore(Path(key), base, who)

    def list_backups(self) -> list[Path]:
        """Backups, newest first."""
        if not self.backups.exists():
            return []
        return sorted(self.backups.glob(f"{self.path.stem}-*.csv"), reverse=True)

    def backup_time(self, backup: Path) -> datetime | None:
        """When ``backup`` was made (its name carries the moment), or None for a foreign name."""
        try:
            return datetime.strptime(Path(backup).stem.removeprefix(f"{self.path.stem}-"), "%Y%m%dT%H%M%S%f")
        except ValueError:
            return None

    def restore(self, backup: Path, base: Snapshot, who: str) -> Snapshot:
        """Make ``backup`` the current file (the current one is backed up first)."""
        old = snapshot(Path(backup).read_bytes())
        return self.save(old.table, base, who, action=f"restauration de {Path(backup).name}")

    def replace(self, data: bytes, who: str, action: str) -> Snapshot:
        """Make ``data`` (a whole directory file, byte for byte) the current file, whatever the file
        on disk holds now: a restoration from an archive (:mod:`reseaux.annuaire.backup`). The current file is
        backed up first; the journal gets one line per fiche changed (one « restauration » line when
        none is), each naming ``who`` and ``action``. Raises DirectoryError when ``data`` is not a
        directory file (nothing written)."""
        new = snapshot(data)
        with self._locked():
            on_disk = self.path.read_bytes() if self.path.exists() else None
            try:
                before = snapshot(on_disk).table if on_disk is not None else new.table.iloc[0:0]
            except DirectoryError:  # an unreadable file: kept among the backups, every fiche « ajout »
                before = new.table.iloc[0:0]
            changes = diff(before, new.table) or [Change("restauration", "", "", {})]
            self._commit(data, changes, who, action, backup=on_disk is not None)
        return new

    def rescue(self, backup: Path, who: str) -> Snapshot:
        """Make ``backup`` the current file when the current one cannot be read (no version to
        compare): the unreadable file is kept among the backups, the journal says it."""
        old = snapshot(Path(backup).read_bytes())
        with self._locked():
            if self.path.exists():
                self._backup()
            data = Path(backup).read_bytes()
            write_atomic(self.path, data)
            self._log(
                [Change("restauration", "", "", {})], who, f"restauration de {Path(backup).name} (fichier illisible)"
            )
        audit.record(
            "enregistrement",
            who=who,
            action=f"restauration de {Path(backup).name} (fichier illisible)",
            fiches=len(old.table),
            annuaire=self.path.name,
        )
        return Snapshot(old.table, version_of(data), old.delimiter, old.encoding)

    # -- erasure (reseaux.annuaire.privacy) --

    def former_copies(self, actor_id: str) -> list[dict]:
        """Her fiche as every backup holds it."""
        copies = []
        for backup in self.list_backups():
            data = backup.read_bytes()
            if actor_id.encode("utf-8") in data:
                table = snapshot(data).table
                copies += table[table["id"].astype(str) == actor_id].to_dict("records")
        return copies

    def scrub(self, actor_id: str, erased: str) -> tuple[int, int]:
        """Remove ``actor_id`` from every backup and empty her journal lines (``nom`` becomes
        ``erased``; who and when stay); then remove the temporary files of a backup or a journal
        rewrite killed midway (copies of fiches). Return (backups that held her, lines emptied).
        Called under :meth:`locked`."""
        backups = 0
        for backup in self.list_backups():
            old = snapshot(backup.read_bytes())
            hers = old.table["id"].astype(str) == actor_id
            if hers.any():
                write_atomic(backup, encode_table(old.table[~hers], old.delimiter, old.encoding))
                backups += 1
        lines = 0
        if self.journal.exists():
            out = []
            for entry in self.read_journal():
                if entry.get("id") == actor_id and (entry.get("nom") != erased or bool(entry.get("champs"))):
                    entry["nom"], entry["champs"] = erased, {}
                    lines += 1
                out.append(json.dumps(entry, ensure_ascii=False))
            write_atomic(self.journal, ("\n".join(out) + "\n").encode("utf-8"))
        for folder, name in ((self.backups, f"{self.path.stem}-"), (self.journal.parent, self.journal.name)):
            if folder.exists():
                for path in folder.glob(f".{name}*.tmp"):
                    path.unlink(missing_ok=True)
        return backups, lines

    def read_journal(self) -> list[dict]:
        if not self.journal.exists():
            return []
        with open(self.journal, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def journal_tail(self, n: int) -> tuple[int, list[dict]]:
        """How many lines the journal holds and its last ``n``, oldest first, as
        :meth:`read_journal` reads them: the end of the file read backwards, its lines counted
        without being parsed, once per state of the file in the process; the whole journal was parsed at every
        click of the Annuaire page (a million lines at a million fiches)."""
        try:
            with open(self.journal, "rb") as handle:
                stat = os.fstat(handle.fileno())
                seen = (str(self.journal.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
                with _JOURNAL_LOCK:
                    count = _JOURNAL_LINES.get(seen[0], (None, 0))
                if count[0] != seen:  # appended to or rewritten (an erasure) since it was counted
                    count = (seen, _counted_lines(handle))
                    with _JOURNAL_LOCK:
                        _JOURNAL_LINES[seen[0]] = count
                return count[1], [json.loads(line) for line in _last_lines(handle, n)]
        except FileNotFoundError:
            return 0, []

    # -- private --

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The store's lock, for a change made of several writes (erasure: file, backups,
        journal); re-entrant for this store object, so :meth:`save` may be called inside.

        Raises :class:`~reseaux.annuaire.exports.LockTimeout` (an OSError, message in French) when another
        save holds it longer than ``lock_timeout`` seconds: nothing is written."""
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        with file_lock(self.lock_path, self.lock_timeout):
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0

    _locked = locked

    def _backup(self) -> None:
        private_folder(self.backups)
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
        write_atomic(self.backups / f"{self.path.stem}-{stamp}.csv", self.path.read_bytes())
        for old in self.list_backups()[self.keep :]:
            old.unlink(missing_ok=True)

    def _log(self, changes: list[Change], who: str, action: str, version: str = "") -> None:
        now = datetime.now().isoformat(timespec="seconds")
        lines = [json.dumps(journal_entry(c, who, action, now, version), ensure_ascii=False) for c in changes]
        if not lines:
            return
        private_folder(self.journal.parent)
        new = not self.journal.exists()
        with open_private(self.journal, "a") as handle:
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if new:
            sync_folder(self.journal.parent)


def _unchanged(before: pd.DataFrame, after: pd.DataFrame, data: bytes, on_disk: bytes) -> bool:
    """Whether a save whose diff is empty changes nothing: :func:`diff` sees one fiche per id
    (its last copy), so where ids repeat, only the file's bytes can tell."""
    if all(ID in t.columns and t[ID].fillna("").astype(str).is_unique for t in (before, after)):
        return True
    return data == on_disk


#: Rows written at a time by :func:`encode_table`.
ENCODE_CHUNK = 20_000


def encode_table(table: pd.DataFrame, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    """The CSV file of ``table`` in ``encoding`` (UTF-8 with a mark when a cell cannot be written
    in it). Written :data:`ENCODE_CHUNK` rows at a time, encoded as it goes: the whole table as
    lists of Python strings, then its text, then its bytes, took 3 GB at a million fiches."""
    try:
        return _encoded(table, delimiter, encoding)
    except (UnicodeEncodeError, LookupError):
        return _encoded(table, delimiter, "utf-8-sig")


def _encoded(table: pd.DataFrame, delimiter: str, encoding: str) -> bytes:
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer, encoding=encoding, newline="", write_through=True)
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\n")
    writer.writerow(list(table.columns))
    for start in range(0, len(table), ENCODE_CHUNK):
        # as fillna("").astype(str), without converting string columns
        writer.writerows(string_cells(table.iloc[start : start + ENCODE_CHUNK]).tolist())
    text.flush()
    data = buffer.getvalue()
    text.detach()
    return data
