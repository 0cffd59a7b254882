"""What changed from one version of the directory to another, fiche by fiche (matched by id),
and the date of update (``date_maj``) that follows: stamped on the fiches a save changes, read
to find the fiches nobody has updated for a year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reseaux.annuaire.fields import parse_date
from reseaux.text import held_text

#: The column that names a fiche from one version to the next.
ID = "id"


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


def journal_entry(change: Change, who: str, action: str, when: str, version: str = "") -> dict:
    """The journal's line for ``change`` (the files' journal.jsonl and the database's journal
    keep the same lines): when, who, what, and the version its save wrote when known."""
    entry = {
        "quand": when,
        "qui": who,
        "action": action,
        "type": change.kind,
        "id": change.id,
        "nom": change.nom,
        "champs": {k: list(v) for k, v in change.fields.items()},
    }
    return {**entry, "version": version} if version else entry


def diff(before: pd.DataFrame, after: pd.DataFrame) -> list[Change]:
    """What changed from ``before`` to ``after``, fiche by fiche (matched by id).

    Compared column by column on Arrow arrays: at 200,000 fiches the Annuaire page asks it after
    every edit (13 s a call row by row); at 1,000,000, the two tables as arrays of Python strings
    were 9.9 s and 5.2 GB at the peak. Python strings are made for the changed fiches alone, and
    the columns' text is not copied (nulls filled, rows taken) when every row is in its place."""
    if before is after:
        return []
    if same_fiches_in_place(before, after):
        # One column of ids, unique and filled, on both sides: each fiche is at its place in both,
        # and only the rows whose cells differ are compared as fiches (at a million fiches, the
        # ids of both tables as Python strings and their indexes were 0.25 GB at the top of a
        # whole-table save).
        rows = np.flatnonzero(cells_differ(before, after))
        return _diff_by_id(before.iloc[rows], after.iloc[rows]) if len(rows) else []
    return _diff_by_id(before, after)


def _diff_by_id(before: pd.DataFrame, after: pd.DataFrame) -> list[Change]:
    """:func:`diff`, each fiche found by its id (or its line) on both sides."""
    old_keys, old_rows = _by_id(before)
    new_keys, new_rows = _by_id(after)
    old_columns, new_columns = _named(before), _named(after)
    columns = list(new_columns) + [c for c in old_columns if c not in new_columns]

    in_old = old_keys.get_indexer(new_keys)
    kept = np.flatnonzero(in_old >= 0)
    mine_at, theirs_at = new_rows[kept], old_rows[in_old[kept]]
    # Every row in its place on both sides (a whole table saved again): the columns compared as
    # they are, not copied in the order of the fiches (the text of a column, twice, at a million).
    in_place = len(kept) == len(after) == len(before) and _in_order(mine_at) and _in_order(theirs_at)
    mine_rows, theirs_rows = pa.array(mine_at), pa.array(theirs_at)
    differs = {}  # column -> by kept fiche, whether it differs
    for name in columns:
        mine = _held_text_array(after.iloc[:, new_columns[name]]) if name in new_columns else ""
        theirs = _held_text_array(before.iloc[:, old_columns[name]]) if name in old_columns else ""
        if isinstance(mine, str) and isinstance(theirs, str):
            continue
        if not in_place:
            mine = mine if isinstance(mine, str) else mine.take(mine_rows)
            theirs = theirs if isinstance(theirs, str) else theirs.take(theirs_rows)
        differs[name] = _differ(mine, theirs)
    any_differs = np.zeros(len(kept), dtype=bool)
    for mask in differs.values():
        any_differs |= mask
    changed = np.flatnonzero(any_differs)  # among the kept fiches
    modified = {int(kept[r]): n for n, r in enumerate(changed)}
    # Python strings for the changed fiches alone, a column at a time, in the columns that changed.
    differs = {c: mask for c, mask in differs.items() if mask[changed].any()}
    mine_cells = {c: _cells(after, new_columns, c, new_rows[kept[changed]]) for c in differs}
    theirs_cells = {c: _cells(before, old_columns, c, old_rows[in_old[kept[changed]]]) for c in differs}
    named = sorted([*modified, *np.flatnonzero(in_old < 0).tolist()])
    names = dict(zip(named, _cells(after, new_columns, "nom", new_rows[named]), strict=True))
    changes: list[Change] = []
    for position in named:
        key = new_keys[position]
        if position not in modified:
            changes.append(Change("ajout", key, names[position]))
            continue
        n = modified[position]
        r = changed[n]
        fields = {c: (theirs_cells[c][n], mine_cells[c][n]) for c, mask in differs.items() if mask[r]}
        changes.append(Change("modification", key, names[position], fields))
    removed = np.flatnonzero(~old_keys.isin(new_keys))
    for position, nom in zip(removed, _cells(before, old_columns, "nom", old_rows[removed]), strict=True):
        changes.append(Change("suppression", old_keys[position], nom))
    return changes


