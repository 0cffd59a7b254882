"""Import a file into a directory from the command line: the page's steps, without a page.

Read (:mod:`reseaux.importation.reading`), find the data sheet and its header (:mod:`reseaux.importation.workbook`), map
with a profile or the guesses (:mod:`reseaux.importation.importing`), validate, geocode what has no position, merge duplicates, save through the store (backup,
journal). ``dry_run`` does everything but the save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reseaux.acces.access import hidden_sentence
from reseaux.annuaire import columns
from reseaux.annuaire.directory import Directory, DirectoryError, validate_table
from reseaux.annuaire.referential import Referential
from reseaux.annuaire.store import Snapshot
from reseaux.importation.duplicates import find_duplicates
from reseaux.importation.import_merge import apply_import
from reseaux.importation.importing import ImportSpec, apply_mapping, drop_blank, guess_mapping
from reseaux.importation.reading import read_sheets
from reseaux.importation.workbook import find_table
from reseaux.stockage import directory_store
from reseaux.territoire.geocode_file import geocode_records
from reseaux.text import plural


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    merged: int = 0
    unplaced: int = 0
    unchecked: int = 0  # rows the bounded duplicate search did not compare with every close fiche
    report: Directory | None = None
    spec: ImportSpec = field(default_factory=ImportSpec)
    geocoding: str = ""
    #: (file line, French message) of each row the geocoding could not place precisely.
    placing: list[tuple[int, str]] = field(default_factory=list)
    saved: bool = False
    table: str = ""  # which sheet and header row were read, and the other sheets
    unused: list[str] = field(default_factory=list)  # the file's columns neither imported nor kept

    def hidden(self) -> str:
        """How many imported fiches a visitor will not see, and how to change it ("" if none)."""
        return hidden_sentence(self.report.actors) if self.report is not None else ""

    #: How many of the rows left unplaced are named one by one (the rest are counted).
    PLACING_SHOWN = 20

    def _placing_lines(self) -> list[str]:
        """« ligne 4 : … » for the rows left off the map (an ambiguous or unknown commune)."""
        unplaced = [(line, message) for line, message in self.placing if "absent de la carte" in message]
        shown = [f"ligne {line} : {message}" for line, message in unplaced[: self.PLACING_SHOWN]]
        if len(unplaced) > self.PLACING_SHOWN:
            shown.append(
                f"… et {plural(len(unplaced) - self.PLACING_SHOWN, 'autre ligne non placée', 'autres lignes non placées')}."
            )
        return shown

    def sentences(self) -> list[str]:
        errors = len(self.report.rejected) if self.report is not None else 0
        warnings = len(self.report.warnings) if self.report is not None else 0
        return [
            *([self.table] if self.table else []),
            f"{plural(self.rows, 'ligne lue', 'lignes lues')}, {plural(self.imported, 'fiche importée', 'fiches importées')} "
            f"dont {plural(self.merged, 'doublon fusionné', 'doublons fusionnés')} avec une fiche existante.",
            f"{plural(errors, 'ligne avec erreur', 'lignes avec erreur')} (importées quand même, à corriger), "
            f"{plural(warnings, 'avertissement')}, {plural(self.unplaced, 'fiche sans position', 'fiches sans position')}.",
            *([self.geocoding] if self.geocoding else []),
            *self._placing_lines(),
            *([unused_sentence(self.unused, self.spec.keep)] if self.unused or self.spec.keep else []),
            *([hidden] if (hidden := self.hidden()) else []),
            *(
                [
                    f"Recherche des doublons bornée : pour {plural(self.unchecked, 'ligne')}, les fiches proches n'ont "
                    "pas toutes été comparées ; importez le fichier en plusieurs parties pour les comparer toutes."
                ]
                if self.unchecked
                else []
            ),
            "Simulation : rien n'a été écrit." if not self.saved else "Annuaire enregistré (sauvegarde et journal).",
        ]


def unused_sentence(unused: list[str], kept: list[str]) -> str:
    """The columns of the file that no fiche will show, and those kept in the description (French)."""
    parts = []
    if unused:
        parts.append(
            f"{plural(len(unused), 'colonne non importée', 'colonnes non importées')} : "
            f"{', '.join(f'« {h} »' for h in unused)} ; pour en garder une sur la fiche (dans sa "
            "description) : --garder COLONNE, ou choisissez-la pour une colonne de l'annuaire dans "
            "un profil."
        )
    if kept:
        parts.append(f"Gardées dans la description : {', '.join(f'« {h} »' for h in kept)}.")
    return " ".join(parts)


def import_file(
    source: Path,
    into: Path | None,
    referential: Referential,
    *,
    spec: ImportSpec | None = None,
    constants: dict[str, str] | None = None,
    offline: bool = False,
    dry_run: bool = False,
    who: str = "ligne de commande",
    sheet: str | None = None,
    keep: list[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Import ``source`` into the directory file ``into`` (created when missing, with its folder,
    private, by the store); None: into the directory of the settings, through its store (the
    database when ``RESEAUX_DATABASE_URL`` names one, as the Annuaire page imports).

    ``sheet`` names the sheet of a workbook to read (or gives its number); by default the data
    sheet is found (:func:`reseaux.importation.workbook.find_table`). ``keep``: columns of the file not
    imported but kept in each fiche's description.

    ``progress(step, done, total)`` follows the long steps: ``"lecture"`` (rows of a workbook) and
    ``"doublons"`` (name comparisons).
    Raises :class:`reseaux.annuaire.directory.DirectoryError` (French) when a file cannot be read, when no
    sheet looks like a table of actors (naming the sheets), when a kept column is not in the file,
    or when no column gives the name.
    """
    found = find_table(read_sheets(source.name, source.read_bytes(), progress=_step(progress, "lecture")), sheet)
    rows = found.rows
    spec = spec or ImportSpec(mapping=guess_mapping(rows[0], extra=True))
    for header in rows[0]:
        spec.mapping.setdefault(header, "")
    spec.constants.update(constants or {})
    spec.keep = list(dict.fromkeys([*spec.keep, *(keep or [])]))
    missing = [h for h in spec.keep if h not in rows[0]]
    if missing:
        raise DirectoryError(
            f"Colonne(s) à garder absente(s) du fichier : {', '.join(f'« {h} »' for h in missing)} ; "
            f"colonnes du fichier : {', '.join(f'« {h} »' for h in rows[0] if h)}."
        )
    if "nom" not in spec.mapping.values() and "nom" not in spec.constants:
        raise DirectoryError(
            "Aucune colonne du fichier n'a été reconnue comme le nom des acteurs (colonnes : "
            f"{', '.join(f'« {h} »' for h in rows[0] if h)}) : rien n'a été importé. Dites laquelle "
            'le donne dans un profil (--profile, section [colonnes] : "NOM DE LA COLONNE" = '
            '"nom"), ou renommez-la « nom ».'
        )
    store = directory_store(into)
    if store.path.exists() if store.kind == "fichiers" else store.holds_directory():
        base = store.load()
    else:
        base = Snapshot(pd.DataFrame(columns=list(columns.names()), dtype=object), "", ",", "utf-8")
    existing = base.table
    mapped = apply_mapping(rows, spec, set(existing["id"].astype(str)))
    records = mapped.to_dict("records")  # blank rows kept: each problem has its file line
    geocoding, placing = "", []
    if any(not (r["latitude"] and r["longitude"]) for r in records):
        summary = geocode_records(records, offline=offline)
        geocoding, placing = summary.sentence(), summary.problems
        mapped = pd.DataFrame(records, columns=mapped.columns)
    new = drop_blank(mapped)
    result = ImportReport(
        rows=len(new),
        spec=spec,
        geocoding=geocoding,
        placing=placing,
        table=found.sentence(),
        unused=spec.unused(rows[0]),
    )
    result.report = validate_table(mapped, referential)  # after the geocoding: the positions saved
    # Counted as the map and `check` count: a position the validation ignores (« abc », off France,
    # a latitude alone) is no position, though its cells are not empty.
    result.unplaced = result.report.n_unplaced
    duplicates = find_duplicates(new, existing, progress=_step(progress, "doublons"))
    result.merged = len(duplicates)
    result.unchecked = duplicates.unchecked
    result.imported = len(new)
    table = apply_import(existing, new, {}, duplicates, referential)
    if not dry_run and result.imported:
        store.save(table, base, who, action=f"import de {source.name}")
        result.saved = True
    return result


def _step(progress: Callable[[str, int, int], None] | None, step: str) -> Callable[[int, int], None] | None:
    return (lambda done, total: progress(step, done, total)) if progress else None
