"""Which sheet of an upload, and which of its rows, is the table of actors to import.

A published workbook seldom starts with its data: a read-me or notes sheet comes first, a title
or a group row sits above the header. Every sheet is looked at; in each, the header is the row
among its first :data:`HEADER_SEARCH` whose cells the importer recognises best
(:func:`reseaux.importation.importing.guess_mapping`). The data sheet is the one whose header names an actor
(a name, an address or a FINESS/SIRET) with the most recognised columns, then the most rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from reseaux.importation.importing import guess_mapping
from reseaux.importation.reading import Sheet, UploadError
from reseaux.text import plural

#: Rows of a sheet looked at for its header (title and group rows come first).
HEADER_SEARCH = 10
#: Columns that make a header a list of actors: without one of them, a sheet is notes or figures.
KEY_TARGETS = ("nom", "adresse", "finess", "siret", "rpps")


@dataclass
class SheetSummary:
    """What a sheet looks like: ``header_line`` (1 = its first row), how many of its headers are
    recognised, whether one names an actor, and its rows under the header."""

    name: str
    header_line: int
    recognised: int
    names_actor: bool
    data_rows: int

    @property
    def is_table(self) -> bool:
        return self.names_actor and self.recognised >= 2

    def describe(self) -> str:
        """« « Lisez-moi » (pas de tableau d'acteurs, 12 lignes) », in French."""
        if not self.header_line:
            return f"« {self.name} » (vide)"
        kind = (
            f"{plural(self.recognised, 'colonne reconnue', 'colonnes reconnues')}"
            if self.is_table
            else "pas d'en-tête d'annuaire"
        )
        return f"« {self.name} » ({kind}, {plural(self.data_rows, 'ligne')})"


@dataclass
class Table:
    """The rows to import: ``rows[0]`` is the header, found on ``header_line`` of sheet ``sheet``;
    the rows above it are blanked so that row ``i`` stays line ``i + 1`` of the sheet in every
    report. ``sheets`` describes every sheet of the upload (one unnamed sheet for a CSV)."""

    sheet: str
    header_line: int
    rows: list[list[str]]
    sheets: list[SheetSummary]

    def sentence(self) -> str:
        """Which sheet and header were read, and the other sheets (French); "" for a plain table."""
        if len(self.sheets) < 2 and self.header_line <= 1:
            return ""
        where = f"Feuille « {self.sheet} » lue" if self.sheet else "Tableau lu"
        header = f", en-tête ligne {self.header_line}" if self.header_line > 1 else ""
        others = [s.describe() for s in self.sheets if s.name != self.sheet]
        rest = f" ; autres feuilles, non importées : {', '.join(others)}" if others else ""
        return f"{where}{header}{rest}."


class NoTable(UploadError):
    """No sheet of the upload looks like a table of actors; ``sheets`` says what each holds."""

    def __init__(self, message: str, sheets: list[SheetSummary]):
        super().__init__(message)
        self.sheets = sheets


def find_table(sheets: list[Sheet], choice: str | None = None) -> Table:
    """The table to import among ``sheets`` (:func:`reseaux.importation.reading.read_sheets`).

    ``choice`` names a sheet, or gives its number (1 = the first); ``None`` finds the data sheet.
    A file of one sheet is read even when no header is recognised (its columns are then mapped by
    hand). Raises :class:`NoTable` (French, naming the sheets) when several sheets are
    there and none looks like a table of actors, :class:`UploadError` for a choice that names no
    sheet or an empty one.
    """
    summaries = [_summary(sheet) for sheet in sheets]
    chosen = "" if choice is None else str(choice).strip()
    index = _chosen(sheets, chosen) if chosen else _best(summaries)
    sheet, summary = sheets[index], summaries[index]
    if not sheet.rows:
        raise UploadError(
            f"La feuille « {sheet.name} » est vide ; feuilles du classeur : "
            f"{', '.join(s.describe() for s in summaries)}."
        )
    header_index = summary.header_line - 1
    width = len(sheet.rows[header_index])
    rows = [sheet.rows[header_index], *[[""] * width for _ in range(header_index)], *sheet.rows[header_index + 1 :]]
    return Table(sheet.name, summary.header_line, rows, summaries)


def _summary(sheet: Sheet) -> SheetSummary:
    first = next((i for i, row in enumerate(sheet.rows) if any(c.strip() for c in row)), 0)
    best, best_score = first, _score(sheet.rows[first]) if sheet.rows else (0, False)
    for index, row in enumerate(sheet.rows[:HEADER_SEARCH]):
        score = _score(row)
        # a later row is the header only when it names actors (a data row may hold « structure »),
        # and the earliest of equal rows wins
        if score[1] and score[0] >= 2 and (not (best_score[1] and best_score[0] >= 2) or score[0] > best_score[0]):
            best, best_score = index, score
    data_rows = sum(1 for row in sheet.rows[best + 1 :] if any(c.strip() for c in row))
    return SheetSummary(sheet.name, best + 1 if sheet.rows else 0, best_score[0], best_score[1], data_rows)


def _score(row: list[str]) -> tuple[int, bool]:
    """How many of ``row``'s cells are recognised headers, and whether one names an actor."""
    targets = [t for t in guess_mapping([c for c in row if c.strip()], extra=True).values() if t]
    return len(targets), any(t in KEY_TARGETS for t in targets)


def _best(summaries: list[SheetSummary]) -> int:
    tables = [i for i, s in enumerate(summaries) if s.is_table]
    if tables:
        return max(tables, key=lambda i: (summaries[i].recognised, summaries[i].data_rows, -i))
    if len(summaries) == 1:  # a CSV, a one-sheet workbook: its columns are mapped by hand
        return 0
    raise NoTable(
        "Aucune feuille du classeur ne ressemble à une liste d'acteurs (une ligne d'en-tête qui donne "
        "au moins le nom, l'adresse ou le numéro FINESS ou SIRET, et une autre colonne connue) : "
        f"{', '.join(s.describe() for s in summaries)}. Choisissez la feuille à importer (liste « Feuille "
        "à importer » de la page, ou --feuille NOM dans la commande), ou renommez les colonnes de "
        "l'en-tête (« nom », « adresse », « commune »…).",
        summaries,
    )


def _chosen(sheets: list[Sheet], choice: str) -> int:
    names = [sheet.name for sheet in sheets]
    if choice in names:
        return names.index(choice)
    folded = [name.strip().casefold() for name in names]
    if choice.casefold() in folded:
        return folded.index(choice.casefold())
    if choice.isdigit() and 1 <= int(choice) <= len(sheets):
        return int(choice) - 1
    listed = ", ".join(f"{n} « {name} »" for n, name in enumerate(names, start=1))
    raise UploadError(
        f"Feuille « {choice} » introuvable : le fichier a {plural(len(sheets), 'feuille')} "
        f"({listed}). Donnez son nom ou son numéro."
    )
