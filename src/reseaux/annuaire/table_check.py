"""The validation of the Annuaire page's working copy, kept up to date edit by edit.

The page asks at every click which rows are errors (the count, « only the fiches in error », the
status column) and, for the one fiche opened, its issues. Validating every row with the row
validator is about 120 µs a row: two minutes at 1,000,000 fiches, before the page could show
anything. So:

- **which rows are errors** is found column by column (:func:`_errors`): a row is an error only
  when a cell is too long, a required cell is blank, or nothing can place it — the first two read
  off whole columns of Arrow text at once; the third can only hold for a row whose plain place
  cells (address, commune) are blank, and those few rows go through the row validator itself, so
  the answer is its answer;
- **a row's issues** (warnings too) are found when they are asked for, row by row
  (:meth:`TableCheck.issues_of`), with the row validator;
- after an edit, only the fiches it touched are looked at again (the ids the page noted, or those
  :func:`reseaux.annuaire.changes.diff` names); the others' findings are taken from the previous
  check by their ids.

The answer is ``validate_table``'s — which rows are errors, and each row's issues with its
spreadsheet line (tests/test_table_check.py checks it against it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reseaux import memory
from reseaux.annuaire import columns
from reseaux.annuaire.changes import diff, same_column
from reseaux.annuaire.decoding import map_header
from reseaux.annuaire.model import ERROR, Issue
from reseaux.annuaire.referential import Referential
from reseaux.annuaire.validation import MAX_CELL, PLACE_COLUMNS, _RowValidator, _too_long, taken_id_issue
from reseaux.text import arrow_text

ID = "id"


@dataclass
class TableCheck:
    """The findings on one table: by row position, whether the row is an error (its own, or an id
    already taken by an earlier valid row), and each row's own issues once asked for."""

    table: pd.DataFrame
    referential: Referential
    bad: np.ndarray
    #: Row position → line of the earlier row holding its id.
    taken: dict[int, int]
    #: By row position, its id (trimmed, Arrow text: a million Python strings and pandas' hash
    #: table of them were 0.2 GB at a million fiches), and whether its own issues hold an error.
    ids: pa.Array
    own_error: np.ndarray
    #: The ids that more than one row holds (Arrow text; empty: every id is held once).
    repeated: pa.Array
    #: Row position → its own issues (with the line it had when checked), as they are asked for.
    own: dict[int, list[Issue]] = field(default_factory=dict)
    #: The header as read and the row validator, made at the first fiche asked for.
    _reader: tuple[list[str], _RowValidator] | None = field(default=None, repr=False)

    def issues_of(self, row: int) -> list[Issue]:
        """Row ``row``'s issues, as ``validate_table`` words them (line = row + 2)."""
        line = row + 2
        if row not in self.own:
            if self._reader is None:  # read once: the header's names are matched loosely (fuzzy)
                self._reader = (map_header([str(c) for c in self.table.columns])[0], _RowValidator(self.referential))
            header, validator = self._reader
            cells = self.table.iloc[row].fillna("").astype(str).tolist()
            self.own[row] = _row_issues(validator, header, cells, line)
        found = [replace(i, line=line) for i in self.own[row]]
        if row in self.taken:
            found.append(taken_id_issue(line, str(self.table.iloc[row][ID]).strip(), self.taken[row]))
        return found

    @property
    def n_bad(self) -> int:
        return int(self.bad.sum())


def _row_issues(validator: _RowValidator, header: list[str], cells: list[str], line: int) -> list[Issue]:
    if not any(cell.strip() for cell in cells):  # a blank row is skipped, as in a file
        return []
    raw = {name: cells[i].strip() for i, name in enumerate(header)}
    issues = _too_long(raw, line)
    issues.extend(validator.validate(raw, line)[1])
    return issues


def check_table(
    table: pd.DataFrame,
    referential: Referential,
    previous: TableCheck | None = None,
    changed: set[str] | None = None,
) -> TableCheck:
    """Validate ``table``; with ``previous`` (a check of an earlier version of it), only the
    fiches changed since are validated again. ``changed``, when the caller knows them, are the ids
    of the fiches that may differ from ``previous.table`` (a superset is right); without it they
    are found by comparing the two tables, a whole-directory pass.

    What the work frees goes back to the system (:func:`reseaux.memory.reading`): at a million
    fiches the check left the server holding 0.07 GB more."""
    with memory.reading():
        return _check(table, referential, previous, changed)


def _check(table, referential, previous, changed) -> TableCheck:
    own_error = np.zeros(len(table), dtype=bool)
    again = np.ones(len(table), dtype=bool)
    comparable = (
        previous is not None
        and previous.referential is referential
        and list(previous.table.columns) == list(table.columns)
    )
    if comparable and ID in table and same_column(previous.table[ID], table[ID]):
        # The same ids row for row (an edit in place): each fiche where it was, nothing to look up.
        ids, repeated = previous.ids, previous.repeated
        where = np.arange(len(ids))
    else:
        ids = _ids(table)
        repeated = _repeated(ids)
        where = _previous_positions(previous.ids, previous.repeated, ids) if comparable else None
    if comparable:
        if changed is None:
            changed = {c.id for c in diff(previous.table, table)}
        once = ~_among(ids, repeated)
        reuse = (where >= 0) & _named(ids) & once & ~_among(ids, pa.array(list(changed), pa.large_string()))
        own_error[reuse] = previous.own_error[where[reuse]]
        again = ~reuse
    positions = np.flatnonzero(again)
    if len(positions):
        own_error[positions] = _errors(table.iloc[positions] if len(positions) < len(table) else table, referential)
    later, taken = _taken(ids, repeated, own_error)
    return TableCheck(
        table=table,
        referential=referential,
        bad=own_error | later,
        taken=taken,
        ids=ids,
        own_error=own_error,
        repeated=repeated,
    )


