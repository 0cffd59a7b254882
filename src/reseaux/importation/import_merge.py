"""Merging an import into the directory: each new row added, merged into the fiche it duplicates
or ignored, as the person decided; a merge adds values without losing any, and a position gives
way only to one at least as precise.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from reseaux.annuaire import columns
from reseaux.annuaire.referential import Referential
from reseaux.importation.duplicates import Duplicate
from reseaux.importation.importing import new_id
from reseaux.territoire.france import fill_communes
from reseaux.text import split_cell

#: A position's precision, by its source: an import never replaces one by a coarser one.
PRECISION = {"manuel": 4, "fichier": 3, "": 3, "ban": 2, "cache": 2, "commune": 1}
POSITION = ("latitude", "longitude", "geocodage_source", "geocodage_score", "geocodage_type", "geocodage_label")


def merge_records(
    existing: dict[str, str], new: dict[str, str], referential: Referential | None = None
) -> dict[str, str]:
    """Merge an imported fiche into an existing one.

    The id stays; a blank never replaces a value; a position gives way only to one at least as
    precise (manuel > fichier > géocodeur > commune); multi-valued cells are united; other
    filled cells of the import replace the old ones. Values are compared as they mean, not as
    they are written (the code a referential value resolves to, else the text with its case and
    spacing ignored): « IVG » merged into « contraception|ivg » adds nothing, « ROUEN » does not
    replace « Rouen » — a merge that brings nothing new changes nothing (and the fiche's date of
    update stays). Punctuation counts: « marie.dupont@x.fr » replaces « marie_dupont@x.fr ».
    """
    merged = dict(existing)
    keep_position = _precision(existing) > _precision(new)
    multi = columns.multi_names()
    for column, value in new.items():
        value = "" if value is None else str(value).strip()
        if not value or column == "id" or (keep_position and column in POSITION):
            continue
        old = str(merged.get(column) or "")
        if column in multi and old:
            known = {_meaning(referential, column, part) for part in split_cell(old)}
            added = []
            for part in split_cell(value):
                meaning = _meaning(referential, column, part)
                if meaning not in known:
                    known.add(meaning)
                    added.append(part)
            if added:
                merged[column] = "|".join([*split_cell(old), *added])
        elif _meaning(referential, column, value) != _meaning(referential, column, old):
            merged[column] = value
    return merged


def _meaning(referential: Referential | None, column: str, value: str) -> str:
    """What a cell says: its referential code when it names one, else its text without case and
    with its spaces made single. Not :func:`~reseaux.text.fold`, which makes punctuation a space:
    an e-mail or a web address corrected by one dot or hyphen would look unchanged and be dropped."""
    declared = columns.column(column)
    category = declared.category if declared is not None else ""
    code = referential.resolve(category, value) if referential is not None and category else None
    return code or " ".join(value.casefold().split())


def _precision(record: dict[str, str]) -> int:
    if not str(record.get("latitude") or "").strip() or not str(record.get("longitude") or "").strip():
        return 0
    return PRECISION.get(str(record.get("geocodage_source") or "").strip(), 2)


def first_positions(ids: Iterable[str]) -> dict[str, int]:
    """Each id's position among ``ids``; a repeated id, its first: the fiche an imported duplicate
    is merged into (:func:`apply_import`), and so the one the page shows for it."""
    positions: dict[str, int] = {}
    for position, identifier in enumerate(ids):
        positions.setdefault(identifier, position)
    return positions


def apply_import(
    existing: pd.DataFrame,
    new: pd.DataFrame,
    decisions: dict[int, str],
    duplicates: list[Duplicate],
    referential: Referential | None = None,
) -> pd.DataFrame:
    """Return ``existing`` with the import applied (``referential``: values compared by code when merging).

    ``decisions`` maps the index of a new row that has a duplicate to « fusionner », « garder
    les deux » or « ignorer »; rows without a duplicate are added.
    """
    new = new.copy()
    fill_communes(new)  # a file with coordinates seldom gives the commune: filters need it
    table = existing.copy().reset_index(drop=True)
    for column in new.columns:
        if column not in table:
            table[column] = ""
    by_new = {d.new_index: d for d in duplicates}
    taken = set(table["id"].astype(str))
    positions = first_positions(table["id"].astype(str))
    merging = sorted(
        {positions[d.existing_id] for d in duplicates if decisions.get(d.new_index, "fusionner") == "fusionner"}
    )
    merged = dict(zip(merging, table.iloc[merging].to_dict("records"), strict=True))  # fiche → merged so far
    additions = []
    for index, record in enumerate(new.to_dict("records")):
        duplicate = by_new.get(index)
        decision = decisions.get(index, "fusionner") if duplicate else "ajouter"
        if decision == "ignorer":
            continue
        if decision == "fusionner":
            position = positions[duplicate.existing_id]  # ids do not change while merging
            merged[position] = merge_records(merged[position], record, referential)
            continue
        if record["id"] in taken:
            record = {**record, "id": new_id(record["nom"], taken)}
        taken.add(record["id"])
        additions.append(record)
    if merged:  # written once, column by column: a row at a time took 8 ms a fiche (83 s for 20,000)
        values = pd.DataFrame(list(merged.values()), columns=table.columns)
        for number, column in enumerate(table.columns):
            table.iloc[list(merged), number] = values[column].to_numpy()
    if additions:
        table = pd.concat([table, pd.DataFrame(additions, dtype=object)], ignore_index=True).fillna("")
    return table
