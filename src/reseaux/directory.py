"""Loading and validating the directory of actors (``data/actors.csv``).

The file is what coordinators open in a spreadsheet, so loading is forgiving about form
(UTF-8 with or without BOM, Windows-1252, ``,`` or ``;``, headers in any case) and strict about
content: every problem is an :class:`Issue` with the spreadsheet line (header = line 1), the
column, the value and what to do. Only a row that cannot be an actor at all (no name, no
identifier, nothing to place it by) is an error, kept aside in ``Directory.rejected``; anything
else is a warning and the actor stays usable (an unrecognised referential value is kept as
written, an unknown type becomes « À classer »). Nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from rapidfuzz import process

from reseaux import fields
from reseaux.access import DEFAULT_VISIBILITY, NO_SIGN, REASON_COLUMN, UNREADABLE, WRITTEN, default_visibility
from reseaux.referential import CATEGORIES, UNCLASSIFIED, UNKNOWN, Referential
from reseaux.text import fold, split_cell

#: The columns of the directory, in file order, with their French help (docs/guide-utilisateur.md, forms).
COLUMNS: dict[str, str] = {
    "id": "identifiant stable et unique",
    "nom": "nom de la personne, de la structure ou de l'action",
    "type": ("structure | professionnel | action d'aller-vers | point de distribution | hôpital | pharmacie | "
             "laboratoire ; vide ou inconnu : à classer"),
    "profession": "profession (pour un·e professionnel·le)",
    "structure": "structure d'exercice",
    "thematiques": "thématiques, séparées par |",
    "publics": "publics accueillis, séparés par |",
    "modalites": "modalités (sur rendez-vous, sans rendez-vous, gratuit, anonyme…)",
    "accessibilite": "accessibilité (PMR, LSF…)",
    "langues": "langues parlées, séparées par |",
    "specialites": "spécialités et formations complémentaires, séparées par |",
    "description": "description libre",
    "adresse": "numéro et voie",
    "code_postal": "code postal (5 chiffres, ex. 76000 ou 97400)",
    "commune": "commune",
    "code_insee": "code INSEE de la commune (ex. 76540, 2A004)",
    "latitude": "latitude WGS84 (ex. 49.4431)",
    "longitude": "longitude WGS84 (ex. 1.0993)",
    "telephone": "10 chiffres (02 35 00 00 00, 0262 20 00 00), un numéro court (3919) ou + et l'indicatif du pays "
                 "(+262 262 20 00 00)",
    "email": "adresse électronique (ex. contact@structure.fr)",
    "site_web": "site web : https://… ou le domaine seul (structure.fr)",
    "horaires": "horaires d'ouverture, texte libre (« lundi : 9 h-12 h ; mardi : … »)",
    "zone_intervention": "pour une action d'aller-vers : codes INSEE ou QPV couverts, séparés par |",
    "date_maj": "date de mise à jour (AAAA-MM-JJ)",
    "fictif": "oui si la fiche est fictive (données de démonstration)",
    "visibilite": ("public (visible sans connexion) ou membres (réservée aux membres) ; vide : membres pour une "
                   "personne ou une fiche à classer, public pour un établissement"),
    "geocodage_score": "score du géocodage (0 à 1), écrit par python -m reseaux geocode",
    "geocodage_type": "précision : housenumber, street, locality, municipality",
    "geocodage_label": "adresse reconnue par le géocodeur",
    "geocodage_source": "origine de la position : ban, cache, commune (approximative), manuel ou fichier (donnée par l'éditeur du fichier)",
}
#: French labels of the columns, for forms and tables.
LABELS: dict[str, str] = {
    "id": "Identifiant", "nom": "Nom", "type": "Type", "profession": "Profession", "structure": "Structure",
    "thematiques": "Thématiques", "publics": "Publics", "modalites": "Modalités", "accessibilite": "Accessibilité",
    "langues": "Langues", "specialites": "Spécialités et formations", "description": "Description",
    "adresse": "Adresse", "code_postal": "Code postal", "commune": "Commune", "code_insee": "Code INSEE",
    "latitude": "Latitude", "longitude": "Longitude", "telephone": "Téléphone", "email": "Courriel",
    "site_web": "Site web", "horaires": "Horaires", "zone_intervention": "Zone d'intervention", "date_maj": "Mise à jour",
    "fictif": "Fiche fictive (oui/non)", "visibilite": "Visibilité", "geocodage_score": "Score du géocodage",
    "geocodage_type": "Précision du géocodage", "geocodage_label": "Adresse reconnue",
    "geocodage_source": "Origine de la position",
}
#: Columns whose absence is not worth a warning (written by tools, or with a safe default).
TOOL_COLUMNS = ("visibilite", "geocodage_score", "geocodage_type", "geocodage_label", "geocodage_source",
                "horaires")  # horaires: added to the schema in 2026, older files lack it
GEOCODING_SOURCES = ("ban", "cache", "commune", "manuel", "fichier")
REQUIRED = ("id", "nom")
#: Columns of which one at least must be filled for the actor to be placed (or geocoded).
PLACE_COLUMNS = ("latitude", "adresse", "code_postal", "commune", "code_insee", "zone_intervention")
#: Columns validated against the referential, and whether they hold several values.
REFERENTIAL_COLUMNS: dict[str, tuple[str, bool]] = {
    column: (category, column != "type" and column != "profession")
    for category, (column, _label) in CATEGORIES.items()
}
FREE_MULTI_COLUMNS = ("langues", "specialites", "zone_intervention")
MULTI_COLUMNS = tuple(c for c, (_, multi) in REFERENTIAL_COLUMNS.items() if multi) + FREE_MULTI_COLUMNS

ERROR = "erreur"
WARNING = "avertissement"

# Bounding boxes (lat_min, lat_max, lon_min, lon_max) of metropolitan France and the DROM.
_FRANCE_BOXES = (
    (41.3, 51.2, -5.3, 9.7),
    (15.8, 16.6, -61.9, -60.9),
    (14.3, 14.95, -61.3, -60.75),
    (2.1, 5.8, -54.7, -51.5),
    (-21.45, -20.85, 55.2, 55.9),
    (-13.1, -12.6, 44.95, 45.35),
    (17.8, 18.0, -62.95, -62.7),  # Saint-Barthélemy
    (18.0, 18.14, -63.17, -62.95),  # Saint-Martin
    (46.7, 47.2, -56.5, -56.05),  # Saint-Pierre-et-Miquelon
)


class DirectoryError(Exception):
    """The file cannot be read at all (missing, empty, required columns absent). French text."""


@dataclass(frozen=True)
class Issue:
    """One problem in the directory, located as a spreadsheet shows it."""

    line: int | None
    column: str | None
    value: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"ligne {self.line}")
        if self.column:
            where.append(f"colonne « {self.column} »")
        prefix = ", ".join(where)
        return f"{prefix} : {self.message}" if prefix else self.message


@dataclass
class Directory:
    """A loaded directory: usable actors, rows kept aside, and every issue found."""

    actors: gpd.GeoDataFrame
    rejected: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def placed(self) -> gpd.GeoDataFrame:
        """The actors that have a position (those the map can draw)."""
        return self.actors[self.actors.geometry.notna()]

    @property
    def n_unplaced(self) -> int:
        return len(self.actors) - len(self.placed)


#: Longest cell of a directory row (a description is a few hundred characters; a longer cell is
#: a mistake or an attack, kept aside with the row).
MAX_CELL = 10_000


def read_table(data: bytes) -> tuple[list[list[str]], str, str]:
    """Decode and split a CSV export of a spreadsheet.

    Returns ``(rows, encoding, delimiter)``; ``rows[0]`` is the header. The encoding is UTF-8
    (with or without BOM), else Windows-1252, else charset-normalizer's best guess. The
    delimiter is the one of ``;``, ``,`` and tab that makes the most known column headers.
    """
    text, encoding = _decode(data)
    first_line = text.split("\n", 1)[0]
    best = (",", -1)
    for delimiter in (";", ",", "\t"):
        header = next(csv.reader([first_line], delimiter=delimiter), [])
        known = sum(1 for h in header if _canonical_header(h) in COLUMNS)
        score = known * 1000 + len(header)
        if score > best[1]:
            best = (delimiter, score)
    delimiter = best[0]
    # Python's csv stops at 131,072 characters a cell, and the whole file then failed to load
    # (on every page, for everyone): read longer cells, the validation keeps them aside.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise DirectoryError(f"Fichier CSV illisible ({exc}) : ouvrez-le dans un tableur et "
                             "enregistrez-le de nouveau au format CSV.") from exc
    return rows, encoding, delimiter


def taken_id_issue(line: int, actor_id: str, first_line: int) -> Issue:
    """The error of a row whose id an earlier row (``first_line``) already holds."""
    return Issue(line, "id", actor_id, f"l'identifiant « {actor_id} » est déjà utilisé ligne {first_line} ; "
                                       "donnez-lui un identifiant unique")


def load_directory(source: Path | bytes, referential: Referential) -> Directory:
    """Load and validate a directory file (a path or the raw bytes of an upload).

    Returns a :class:`Directory`. Raises :class:`DirectoryError` when the file cannot be used
    at all (unreadable, empty, a required column missing).
    """
    if isinstance(source, Path | str):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise DirectoryError(f"Impossible de lire l'annuaire « {source} » : {exc.strerror}.") from exc
    else:
        data = source
    rows, encoding, delimiter = read_table(data)
    directory = validate_rows(rows, referential)
    directory.encoding, directory.delimiter = encoding, delimiter
    return directory


def validate_table(table: pd.DataFrame, referential: Referential) -> Directory:
    """Validate a table of strings (one column per directory column), as if it were a file."""
    rows = [list(table.columns)] + table.fillna("").astype(str).values.tolist()
    return validate_rows(rows, referential)


def validate_record(raw: dict[str, str], referential: Referential, line: int = 2) -> tuple[dict, list[Issue]]:
    """Validate one actor given as ``{column: text}`` (a form, an imported row)."""
    cells = {c: str(raw.get(c, "") or "").strip() for c in raw}
    long = _too_long(cells, line)
    record, issues = _RowValidator(referential).validate(cells, line)
    return record, long + issues


def _too_long(cells: dict[str, str], line: int) -> list[Issue]:
    """An error for each cell longer than :data:`MAX_CELL` (cut to it in ``cells``)."""
    found = []
    for name, value in cells.items():
        if len(value) > MAX_CELL:
            found.append(Issue(line, name, value[:60] + "…", (
                f"cellule de {len(value):_} caractères (au plus {MAX_CELL:_}) : raccourcissez-la "
                "ou mettez le texte long sur le site de la structure").replace("_", "\u202f")))
            cells[name] = value[:MAX_CELL]
    return found


def validate_rows(rows: list[list[str]], referential: Referential) -> Directory:
    """Validate rows of cells; ``rows[0]`` is the header (spreadsheet line 1)."""
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DirectoryError("L'annuaire est vide : la première ligne doit donner les noms de colonnes.")
    header, issues = map_header(rows[0])
    validator = _RowValidator(referential)
    records: list[dict] = []
    rejected: list[dict] = []
    first_line_of_id: dict[str, int] = {}
    for index, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        raw = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
        row_issues = []
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            row_issues.append(Issue(index, None, "", (
                f"la ligne a {len(cells)} cellules pour {len(header)} colonnes : une cellule "
                "contient sans doute le séparateur sans guillemets ; corrigez-la dans le tableur"
            )))
        row_issues.extend(_too_long(raw, index))
        record, found = validator.validate(raw, index)
        row_issues.extend(found)
        actor_id = record.get("id", "")
        if actor_id and actor_id in first_line_of_id:
            row_issues.append(taken_id_issue(index, actor_id, first_line_of_id[actor_id]))
        issues.extend(row_issues)
        if any(i.severity == ERROR for i in row_issues):
            rejected.append({"ligne": index, **{k: v for k, v in raw.items() if k},
                             "erreurs": " ; ".join(str(i) for i in row_issues if i.severity == ERROR)})
        else:
            first_line_of_id.setdefault(actor_id, index)
            record["ligne"] = index
            records.append(record)
    return Directory(
        actors=_to_geodataframe(records),
        rejected=pd.DataFrame(rejected, columns=["ligne", *[h for h in header if h], "erreurs"]),
        issues=issues,
    )


def table_from_rows(rows: list[list[str]]) -> pd.DataFrame:
    """Every non-blank row as strings, columns named as the directory names them.

    Unknown columns keep their header; a duplicated column is dropped (only its first copy is
    read, as when loading). Raises DirectoryError when a required column is missing.
    """
    header, _ = map_header(rows[0])
    names = [h if h else "" for h in header]
    keep = [i for i, h in enumerate(names) if h]
    body = [[(cells[i] if i < len(cells) else "") for i in keep] for cells in rows[1:] if any(c.strip() for c in cells)]
    table = pd.DataFrame(body, columns=[names[i] for i in keep], dtype=object)
    for column in COLUMNS:
        if column not in table:
            table[column] = ""
    ordered = [c for c in COLUMNS] + [c for c in table.columns if c not in COLUMNS]
    return table[ordered].reset_index(drop=True)


def to_table(actors: pd.DataFrame) -> pd.DataFrame:
    """Return ``actors`` as the file stores them: one string per cell, multi-values joined by |."""
    out = pd.DataFrame(index=actors.index)
    for column in COLUMNS:
        values = actors[column] if column in actors else pd.Series("", index=actors.index)
        if column in MULTI_COLUMNS:
            out[column] = values.map(lambda v: "|".join(v) if isinstance(v, tuple | list) else (v or ""))
        elif column == "fictif":
            out[column] = values.map(lambda v: "oui" if v is True else "non")
        elif column == "geocodage_score":
            out[column] = values.map(lambda v: "" if v is None or pd.isna(v) else f"{v:.2f}")
        elif column in ("latitude", "longitude"):
            out[column] = values.map(lambda v: "" if v is None or pd.isna(v) else f"{v:.6f}")
        else:
            out[column] = values.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    return out


# --- private helpers -------------------------------------------------------------------------


#: Byte-order marks of the UTF-16 and UTF-32 texts spreadsheets write (Excel's « Texte Unicode »
#: is UTF-16 LE with its mark, tab-separated); UTF-32's first, it begins like UTF-16 LE's.
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))


def _decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and its encoding.

    UTF-8 (with or without mark), UTF-16/32 with a mark, UTF-16 without one (told by its zero
    bytes), Windows-1252, else charset-normalizer's guess. A few stray NUL characters (a file cut
    short and padded by the disk) are removed; a file made of them (binary, or a spreadsheet
    renamed .csv) is refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise DirectoryError(f"Fichier {encoding.upper()} abîmé : enregistrez-le de nouveau en "
                                     "« CSV UTF-8 » depuis le tableur.") from None
    if b"\x00" in data:
        data = _without_nul(data)
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        guess = from_bytes(data).best()
        if guess is None:
            raise DirectoryError(
                "Encodage du fichier non reconnu : enregistrez-le en « CSV UTF-8 » depuis le tableur."
            ) from None
        return str(guess), guess.encoding


def _without_nul(data: bytes) -> bytes:
    """The bytes of a text with NUL bytes: UTF-16 without a mark re-encoded in UTF-8, a few
    stray NULs removed; else :class:`DirectoryError` (a binary file)."""
    head = data[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    for encoding, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros > len(head) // 4 and others < zeros // 20:  # one zero byte a character: ASCII in UTF-16
            try:
                return data.decode(encoding).encode("utf-8")
            except UnicodeDecodeError:
                break
    nul = data.count(0)
    if nul > max(8, len(data) // 1000):
        raise DirectoryError(f"Ce fichier n'est pas un texte CSV : il contient {nul:_} octets nuls (un fichier "
                             "binaire, ou un classeur renommé en .csv ?). Ouvrez-le dans un tableur et "
                             "enregistrez-le en « CSV UTF-8 ».".replace("_", "\u202f"))
    return data.replace(b"\x00", b"")


def _canonical_header(name: str) -> str:
    return fold(name).replace(" ", "_")


_HEADER_ALIASES = {
    "thematique": "thematiques", "public": "publics", "modalite": "modalites",
    "specialite": "specialites", "langue": "langues", "site": "site_web", "site_internet": "site_web",
    "cp": "code_postal", "ville": "commune", "tel": "telephone", "mail": "email", "courriel": "email",
    "lat": "latitude", "lon": "longitude", "lng": "longitude", "insee": "code_insee",
    "date_de_mise_a_jour": "date_maj", "mise_a_jour": "date_maj",
}


def map_header(cells: list[str]) -> tuple[list[str], list[Issue]]:
    """Name each header cell by its column (``""`` for a duplicate); raise when one is required."""
    issues: list[Issue] = []
    header: list[str] = []
    for cell in cells:
        key = _canonical_header(cell)
        key = _HEADER_ALIASES.get(key, key)
        if key in header:
            issues.append(Issue(1, cell, cell, "colonne en double : seule la première est lue", WARNING))
            key = ""
        elif key and key not in COLUMNS:
            close = process.extractOne(key, list(COLUMNS), score_cutoff=80)
            hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
            issues.append(Issue(1, cell, cell, f"colonne inconnue, conservée telle quelle{hint}", WARNING))
        header.append(key)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        names = ", ".join(f"« {c} »" for c in missing)
        raise DirectoryError(
            f"ligne 1 : colonne(s) obligatoire(s) absente(s) : {names}. La première ligne doit "
            f"nommer les colonnes ; colonnes attendues : {', '.join(COLUMNS)}."
        )
    absent = [c for c in COLUMNS if c not in header and c not in TOOL_COLUMNS]
    if absent:
        issues.append(Issue(1, None, "", "colonnes absentes, considérées vides : " + ", ".join(absent), WARNING))
    return header, issues


def _in_france(lat: float, lon: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in _FRANCE_BOXES)


class _RowValidator:
    """Validates one raw row; caches referential look-ups, which repeat across rows."""

    def __init__(self, referential: Referential) -> None:
        self.referential = referential
        self._cache: dict[tuple[str, str], str | None] = {}

    def _resolve(self, category: str, value: str) -> str | None:
        key = (category, value)
        if key not in self._cache:
            self._cache[key] = self.referential.resolve(category, value)
        return self._cache[key]

    def validate(self, raw: dict[str, str], line: int) -> tuple[dict, list[Issue]]:
        issues: list[Issue] = []
        record: dict = {c: raw.get(c, "") for c in COLUMNS}
        for extra, value in raw.items():
            if extra and extra not in COLUMNS:
                record[extra] = value

        for column in REQUIRED:
            if not record[column]:
                issues.append(Issue(line, column, "", f"la colonne « {column} » est obligatoire ; remplissez-la"))

        for column, (category, multi) in REFERENTIAL_COLUMNS.items():
            record[column], found = self._referential_cell(category, column, record[column], multi, line)
            issues.extend(found)
        if not record["type"]:
            issues.append(Issue(line, "type", "", "type d'acteur absent : la fiche est « À classer »", WARNING))
            record["type"] = UNCLASSIFIED
        for column in FREE_MULTI_COLUMNS:
            record[column] = tuple(split_cell(record[column]))

        issues.extend(self._check_codes(record, line))
        issues.extend(self._check_position(record, line))
        issues.extend(self._check_contacts(record, line))
        issues.extend(self._check_geocoding(record, line))
        if not any(record[c] for c in PLACE_COLUMNS) and record["nom"]:
            issues.append(Issue(line, "adresse", "", (
                "rien pour placer l'acteur : remplissez l'adresse, le code postal, la commune "
                "ou la latitude et la longitude")))
        record["visibilite"], record[REASON_COLUMN], found = self._visibility(record, raw.get("type", ""), line)
        issues.extend(found)
        record["date_maj"], found = self._parse_date(record["date_maj"], line)
        issues.extend(found)
        fictif = fields.yes_no(record["fictif"])
        if fictif.problem:
            issues.append(Issue(line, "fictif", record["fictif"], fictif.problem, WARNING))
        record["fictif"] = fictif.value == "oui"
        if record["type"] == "professionnel" and not record["profession"]:
            issues.append(Issue(line, "profession", "", "un·e professionnel·le devrait avoir une profession", WARNING))
        if record["type"] == "aller_vers" and not record["zone_intervention"]:
            issues.append(Issue(line, "zone_intervention", "", (
                "une action d'aller-vers devrait indiquer les codes INSEE ou QPV qu'elle couvre"), WARNING))
        return record, issues

    def _visibility(self, record: dict, written_type: str, line: int) -> tuple[str, str, list[Issue]]:
        """``(visibility, reason, issues)``: the cell as written when it says public or membres;
        else the rule of :mod:`reseaux.access`, with a warning when it keeps an « À classer » fiche
        from visitors."""
        written = fields.visibility(record["visibilite"])
        if written.problem:
            return DEFAULT_VISIBILITY, UNREADABLE, [Issue(line, "visibilite", record["visibilite"],
                                                          f"{written.problem} ; la fiche reste réservée aux membres",
                                                          WARNING)]
        if written.value:
            return written.value, WRITTEN, []
        visibility, reason = default_visibility(record, self.referential, written_type)
        if reason == NO_SIGN:
            return visibility, reason, [Issue(line, "visibilite", "", (
                "fiche à classer, rien n'y dit un établissement : elle ne sera pas visible sans connexion ; "
                "donnez-lui un type ou écrivez public dans « visibilite »"), WARNING)]
        return visibility, reason, []

    def _referential_cell(self, category: str, column: str, value: str, multi: bool, line: int):
        issues: list[Issue] = []
        if not value:
            return (() if multi else ""), issues
        if multi:
            parts = split_cell(value)
            if len(parts) == 1 and not self._resolve(category, value):
                # A comma or a slash (« Tout public/Enfants 0-3 ans » in Santé.fr files) splits
                # only when every piece is a known entry: labels may hold both (« IST/VIH »).
                for separator in (",", "/"):
                    pieces = [p.strip() for p in value.split(separator) if p.strip()]
                    if len(pieces) > 1 and all(self._resolve(category, p) for p in pieces):
                        parts = pieces
                        break
        else:
            parts = [value]
        codes: list[str] = []
        for part in parts:
            code = self._resolve(category, part)
            if code is None:
                issues.append(self._unknown(category, column, part, line))
                # Kept as written: the fiche shows it, and no filter code ever equals it. A
                # type must be a referential entry (colour, legend): it becomes « À classer ».
                code = UNCLASSIFIED if category == "type" else part
            if code not in codes:
                codes.append(code)
        return (tuple(codes) if multi else (codes[0] if codes else "")), issues

    def _unknown(self, category: str, column: str, value: str, line: int) -> Issue:
        suggestion = self.referential.suggest(category, value)
        hint = (f" ; vouliez-vous dire « {suggestion} » ?" if suggestion
                else " ; ajoutez-la au référentiel ou recodez-la (page « Qualité de l'annuaire »)")
        kept = "fiche « À classer »" if category == "type" else "valeur gardée telle quelle"
        return Issue(line, column, value, f"« {value} » : {UNKNOWN[category]}, {kept}{hint}", WARNING)

    @staticmethod
    def _check_codes(record: dict, line: int) -> list[Issue]:
        issues = []
        postcode = fields.postcode(record["code_postal"])
        if postcode.problem:
            issues.append(Issue(line, "code_postal", record["code_postal"], postcode.problem, WARNING))
        record["code_postal"] = postcode.value
        insee = fields.insee(record["code_insee"])
        if insee.problem:
            issues.append(Issue(line, "code_insee", record["code_insee"], f"{insee.problem} ; ignoré", WARNING))
        record["code_insee"] = "" if insee.problem else insee.value
        zones = [fields.zone(code) for code in record["zone_intervention"]]
        for code, reading in zip(record["zone_intervention"], zones, strict=True):
            if reading.problem:
                issues.append(Issue(line, "zone_intervention", code, f"{reading.problem} ; ignoré", WARNING))
        record["zone_intervention"] = tuple(r.value for r in zones if not r.problem)
        return issues

    @staticmethod
    def _check_position(record: dict, line: int) -> list[Issue]:
        """Keep a valid position; a bad one is ignored with a warning (the address can place it)."""
        lat_text, lon_text = record["latitude"], record["longitude"]
        record["latitude"] = record["longitude"] = None
        if not lat_text and not lon_text:
            return []
        issues = []
        for column, text in (("latitude", lat_text), ("longitude", lon_text)):
            reading = fields.coordinate(text)
            if reading.problem:
                issues.append(Issue(line, column, text, f"{reading.problem} : position ignorée", WARNING))
        if issues:
            return issues
        lat, lon = fields.decimal(lat_text) if lat_text else None, fields.decimal(lon_text) if lon_text else None
        if lat is None or lon is None:
            missing = "longitude" if lon is None else "latitude"
            return [Issue(line, missing, "", "latitude et longitude vont ensemble : remplissez les deux ou aucune ; "
                          "position ignorée", WARNING)]
        if not _in_france(lat, lon):
            if _in_france(lon, lat):
                record["latitude"], record["longitude"] = lon, lat
                return [Issue(line, "latitude", lat_text,
                              f"latitude {lat_text} et longitude {lon_text} semblent inversées : échangées ; "
                              "corrigez le fichier", WARNING)]
            return [Issue(line, "latitude", lat_text,
                          f"la position ({lat_text}, {lon_text}) est hors de France : position ignorée ; vérifiez-la "
                          "ou videz latitude et longitude pour géocoder l'adresse", WARNING)]
        record["latitude"], record["longitude"] = lat, lon
        return []

    @staticmethod
    def _check_contacts(record: dict, line: int) -> list[Issue]:
        issues = []
        email = fields.email(record["email"])
        if email.problem:
            issues.append(Issue(line, "email", record["email"], f"{email.problem} ; adresse ignorée", WARNING))
        record["email"] = "" if email.problem else email.value
        site = fields.website(record["site_web"])
        if site.problem:
            issues.append(Issue(line, "site_web", record["site_web"], f"{site.problem} ; lien non affiché", WARNING))
        record["site_web"] = "" if site.problem else site.value
        phone = fields.phone(record["telephone"])
        if phone.problem and phone.value != record["telephone"]:  # read again with its lost leading 0
            issues.append(Issue(line, "telephone", record["telephone"], f"{phone.problem} ; corrigez le fichier",
                                WARNING))
        elif phone.problem:
            issues.append(Issue(line, "telephone", record["telephone"], phone.problem, WARNING))
        record["telephone"] = phone.value
        return issues

    @staticmethod
    def _check_geocoding(record: dict, line: int) -> list[Issue]:
        issues = []
        source = record["geocodage_source"].strip().lower()
        if source and source not in GEOCODING_SOURCES:
            issues.append(Issue(line, "geocodage_source", source,
                                f"« {source} » : source inconnue (ban, cache, commune, manuel ou fichier)", WARNING))
        record["geocodage_source"] = source
        score = fields.decimal(record["geocodage_score"]) if record["geocodage_score"] else None
        if record["geocodage_score"] and (score is None or not 0 <= score <= 1):
            issues.append(Issue(line, "geocodage_score", record["geocodage_score"],
                                "le score doit être un nombre entre 0 et 1", WARNING))
            score = None
        record["geocodage_score"] = score
        return issues

    @staticmethod
    def _parse_date(value: str, line: int) -> tuple[str, list[Issue]]:
        reading = fields.update_date(value)
        if reading.problem:
            return value, [Issue(line, "date_maj", value, reading.problem, WARNING)]
        return reading.value, []


def _to_geodataframe(records: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(records)
    if frame.empty:
        frame = pd.DataFrame(columns=[*COLUMNS, "ligne"])
    lat = pd.to_numeric(frame["latitude"], errors="coerce")
    lon = pd.to_numeric(frame["longitude"], errors="coerce")
    frame["latitude"], frame["longitude"] = lat, lon
    placed = lat.notna() & lon.notna()
    geometry = gpd.GeoSeries([None] * len(frame), index=frame.index, crs="EPSG:4326")
    geometry[placed] = gpd.points_from_xy(lon[placed], lat[placed], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