def same_fiches_in_place(before: pd.DataFrame, after: pd.DataFrame) -> bool:
    """Whether the two tables have the same columns and one and the same column of ids (a table and
    its copy edited in other columns, :func:`same_column`), each id filled and given once, and
    each column named once (a name given twice is read from its last column, as a dict would)."""
    names = list(map(str, after.columns))
    if list(map(str, before.columns)) != names or ID not in names or len(set(names)) != len(names):
        return False
    if not same_column(before[ID], after[ID]):
        return False
    held = held_text(after[ID].array)
    if held is None or held.null_count or len(held) == 0:
        return False
    return pc.count_distinct(held).as_py() == len(held) and not pc.any(pc.equal(held, "")).as_py()


def _named(table: pd.DataFrame) -> dict[str, int]:
    """Each column name and the place of the column read for it: the last of that name (as the
    comparison of rows as dicts would read it)."""
    return {str(name): place for place, name in enumerate(table.columns)}


def _cells(table: pd.DataFrame, named: dict[str, int], name: str, rows: np.ndarray) -> list[str]:
    """The cells of column ``name`` at ``rows``, as :func:`string_cells` reads them; ``""`` when
    the table has no such column."""
    if name not in named:
        return [""] * len(rows)
    return string_cells(table.iloc[np.asarray(rows, dtype=np.intp), [named[name]]])[:, 0].tolist()


def diff_among(before: pd.DataFrame, after: pd.DataFrame, ids: set[str]) -> list[Change]:
    """``diff(before, after)`` when only the fiches ``ids`` may differ: their rows alone are
    compared (at 200,000 fiches, a second of a save). When ids are missing or repeated, a row's
    key depends on its place (« ligne N sans id ») or on the rows around it: the whole tables are
    compared — unless both tables hold the very same ids, row for row (one column shared, as an
    edit in place leaves it): then a fiche's rows are at the same places on both sides, all of
    them among the rows compared or none."""
    if before is after or not ids:
        return []
    if ID in before.columns and ID in after.columns and "" not in ids and same_column(before[ID], after[ID]):
        keep = id_text(after[ID]).isin(ids).to_numpy()
        return diff(before[keep], after[keep])
    keys = []
    for table in (before, after):
        if ID not in table.columns:
            return diff(before, after)
        column = table[ID].fillna("").astype(str)
        if not column.is_unique or (column == "").any():
            return diff(before, after)
        keys.append(column.isin(ids).to_numpy())
    return diff(before[keys[0]], after[keys[1]])


def same_column(one: pd.Series, other: pd.Series) -> bool:
    """True when two columns are one array (a table and its copy edited in other columns share
    it; pandas copies a column before writing in it): equal cell for cell, without reading a cell.
    A column of Arrow strings (the database's tables) is one when it is the same Arrow array, which
    never changes; a NumPy column when it starts at the same address with the same steps."""
    if len(one) != len(other):
        return False
    arrow = [getattr(c.array, "__arrow_array__", None) for c in (one, other)]
    if arrow[0] is not None and arrow[1] is not None:
        return arrow[0]() is arrow[1]()
    a, b = one.to_numpy(), other.to_numpy()
    return (
        a.dtype == b.dtype and a.strides == b.strides and a.__array_interface__["data"] == b.__array_interface__["data"]
    )