def _errors(table: pd.DataFrame, referential: Referential) -> np.ndarray:
    """By row, whether the row validator finds an error of the row's own (too long a cell, a
    required cell blank, nothing to place the actor), worked out column by column.

    The row validator reads a row as a dict of its stripped cells, the last column of a name
    winning; so does this. Nothing can place a row only when its place cells read as plain text
    (the address, the commune) are blank: those rows, a few, are validated row by row."""
    header, _ = map_header([str(c) for c in table.columns])
    last = {name: i for i, name in enumerate(header)}  # the column a name reads, as in a dict
    filled = np.zeros(len(table), dtype=bool)
    error = np.zeros(len(table), dtype=bool)
    stripped = {}
    for i, name in enumerate(header):
        cells = table.iloc[:, i].fillna("").astype(str).str.strip()
        nonblank = (cells != "").to_numpy(dtype=bool)
        filled |= nonblank
        if last[name] == i:
            error |= (cells.str.len() > MAX_CELL).to_numpy(dtype=bool)
            stripped[name] = nonblank
    blank = np.zeros(len(table), dtype=bool)
    registry = columns.columns()
    for column in registry:
        if column.required:
            error |= ~stripped.get(column.name, blank)
    plain = [c.name for c in registry if c.name in PLACE_COLUMNS and c.kind == columns.TEXT]
    maybe_unplaced = stripped.get("nom", blank).copy()
    for name in plain:
        maybe_unplaced &= ~stripped.get(name, blank)
    validator = _RowValidator(referential)  # one for the rows, as a file's reading has
    for position in np.flatnonzero(maybe_unplaced & ~error):
        cells = table.iloc[position].fillna("").astype(str).tolist()
        found = _row_issues(validator, header, cells, position + 2)
        error[position] = any(i.severity == ERROR for i in found)
    return error & filled  # a blank row is skipped, as in a file


def _ids(table: pd.DataFrame) -> pa.Array:
    """Each row's id as the file holds it (trimmed; ``""`` when it has none), as Arrow text."""
    if ID not in table:
        return pa.array([""] * len(table), pa.large_string())
    stripped = table[ID].fillna("").astype(str).str.strip()
    held = arrow_text(stripped, whole=True)
    return held if held is not None else pa.array(stripped.tolist(), pa.large_string())


def _repeated(ids: pa.Array) -> pa.Array:
    """The ids more than one row holds (``""`` among them when several rows have none)."""
    counts = pc.value_counts(ids)
    return counts.field("values").filter(pc.greater(counts.field("counts"), 1))


def _among(ids: pa.Array, values: pa.Array) -> np.ndarray:
    """By row, whether its id is one of ``values``."""
    if not len(values):
        return np.zeros(len(ids), dtype=bool)
    return pc.is_in(ids, value_set=values.cast(pa.large_string())).to_numpy(zero_copy_only=False)


def _named(ids: pa.Array) -> np.ndarray:
    """By row, whether it has an id."""
    return pc.not_equal(ids, "").to_numpy(zero_copy_only=False)


def _previous_positions(before: pa.Array, repeated: pa.Array, ids: pa.Array) -> np.ndarray:
    """For each row of ``ids``, the place of its fiche in ``before`` (the previous check's ids,
    ``repeated`` those several of its rows hold; -1: none, or its id is held by several rows
    there, whose findings are not taken over)."""
    found = pc.index_in(ids, value_set=before).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(_among(ids, repeated), -1, found)


def _taken(ids: pa.Array, repeated: pa.Array, own_error: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """The rows whose id an earlier row without error of its own holds, and that row's line.

    An id belongs to the first row holding it that has no error of its own; a later row with it
    is an error (as validate_rows finds it reading the file from the top)."""
    shared = _among(ids, repeated) & _named(ids)
    if not shared.any():
        return np.zeros(len(ids), dtype=bool), {}
    rows = np.flatnonzero(shared)  # the rows of repeated ids only: a few, as Python strings
    held = np.asarray(ids.take(pa.array(rows)).to_pylist(), dtype=object)
    claimers = rows[~own_error[rows]]
    first = pd.Series(claimers, index=held[~own_error[rows]]).groupby(level=0).min()
    first_of = np.full(len(ids), np.nan)
    first_of[rows] = pd.Series(held).map(first).to_numpy(dtype=float)
    later = shared & ~np.isnan(first_of) & (first_of < np.arange(len(ids)))
    return later, {int(p): int(first_of[p]) + 2 for p in np.flatnonzero(later)}
