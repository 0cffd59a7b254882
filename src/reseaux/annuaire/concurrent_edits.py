"""Two people's edits of one version of the directory: my changes replayed on the version saved
by another meanwhile (:func:`rebase`), the fields where both changed the same fiche
(:class:`Conflict`), and the choices the person then makes between the two (:func:`resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reseaux.annuaire.changes import ID, Change, diff


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


def _replay(
    change: Change,
    other: Change | None,
    result: dict[str, dict[str, str]],
    records: dict[str, dict[str, dict[str, str]]],
) -> list[Conflict]:
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
        out = pd.concat(
            [out.reindex(columns=columns, fill_value=""), pd.DataFrame(added).reindex(columns=columns, fill_value="")]
        )
    return out.reset_index(drop=True)


def _set_cell(table: pd.DataFrame, row: int, column: str, value: str) -> None:
    if column not in table.columns:
        table[column] = ""
    if not (table[column].dtype == object or isinstance(table[column].dtype, pd.StringDtype)):
        # a number column of a working copy: a text cell must fit
        table[column] = table[column].astype(object)
    table.iat[row, table.columns.get_loc(column)] = value


def _records_by_id(table: pd.DataFrame) -> dict[str, dict[str, str]]:
    records = table.fillna("").astype(str).to_dict("records")
    out: dict[str, dict[str, str]] = {}
    for number, record in enumerate(records):
        out[record.get(ID) or f"(ligne {number + 2} sans id)"] = record
    return out
