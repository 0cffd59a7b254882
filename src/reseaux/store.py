"""Saving the directory safely: versions, conflicts, dated backups and an append-only journal.

The canonical file stays ``data/actors.csv`` (people open it in a spreadsheet). A save:

1. takes an exclusive lock (``actors.csv.lock``), so two saves never interleave;
2. refuses when the file on disk is no longer the version the editor loaded — another
   coordinator saved first — and returns what they changed (:class:`ConflictError`);
3. copies the current file to ``.backups/actors-<date>.csv`` and keeps the last N;
4. writes the new file to a temporary file and renames it (a crash leaves the old one whole);
5. appends one JSON line per changed fiche to the journal (when, who, what).

Tables are DataFrames of strings, one column per directory column, every row kept — rows
with errors included, so editing one fiche never loses another.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from reseaux import audit, config
from reseaux.directory import DirectoryError, read_table, table_from_rows
from reseaux.fields import parse_date
from reseaux.exports import (LOCK_TIMEOUT, file_lock, open_private, private_folder, sync_folder, write_aside,
                             write_atomic)

ID = "id"


@dataclass(frozen=True)
class Snapshot:
    """A version of the file: its table, its hash (the version) and how to write it back."""

    table: pd.DataFrame
    version: str
    delimiter: str = ","
    encoding: str = "utf-8"


@dataclass
class Change:
    """One fiche added, removed or modified: ``fields`` maps column -> (before, after)."""

    kind: str  # "ajout", "suppression", "modification"
    id: str
    nom: str
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "modification":
            detail = ", ".join(f"{c} : « {a} » → « {b} »" for c, (a, b) in self.fields.items())
            return f"{self.nom} ({self.id}) modifiée — {detail}"
        return f"{self.nom} ({self.id}) : {self.kind}"


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
    rows, encoding, delimiter = read_table(data)
    return Snapshot(table_from_rows(rows), version_of(data), delimiter, encoding)


def version_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DirectoryStore:
    """The directory file, its backups folder and its journal."""

    def __init__(self, path: Path, *, backups: Path | None = None, journal: Path | None = None,
                 keep: int = 20, lock_timeout: float = LOCK_TIMEOUT) -> None:
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


    # -- writing --

    def save(self, table: pd.DataFrame, base: Snapshot, who: str, *, action: str = "modification") -> Snapshot:
        """Write ``table`` if the file is still at ``base.version``; return the new snapshot.

        A save that changes no fiche (a geocoding that placed nobody) writes nothing and returns
        ``base`` itself: no backup pushing a real one out of ``keep``, no journal line. A
        restoration is always written (a person asked for it), and so is the first save of a file
        that does not exist yet.

        Raises :class:`ConflictError` (nothing written) when the file changed meanwhile, and
        :class:`~reseaux.exports.LockTimeout` when another save holds the lock too long.
        """
        restoring = action.startswith("restauration")
        changes = diff(base.table, table)
        if not restoring:
            table = stamp_changes(base.table, table, changes=changes)
            # Stamping changed only those fiches: compare them again, not the whole directory.
            changes = diff_among(base.table, table, {c.id for c in changes})
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
        # The mode is the file's own: a directory readable by a group stays so (issue 22: it became 0600).
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
        except OSError:  # noqa: S110 — the save already failed and says so; never fail twice
            pass

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
        on disk holds now: a restoration from an archive (:mod:`reseaux.backup`). The current file is
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
            self._log([Change("restauration", "", "", {})], who,
                      f"restauration de {Path(backup).name} (fichier illisible)")
        audit.record("enregistrement", who=who, action=f"restauration de {Path(backup).name} (fichier illisible)",
                     fiches=len(old.table), annuaire=self.path.name)
        return Snapshot(old.table, version_of(data), old.delimiter, old.encoding)

    def read_journal(self) -> list[dict]:
        if not self.journal.exists():
            return []
        with open(self.journal, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    # -- private --

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The store's lock, for a change made of several writes (erasure: file, backups,
        journal); re-entrant for this store object, so :meth:`save` may be called inside.

        Raises :class:`~reseaux.exports.LockTimeout` (an OSError, message in French) when another
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
        for old in self.list_backups()[self.keep:]:
            old.unlink(missing_ok=True)

    def _log(self, changes: list[Change], who: str, action: str, version: str = "") -> None:
        now = datetime.now().isoformat(timespec="seconds")
        extra = {"version": version} if version else {}
        lines = [json.dumps({"quand": now, "qui": who, "action": action, "type": c.kind, "id": c.id,
                             "nom": c.nom, "champs": {k: list(v) for k, v in c.fields.items()}, **extra},
                            ensure_ascii=False) for c in changes]
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


def stamp_changes(before: pd.DataFrame, after: pd.DataFrame, today: date | None = None, *,
                  changes: list[Change] | None = None) -> pd.DataFrame:
    """Set ``date_maj`` to today on every fiche added or modified from ``before`` to ``after``
    (``changes``: that diff, when it is known already)."""
    stamp = (today or date.today()).isoformat()
    changes = diff(before, after) if changes is None else changes
    changed = {c.id for c in changes if c.kind != "suppression"}
    out = after.copy()
    if "date_maj" not in out:
        out["date_maj"] = ""
    mask = out[ID].astype(str).isin(changed)
    out.loc[mask, "date_maj"] = stamp
    return out


def stale(table: pd.DataFrame, days: int = 365, today: date | None = None) -> pd.DataFrame:
    """Fiches whose ``date_maj`` is older than ``days`` (or missing), oldest first."""
    limit = (today or date.today()) - timedelta(days=days)
    # Compared as timestamps: ``.dt.date`` of a column where no cell is a date (a directory
    # imported without dates) is no longer a column of dates, and comparing it with one failed.
    dates = pd.to_datetime(table["date_maj"].map(parse_date), errors="coerce")
    out = table[(dates < pd.Timestamp(limit)) | dates.isna()].copy()
    return out.assign(_d=dates[out.index]).sort_values("_d", na_position="first", kind="stable").drop(columns="_d")


def encode_table(table: pd.DataFrame, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(list(table.columns))
    writer.writerows(_cells(table).tolist())  # as fillna("").astype(str), without converting string columns
    try:
        return buffer.getvalue().encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return buffer.getvalue().encode("utf-8-sig")


def _records_by_id(table: pd.DataFrame) -> dict[str, dict[str, str]]:
    records = table.fillna("").astype(str).to_dict("records")
    out: dict[str, dict[str, str]] = {}
    for number, record in enumerate(records):
        out[record.get(ID) or f"(ligne {number + 2} sans id)"] = record
    return out


def _cells(table: pd.DataFrame) -> np.ndarray:
    """The table's cells as a 2-D array of strings (a missing cell is ``""``, anything else its
    ``str``), column by column: tables are strings already, so nothing is converted cell by cell."""
    out = np.empty(table.shape, dtype=object)
    for j in range(table.shape[1]):
        values = table.iloc[:, j].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "empty"):  # a NaN, a number…
            values = np.array(["" if v is None or (np.isscalar(v) or v is pd.NA or v is pd.NaT) and pd.isna(v)
                               else str(v) for v in values], dtype=object)
        out[:, j] = values
    return out


def _by_id(table: pd.DataFrame) -> tuple[pd.Index, np.ndarray, list[str]]:
    """The fiches of a table: their keys (the id, or « (ligne N sans id) »), their cells and the
    column names. A fiche given twice counts once, at its first place, with its last values (as a
    dict built row by row would)."""
    cells = _cells(table)
    columns = [str(c) for c in table.columns]
    ids = cells[:, columns.index(ID)].copy() if ID in columns else np.full(len(cells), "", dtype=object)
    blank = np.flatnonzero(ids == "")
    if len(blank):
        ids[blank] = [f"(ligne {n + 2} sans id)" for n in blank]
    keys = pd.Index(ids, dtype=object)
    if keys.is_unique:
        return keys, cells, columns
    last = pd.Series(np.arange(len(keys)), index=keys).groupby(level=0, sort=False).last()
    return pd.Index(last.index, dtype=object), cells[last.to_numpy()], columns


def diff(before: pd.DataFrame, after: pd.DataFrame) -> list[Change]:
    """What changed from ``before`` to ``after``, fiche by fiche (matched by id).

    Compared as whole arrays: at 200,000 fiches the Annuaire page asks it after every edit
    (13 s a call row by row; a fraction of a second so)."""
    if before is after:
        return []
    old_keys, old_cells, old_columns = _by_id(before)
    new_keys, new_cells, new_columns = _by_id(after)
    columns = new_columns + [c for c in old_columns if c not in new_columns]

    def widened(cells: np.ndarray, names: list[str], rows: np.ndarray) -> np.ndarray:
        out = np.full((len(rows), len(columns)), "", dtype=object)
        for j, name in enumerate(names):
            out[:, columns.index(name)] = cells[rows, j]
        return out

    in_old = old_keys.get_indexer(new_keys)
    kept = np.flatnonzero(in_old >= 0)
    mine = widened(new_cells, new_columns, kept)
    theirs = widened(old_cells, old_columns, in_old[kept])
    differs = mine != theirs
    changed_rows = np.flatnonzero(differs.any(axis=1))
    modified = {int(kept[r]): r for r in changed_rows}
    name_at = new_columns.index("nom") if "nom" in new_columns else None
    changes: list[Change] = []
    for position in sorted([*modified, *np.flatnonzero(in_old < 0).tolist()]):
        key = new_keys[position]
        nom = new_cells[position, name_at] if name_at is not None else ""
        if position not in modified:
            changes.append(Change("ajout", key, nom))
            continue
        r = modified[position]
        fields = {c: (theirs[r, j], mine[r, j]) for j, c in enumerate(columns) if differs[r, j]}
        changes.append(Change("modification", key, nom, fields))
    old_name_at = old_columns.index("nom") if "nom" in old_columns else None
    for position in np.flatnonzero(~old_keys.isin(new_keys)):
        changes.append(Change("suppression", old_keys[position],
                              old_cells[position, old_name_at] if old_name_at is not None else ""))
    return changes


def diff_among(before: pd.DataFrame, after: pd.DataFrame, ids: set[str]) -> list[Change]:
    """``diff(before, after)`` when only the fiches ``ids`` may differ: their rows alone are
    compared (at 200,000 fiches, a second of a save). When ids are missing or repeated, a row's
    key depends on its place (« ligne N sans id ») or on the rows around it: the whole tables are
    compared."""
    keys = []
    for table in (before, after):
        if ID not in table.columns:
            return diff(before, after)
        column = table[ID].fillna("").astype(str)
        if not column.is_unique or (column == "").any():
            return diff(before, after)
        keys.append(column.isin(ids).to_numpy())
    return diff(before[keys[0]], after[keys[1]])


@dataclass(frozen=True)
class Conflict:
    """A change of mine that met another person's change of the same fiche (see :func:`rebase`).

    For a field, ``column`` names it and ``mine``, ``theirs`` and ``base`` are its three values.
    For a whole fiche (added on both sides with different contents; deleted on one side and
    modified on the other), ``column`` is ``""`` and the values are the fiche's records
    (column -> value), ``None`` where the fiche is deleted or did not exist yet.
    """

    id: str
    nom: str
    column: str
    mine: str | dict[str, str] | None
    theirs: str | dict[str, str] | None
    base: str | dict[str, str] | None


def rebase(base: pd.DataFrame, mine: pd.DataFrame, theirs: pd.DataFrame) -> tuple[pd.DataFrame, list[Conflict]]:
    """Replay my changes (``base`` → ``mine``) on their version; return the result and the conflicts.

    A change of mine is applied where their version still holds the base value, or holds mine
    already. Otherwise it is a :class:`Conflict`: a field both sides changed to different values,
    a fiche added on both sides with different contents, a fiche one side deleted and the other
    modified. Their value stays in the result and the conflict carries both values (and the
    base), so that the person chooses (:func:`resolve`): neither side is dropped without a word.
    """
    result = _records_by_id(theirs)
    records = {"base": _records_by_id(base), "mine": _records_by_id(mine)}
    their_changes = {c.id: c for c in diff(base, theirs)}
    conflicts: list[Conflict] = []
    for change in diff(base, mine):
        conflicts += _replay(change, their_changes.get(change.id), result, records)
    columns = list(dict.fromkeys([*theirs.columns, *mine.columns]))
    # object, as a loaded table: a column no record holds (removed on their side) is empty, not float NaN
    table = pd.DataFrame(list(result.values()), columns=columns, dtype=object).fillna("")
    return table, conflicts


def _replay(change: Change, other: Change | None, result: dict[str, dict[str, str]],
            records: dict[str, dict[str, dict[str, str]]]) -> list[Conflict]:
    """Apply one change of mine to ``result`` (their fiches by id), or say why it cannot be."""
    key = change.id
    mine, base = records["mine"].get(key), records["base"].get(key)
    if change.kind == "ajout":
        if key not in result:
            result[key] = mine
            return []
        same = all(result[key].get(c, "") == mine.get(c, "") for c in {*result[key], *mine})
        return [] if same else [Conflict(key, change.nom, "", mine, result[key], None)]
    if change.kind == "suppression":
        if other is not None and other.kind == "modification":
            return [Conflict(key, change.nom, "", None, result[key], base)]
        result.pop(key, None)
        return []
    if key not in result:  # they deleted the fiche I modified
        return [Conflict(key, change.nom, "", mine, None, base)]
    conflicts = []
    for column, (base_value, value) in change.fields.items():
        theirs_value = result[key].get(column, "")
        if theirs_value in (base_value, value):
            result[key][column] = value
        else:
            conflicts.append(Conflict(key, change.nom, column, value, theirs_value, base_value))
    return conflicts


def resolve(table: pd.DataFrame, decisions: list[tuple[Conflict, bool]]) -> pd.DataFrame:
    """``table`` (the result of :func:`rebase`, maybe edited since) with each conflict settled:
    my value when its flag is true, theirs otherwise. Returns a new table (``table`` is left as
    it is). A fiche no longer in ``table`` (deleted since) takes no field value; a whole fiche
    chosen where it is absent is added at the end."""
    out = table.copy()
    ids = out[ID].fillna("").astype(str).tolist() if ID in out.columns else [""] * len(out)
    rows = {key or f"(ligne {n + 2} sans id)": n for n, key in enumerate(ids)}  # as _records_by_id
    dropped: set[int] = set()
    added: list[dict[str, str]] = []
    for conflict, keep_mine in decisions:
        value = conflict.mine if keep_mine else conflict.theirs
        row = rows.get(conflict.id)
        if conflict.column:
            if row is not None:
                _set_cell(out, row, conflict.column, value)
        elif value is None:
            if row is not None:
                dropped.add(row)
        elif row is not None:
            dropped.discard(row)
            for column, cell in value.items():
                _set_cell(out, row, column, cell)
        else:
            added.append(value)
    out = out.drop(index=out.index[sorted(dropped)])
    if added:
        columns = list(dict.fromkeys([*out.columns, *(c for record in added for c in record)]))
        out = pd.concat([out.reindex(columns=columns, fill_value=""),
                         pd.DataFrame(added).reindex(columns=columns, fill_value="")])
    return out.reset_index(drop=True)


def _set_cell(table: pd.DataFrame, row: int, column: str, value: str) -> None:
    if column not in table.columns:
        table[column] = ""
    if not (table[column].dtype == object or isinstance(table[column].dtype, pd.StringDtype)):
        # a number column of a working copy: a text cell must fit
        table[column] = table[column].astype(object)
    table.iat[row, table.columns.get_loc(column)] = value