def id_text(column: pd.Series) -> pd.Series:
    """A column of ids as text (a missing one ``""``): as it is when it holds strings alone. A
    column of text (``str``) is not made Python strings to be looked at (a million of them, at
    each fiche validated in the Annuaire at a million fiches)."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.fillna("") if column.hasnans else column
    if pd.api.types.infer_dtype(column.to_numpy(), skipna=False) == "string":
        return column
    return column.fillna("").astype(str)


@dataclass
class EditLog:
    """Which fiches each edit of a working copy touched, so that what is computed from the copy
    (the pending changes, its validation) compares those fiches alone, not the whole directory.

    Each edit is numbered (:meth:`record`); ``since(n)`` is the ids touched after edit ``n``, or
    None when an edit after it could not name its fiches (an import, a version restored): then the
    whole tables are compared. A superset is always right: touched fiches are compared, not trusted."""

    count: int = 0
    last: dict[str, int] = field(default_factory=dict)  # id -> the last edit that touched it
    unknown: int = 0  # the last edit whose fiches are not known (0: none yet)

    def record(self, ids: set[str] | None) -> int:
        """Note one edit of the copy, touching the fiches ``ids`` (None: not known); its number."""
        self.count += 1
        if ids is None:
            self.unknown = self.count
        else:
            self.last.update(dict.fromkeys(map(str, ids), self.count))
        return self.count

    def since(self, number: int) -> set[str] | None:
        """The ids touched by the edits after ``number``; None when one of them named none."""
        if self.unknown > number:
            return None
        return {key for key, at in self.last.items() if at > number}


def stamp_changes(
    before: pd.DataFrame, after: pd.DataFrame, today: date | None = None, *, changes: list[Change] | None = None
) -> pd.DataFrame:
    """Set ``date_maj`` to today on every fiche added or modified from ``before`` to ``after``
    (``changes``: that diff, when it is known already), unless the change dates itself: a fiche
    added with its date of update, or whose date the change set, keeps that day when it is one
    (:func:`~reseaux.annuaire.fields.parse_date`) and not after today. An imported file of 2021
    that gives each record's date is not « mis à jour » on the day it is imported (« À mettre à
    jour » lists it); a fiche edited, or imported without a date, is dated of the day."""
    day = today or date.today()
    changes = diff(before, after) if changes is None else changes
    changed = {c.id for c in changes if c.kind != "suppression"}
    dated = {c.id for c in changes if c.kind == "ajout" or (c.kind == "modification" and "date_maj" in c.fields)}
    out = after.copy()
    if "date_maj" not in out:
        out["date_maj"] = ""
    ids = out[ID].astype(str)
    mask = ids.isin(changed).to_numpy().copy()  # pandas gives a read-only view
    own = np.flatnonzero(mask & ids.isin(dated).to_numpy())
    if len(own):  # each distinct day read once (a file of a million fiches has a few thousand)
        codes, values = pd.factorize(out["date_maj"].iloc[own], use_na_sentinel=True)
        days = np.array([(d := parse_date(v)) is not None and d <= day for v in values] + [False], dtype=bool)
        mask[own[days[codes]]] = False  # a code -1 (no value) reads the last: False
    out.loc[mask, "date_maj"] = day.isoformat()
    return out


def stale(table: pd.DataFrame, days: int = 365, today: date | None = None) -> pd.DataFrame:
    """Fiches whose ``date_maj`` is older than ``days`` (or missing), oldest first."""
    return table.iloc[stale_positions(table, days, today)]


def stale_positions(table: pd.DataFrame, days: int = 365, today: date | None = None) -> np.ndarray:
    """The places of :func:`stale`'s fiches in ``table``, oldest first (no date first, then in
    the table's order)."""
    limit = np.datetime64((today or date.today()) - timedelta(days=days), "D")
    # Each distinct cell read once: a directory holds a few thousand dates for a million fiches.
    codes, values = pd.factorize(table["date_maj"], use_na_sentinel=True)
    parsed = [parse_date(v) for v in values]
    days_of = np.array([np.datetime64(d, "D") if d else np.datetime64("NaT") for d in parsed], dtype="datetime64[D]")
    dates = np.append(days_of, np.datetime64("NaT"))[codes]  # a missing cell (code -1): no date
    missing = np.isnat(dates)
    keep = np.flatnonzero(missing | (dates < limit))
    order = np.lexsort((keep, dates[keep].astype("int64"), ~missing[keep]))
    return keep[order]


