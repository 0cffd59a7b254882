"""The validation of the Annuaire page's working copy, kept up to date edit by edit.

:func:`reseaux.annuaire.directory.validate_table` checks every row (about 40 µs a row: 8 s at 200,000
fiches). The page asks which rows are wrong at every click and the copy changes one fiche at a
time, so :func:`check_table` validates again only the fiches an edit touched (the ids the page
noted, or those :func:`reseaux.annuaire.changes.diff` names) and takes the others' findings from
the previous check by their ids. The answer is the same as ``validate_table``'s — which rows are
errors, and each row's issues with its spreadsheet line (tested against it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from reseaux.annuaire.changes import diff, same_column
from reseaux.annuaire.decoding import map_header
from reseaux.annuaire.model import ERROR, Issue
from reseaux.annuaire.referential import Referential
from reseaux.annuaire.validation import _RowValidator, _too_long, taken_id_issue

ID = "id"


@dataclass
class TableCheck:
    """The findings on one table: by row position, the row's own issues (with the spreadsheet
    line the row had when it was checked) and whether the row is an error (its own, or an id
    already taken by an earlier valid row)."""

    table: pd.DataFrame
    #: By row position, the row's own issues (an array of lists).
    own: np.ndarray
    bad: np.ndarray
    #: Row position → line of the earlier row holding its id.
    taken: dict[int, int]
    #: By row position, its id (trimmed), and whether its own issues hold an error.
    ids: np.ndarray
    own_error: np.ndarray
    #: The ids as an index (its hash table built once, kept for the next check's look-ups).
    held: pd.Index

    def issues_of(self, row: int) -> list[Issue]:
        """Row ``row``'s issues, as ``validate_table`` words them (line = row + 2)."""
        line = row + 2
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
    are found by comparing the two tables, a whole-directory pass."""
    own = np.empty(len(table), dtype=object)
    own_error = np.zeros(len(table), dtype=bool)
    again = np.ones(len(table), dtype=bool)
    comparable = previous is not None and list(previous.table.columns) == list(table.columns)
    if comparable and ID in table and same_column(previous.table[ID], table[ID]):
        # The same ids row for row (an edit in place): each fiche where it was, nothing to look up.
        ids, held = previous.ids, previous.held
        where = np.arange(len(ids))
    else:
        ids = _ids(table)
        held = pd.Index(ids)
        where = _previous_positions(previous.held, ids) if comparable else None
    if comparable:
        if changed is None:
            changed = {c.id for c in diff(previous.table, table)}
        once = np.ones(len(ids), dtype=bool) if held.is_unique else ~held.duplicated(keep=False)
        reuse = (where >= 0) & (ids != "") & once & ~held.isin(list(changed))
        own[reuse] = previous.own[where[reuse]]
        own_error[reuse] = previous.own_error[where[reuse]]
        again = ~reuse
    positions = np.flatnonzero(again)
    if len(positions):
        header, _ = map_header([str(c) for c in table.columns])
        rows = table.iloc[positions].fillna("").astype(str).to_numpy(dtype=object)
        validator = _RowValidator(referential)
        for position, cells in zip(positions.tolist(), rows, strict=True):
            found = _row_issues(validator, header, list(cells), position + 2)
            own[position] = found
            own_error[position] = any(i.severity == ERROR for i in found)
    later, taken = _taken(ids, held, own_error)
    return TableCheck(table=table, own=own, bad=own_error | later, taken=taken, ids=ids, own_error=own_error, held=held)


def _ids(table: pd.DataFrame) -> np.ndarray:
    """Each row's id as the file holds it (trimmed; ``""`` when it has none)."""
    if ID not in table:
        return np.full(len(table), "", dtype=object)
    return table[ID].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _previous_positions(index: pd.Index, ids: np.ndarray) -> np.ndarray:
    """For each row of ``ids``, the place of its fiche in ``index`` (the previous check's ids; -1:
    none, or its id is held by several rows there, whose findings are not taken over)."""
    if index.is_unique:
        return index.get_indexer(ids)
    single = np.flatnonzero(~index.duplicated(keep=False))
    found = pd.Index(index[single]).get_indexer(ids)
    return np.where(found >= 0, single[found], -1)


def _taken(ids: np.ndarray, held: pd.Index, own_error: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """The rows whose id an earlier row without error of its own holds, and that row's line.

    An id belongs to the first row holding it that has no error of its own; a later row with it
    is an error (as validate_rows finds it reading the file from the top)."""
    if held.is_unique:
        return np.zeros(len(ids), dtype=bool), {}
    claimers = pd.Series(np.arange(len(ids)))[(~own_error) & (ids != "")]
    first = pd.Series(claimers.to_numpy(), index=ids[claimers.to_numpy()]).groupby(level=0).min()
    first_of = pd.Series(ids).map(first).to_numpy(dtype=float)
    later = (ids != "") & ~np.isnan(first_of) & (first_of < np.arange(len(ids)))
    return later, {int(p): int(first_of[p]) + 2 for p in np.flatnonzero(later)}
