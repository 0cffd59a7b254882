"""Importing a partner's spreadsheet: read CSV or XLSX, guess the columns, find duplicates, merge.

Nothing here writes: the page shows what an import would change, the user decides, and
:mod:`reseaux.store` saves.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from rapidfuzz import fuzz, process

from reseaux.directory import COLUMNS, MULTI_COLUMNS, DirectoryError, read_table
from reseaux.text import normalize, split_cell

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Headers seen in partners' spreadsheets, folded, and the column they mean.
HEADER_GUESSES: dict[str, str] = {
    "nom": "nom", "nom prenom": "nom", "nom et prenom": "nom", "prenom nom": "nom", "raison sociale": "nom",
    "identifiant": "id", "id": "id", "ref": "id", "reference": "id",
    "adresse": "adresse", "adresse postale": "adresse", "rue": "adresse", "voie": "adresse",
    "cp": "code_postal", "code postal": "code_postal", "codepostal": "code_postal",
    "ville": "commune", "commune": "commune", "localite": "commune",
    "insee": "code_insee", "code insee": "code_insee", "code commune": "code_insee",
    "specialite": "specialites", "specialites": "specialites", "formations": "specialites",
    "formation": "specialites", "competences": "specialites",
    "tel": "telephone", "telephone": "telephone", "tel fixe": "telephone", "portable": "telephone",
    "mail": "email", "e mail": "email", "email": "email", "courriel": "email", "adresse mail": "email",
    "site": "site_web", "site web": "site_web", "site internet": "site_web", "url": "site_web",
    "profession": "profession", "metier": "profession", "fonction": "profession",
    "structure": "structure", "lieu d exercice": "structure", "etablissement": "structure",
    "theme": "thematiques", "themes": "thematiques", "thematique": "thematiques", "thematiques": "thematiques",
    "public": "publics", "publics": "publics", "public accueilli": "publics",
    "modalites": "modalites", "modalite": "modalites", "rdv": "modalites", "rendez vous": "modalites",
    "accessibilite": "accessibilite", "langues": "langues", "langue": "langues",
    "description": "description", "commentaire": "description", "presentation": "description",
    "type": "type", "categorie": "type", "latitude": "latitude", "lat": "latitude",
    "longitude": "longitude", "lon": "longitude", "lng": "longitude",
    "zone": "zone_intervention", "zone d intervention": "zone_intervention",
    "mise a jour": "date_maj", "date de mise a jour": "date_maj", "maj": "date_maj",
}


class UploadError(DirectoryError):
    """An upload that cannot be read; the message says why in French."""


@dataclass(frozen=True)
class Duplicate:
    new_index: int
    existing_id: str
    score: float
    reason: str


def read_upload(name: str, data: bytes) -> list[list[str]]:
    """Rows of cells (``rows[0]`` is the header) from a CSV or XLSX upload."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"Fichier trop gros ({len(data) // 1024} Ko) : la limite est "
                           f"{MAX_UPLOAD_BYTES // 1024 // 1024} Mo.")
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "xlsx":
        return _read_xlsx(data)
    if suffix in ("csv", "txt"):
        rows, _, _ = read_table(data)
        if not rows:
            raise UploadError("Le fichier est vide.")
        return rows
    raise UploadError(f"Format « .{suffix} » non pris en charge : importez un fichier .csv ou .xlsx.")


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise UploadError(f"Classeur Excel illisible ({type(exc).__name__}) : enregistrez-le de nouveau "
                           "au format .xlsx ou en CSV.") from exc
    sheet = book.worksheets[0]
    rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise UploadError("La première feuille du classeur est vide.")
    return rows


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Guess, for each source header, the directory column it holds (``""``: not imported)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        key = normalize(header)
        target = HEADER_GUESSES.get(key) or (key.replace(" ", "_") if key.replace(" ", "_") in COLUMNS else "")
        if not target and key:
            best = process.extractOne(key, list(HEADER_GUESSES), scorer=fuzz.ratio, score_cutoff=85)
            target = HEADER_GUESSES[best[0]] if best else ""
        if target in used:
            target = ""
        mapping[header] = target
        if target:
            used.add(target)
    return mapping


def apply_mapping(rows: list[list[str]], mapping: dict[str, str], existing_ids: set[str]) -> pd.DataFrame:
    """Turn uploaded rows into a directory table; give an id to rows that have none.

    Blank rows stay (blank) so that row ``i`` is line ``i + 2`` of the file in every report;
    :func:`drop_blank` removes them before the import is applied.
    """
    header = rows[0]
    records = []
    taken = set(existing_ids)
    for cells in rows[1:]:
        record = dict.fromkeys(COLUMNS, "")
        if not any(str(c).strip() for c in cells):
            records.append(record)  # kept blank so row n stays spreadsheet line n + 2
            continue
        for i, source in enumerate(header):
            target = mapping.get(source, "")
            if target and i < len(cells):
                value = str(cells[i]).strip()
                record[target] = f"{record[target]}|{value}" if record[target] and target in MULTI_COLUMNS else value
        if not record["id"]:
            record["id"] = _new_id(record["nom"], taken)
        taken.add(record["id"])
        records.append(record)
    return pd.DataFrame(records, columns=list(COLUMNS), dtype=object)


def drop_blank(table: pd.DataFrame) -> pd.DataFrame:
    return table[table.astype(str).apply(lambda r: r.str.strip().ne("").any(), axis=1)].reset_index(drop=True)


def _new_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", normalize(name)).strip("-")[:24] or "acteur"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def find_duplicates(new: pd.DataFrame, existing: pd.DataFrame, *, threshold: float = 88.0) -> list[Duplicate]:
    """Likely duplicates of existing fiches: the same id, or a close name at a close address.

    Names and addresses are compared folded (accents, case), with rapidfuzz's token-set ratio
    so « Dr Marie Dupont » matches « DUPONT Marie ».
    """
    found: list[Duplicate] = []
    existing_ids = set(existing["id"].astype(str))
    names = [normalize(n) for n in existing["nom"].astype(str)]
    places = [normalize(f"{a} {c}") for a, c in zip(existing["adresse"].astype(str), existing["commune"].astype(str), strict=True)]
    ids = existing["id"].astype(str).tolist()
    for index, record in enumerate(new.to_dict("records")):
        if str(record["id"]) in existing_ids:
            found.append(Duplicate(index, str(record["id"]), 100.0, "même identifiant"))
            continue
        name = normalize(record["nom"])
        place = normalize(f"{record['adresse']} {record['commune']}")
        matches = process.extract(name, names, scorer=fuzz.token_set_ratio, score_cutoff=threshold, limit=5)
        for _, name_score, position in matches:
            place_score = fuzz.token_set_ratio(place, places[position]) if place.strip() and places[position].strip() else 0
            if place_score >= 80 or (not record["adresse"] and normalize(record["commune"]) in places[position]):
                found.append(Duplicate(index, ids[position], round((name_score + place_score) / 2, 1),
                                       f"nom proche ({name_score:.0f} %) et adresse proche ({place_score:.0f} %)"))
                break
    return found


def merge_records(existing: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    """Merge an imported fiche into an existing one: the id and a hand-placed position stay;
    multi-valued cells are united; other filled cells of the import replace the old ones."""
    merged = dict(existing)
    manual = existing.get("geocodage_source") == "manuel"
    for column, value in new.items():
        value = "" if value is None else str(value).strip()
        if not value or column == "id":
            continue
        if manual and column in ("latitude", "longitude", "geocodage_source", "geocodage_score",
                                 "geocodage_type", "geocodage_label"):
            continue
        if column in MULTI_COLUMNS and merged.get(column):
            parts = split_cell(merged[column]) + [p for p in split_cell(value) if p not in split_cell(merged[column])]
            merged[column] = "|".join(parts)
        else:
            merged[column] = value
    return merged


def apply_import(existing: pd.DataFrame, new: pd.DataFrame, decisions: dict[int, str],
                 duplicates: list[Duplicate]) -> pd.DataFrame:
    """Return ``existing`` with the import applied.

    ``decisions`` maps the index of a new row that has a duplicate to « fusionner », « garder
    les deux » or « ignorer »; rows without a duplicate are added.
    """
    table = existing.copy().reset_index(drop=True)
    for column in new.columns:
        if column not in table:
            table[column] = ""
    by_new = {d.new_index: d for d in duplicates}
    taken = set(table["id"].astype(str))
    additions = []
    for index, record in enumerate(new.to_dict("records")):
        duplicate = by_new.get(index)
        decision = decisions.get(index, "fusionner") if duplicate else "ajouter"
        if decision == "ignorer":
            continue
        if decision == "fusionner":
            position = table.index[table["id"].astype(str) == duplicate.existing_id][0]
            merged = merge_records(table.loc[position].to_dict(), record)
            table.loc[position, list(merged)] = list(merged.values())
            continue
        if record["id"] in taken:
            record = {**record, "id": _new_id(record["nom"], taken)}
        taken.add(record["id"])
        additions.append(record)
    if additions:
        table = pd.concat([table, pd.DataFrame(additions, dtype=object)], ignore_index=True).fillna("")
    return table