def string_cells(table: pd.DataFrame) -> np.ndarray:
    """The table's cells as a 2-D array of strings (a missing cell is ``""``, anything else its
    ``str``), column by column: tables are strings already, so nothing is converted cell by cell."""
    out = np.empty(table.shape, dtype=object)
    for j in range(table.shape[1]):
        values = table.iloc[:, j].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "empty"):  # a NaN, a number…
            values = np.array(
                [
                    "" if v is None or ((np.isscalar(v) or v is pd.NA or v is pd.NaT) and pd.isna(v)) else str(v)
                    for v in values
                ],
                dtype=object,
            )
        out[:, j] = values
    return out


def cells_differ(
    before: pd.DataFrame,
    after: pd.DataFrame,
    before_rows: np.ndarray | None = None,
    after_rows: np.ndarray | None = None,
) -> np.ndarray:
    """For each pair of rows (``before_rows[i]`` of ``before``, ``after_rows[i]`` of ``after``;
    None: every row, in order), whether one of their cells differs, cells read as
    :func:`string_cells` reads them; the two tables' columns in the same order. Column by column,
    without the two arrays of a whole table's strings (at a million fiches, 1.2 GB each)."""
    count = len(after) if after_rows is None else len(after_rows)
    differ = np.zeros(count, dtype=bool)
    for j in range(after.shape[1]):
        ours, theirs = _held_text_array(before.iloc[:, j]), _held_text_array(after.iloc[:, j])
        if before_rows is not None:
            ours, theirs = ours.take(pa.array(before_rows)), theirs.take(pa.array(after_rows))
        differ |= _differ(ours, theirs)
    return differ


def _held_text_array(column: pd.Series):
    """A column as Arrow text, its missing cells null: an Arrow column as it is held (not copied
    to fill them), any other read as :func:`string_cells` reads it."""
    held = held_text(column.array)
    return held if held is not None else pa.array(string_cells(column.to_frame())[:, 0], type=pa.large_string())


def _in_order(rows: np.ndarray) -> bool:
    """Whether ``rows`` are 0, 1, 2… (every row of a table, in its order)."""
    return bool((rows == np.arange(len(rows))).all())


def _differ(ours, theirs) -> np.ndarray:
    """Whether each pair of cells differs, a null read as « » (as :func:`string_cells` reads it),
    one side maybe « » for a whole column a table does not have: compared on the arrays as they
    are, without copies of their text with the nulls filled."""

    def flags(array) -> np.ndarray:
        return array.to_numpy(zero_copy_only=False).astype(bool)

    if isinstance(ours, str):
        ours, theirs = theirs, ours
    if isinstance(theirs, str):  # a column on one side alone: a cell differs unless empty
        return ~flags(pc.fill_null(pc.equal(ours, ""), True))
    either_null = flags(pc.or_(pc.is_null(ours), pc.is_null(theirs)))
    different = flags(pc.fill_null(pc.not_equal(ours, theirs), False))
    if not either_null.any():
        return different
    empty = [flags(pc.fill_null(pc.equal(side, ""), True)) for side in (ours, theirs)]
    return np.where(either_null, empty[0] != empty[1], different)


def _by_id(table: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """The fiches of a table: their keys (the id, or « (ligne N sans id) ») and, for each, the
    row its values are read from. A fiche given twice counts once, at its first place, with its
    last values (as a dict built row by row would)."""
    columns = [str(c) for c in table.columns]
    if ID in columns:
        ids = string_cells(table.iloc[:, [columns.index(ID)]])[:, 0].copy()
    else:
        ids = np.full(len(table), "", dtype=object)
    blank = np.flatnonzero(ids == "")
    if len(blank):
        ids[blank] = [f"(ligne {n + 2} sans id)" for n in blank]
    keys = pd.Index(ids, dtype=object)
    rows = np.arange(len(keys))
    if keys.is_unique:
        return keys, rows
    last = pd.Series(rows, index=keys).groupby(level=0, sort=False).last()
    return pd.Index(last.index, dtype=object), last.to_numpy()
