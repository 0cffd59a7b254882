"""The validation of the Annuaire page's working copy, kept up to date edit by edit.

:func:`reseaux.annuaire.directory.validate_table` checks every row (about 40 µs a row: 8 s at 200,000
fiches). The page asks which rows are wrong at every click and the copy changes one fiche at a
time, so :func:`check_table` validates again only the fiches an edit touched (the ids
:func:`reseaux.annuaire.changes.diff` names) and takes the others' findings from the previous check. The
answer is the same as ``validate_table``'s — which rows are errors, and each row's issues with
its spreadsheet line (tested against it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from reseaux.annuaire.changes import diff
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
    own: list[list[Issue]]
    bad: np.ndarray
    #: Row position → line of the earlier row holding its id.
    taken: dict[int, int]

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


def check_table(table: pd.DataFrame, referential: Referential, previous: TableCheck | None = None) -> TableCheck:
    """Validate ``table``; with ``previous`` (a check of an earlier version of it), only the
    fiches changed since are validated again."""
    text = table.fillna("").astype(str)
    header, _ = map_header([str(c) for c in text.columns])
    rows = text.to_numpy(dtype=object)
    ids = text[ID].str.strip().to_numpy(dtype=object) if ID in text else np.full(len(text), "", dtype=object)
    reuse: dict[str, list[Issue]] = {}
    if previous is not None and list(previous.table.columns) == list(table.columns):
        changed = {c.id for c in diff(previous.table, table)}
        before = previous.table[ID].astype(str).str.strip() if ID in previous.table else pd.Series(dtype=object)
        once = ~before.duplicated(keep=False).to_numpy()
        for position in np.flatnonzero(once):
            key = before.iat[position]
            if key and key not in changed:
                reuse[key] = previous.own[position]
    validator = _RowValidator(referential)
    counts = pd.Series(ids).value_counts()
    own: list[list[Issue]] = []
    for position, cells in enumerate(rows):
        key = ids[position]
        if key in reuse and counts.get(key, 0) == 1:
            own.append(reuse[key])
        else:
            own.append(_row_issues(validator, header, list(cells), position + 2))
    own_error = np.array([any(i.severity == ERROR for i in found) for found in own], dtype=bool)
    # An id belongs to the first row holding it that has no error of its own; a later row with it
    # is an error (as validate_rows finds it reading the file from the top).
    claimers = pd.Series(np.arange(len(ids)))[(~own_error) & (ids != "")]
    first = pd.Series(claimers.to_numpy(), index=ids[claimers.to_numpy()]).groupby(level=0).min()
    first_of = pd.Series(ids).map(first).to_numpy(dtype=float)
    later = (ids != "") & ~np.isnan(first_of) & (first_of < np.arange(len(ids)))
    taken = {int(p): int(first_of[p]) + 2 for p in np.flatnonzero(later)}
    return TableCheck(table=table, own=own, bad=own_error | later, taken=taken)
