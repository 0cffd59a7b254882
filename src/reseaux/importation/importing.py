"""Importing a partner's file: guess the columns, map them, recode, and make directory rows.

Files are read by :mod:`reseaux.importation.reading` (CSV, XLSX, ODS, GeoJSON); profiles (a source's saved
:class:`ImportSpec`) by :mod:`reseaux.importation.profiles`; duplicates found by :mod:`reseaux.importation.duplicates`
and the rows merged into the directory by :mod:`reseaux.importation.import_merge`.

Nothing here writes: the page shows what an import would change, the user decides, and
:mod:`reseaux.annuaire.store` saves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from reseaux.annuaire import columns
from reseaux.text import fold, split_cell

#: Targets that are not directory columns: a house number and a street type (« R », « AV ») put
#: before the street, and national identifiers that give the fiche a stable id
#: (``finess-010001733``) so a re-import finds it. FINESS first: a FINESS géographique is the
#: establishment's own number, a SIRET may be shared by the sites of one employer.
NUMBER = "numero"
STREET_TYPE = "type_voie"
IDENTIFIERS = ("finess", "siret", "rpps")
#: What each identifier looks like once spaces are removed; a placeholder (« AUTRE ») gives no id.
_IDENTIFIER_SHAPES = {
    "finess": re.compile(r"^(\d{9}|2[AB]\d{7})$"),
    "siret": re.compile(r"^\d{14}$"),
    "rpps": re.compile(r"^\d{11}$"),
}
EXTRA_TARGETS = (NUMBER, STREET_TYPE, *IDENTIFIERS)
#: How the import page names the targets that are not columns.
EXTRA_LABELS = {
    NUMBER: "Numéro de voie (devant l'adresse)",
    STREET_TYPE: "Type de voie (devant l'adresse)",
    "finess": "N° FINESS (identifiant de la fiche)",
    "siret": "SIRET (identifiant de la fiche)",
    "rpps": "N° RPPS (identifiant de la fiche)",
}


def target_label(target: str) -> str:
    """What the import page writes for a target: a column's label, an extra target's, « (ne pas importer) »."""
    return (EXTRA_LABELS.get(target) or columns.label(target)) if target else "(ne pas importer)"


#: Street types as the FINESS and the INSEE abbreviate them (« typvoie »), written out; an
#: abbreviation not listed is kept as written.
STREET_TYPES = {
    "all": "allée",
    "av": "avenue",
    "bd": "boulevard",
    "car": "carrefour",
    "che": "chemin",
    "chem": "chemin",
    "chs": "chaussée",
    "cite": "cité",
    "cor": "corniche",
    "crs": "cours",
    "dom": "domaine",
    "esp": "esplanade",
    "fg": "faubourg",
    "gr": "grande rue",
    "ham": "hameau",
    "imp": "impasse",
    "ld": "lieu-dit",
    "lot": "lotissement",
    "mte": "montée",
    "pass": "passage",
    "pl": "place",
    "prom": "promenade",
    "qua": "quartier",
    "quai": "quai",
    "r": "rue",
    "res": "résidence",
    "rpt": "rond-point",
    "rte": "route",
    "sen": "sentier",
    "sq": "square",
    "tra": "traverse",
    "vla": "villa",
    "vlge": "village",
}
#: Day columns of opening hours (« h_lundi », « rdv_mardi »…): joined into ``horaires``, each with its day.
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
#: Headers seen in partners' spreadsheets and in open data, folded, that name no directory column
#: (the columns' own are in :mod:`reseaux.annuaire.columns`): day columns of opening hours, and
#: the targets that are not columns.
IMPORT_HEADERS: dict[str, str] = {
    **{f"h {day}": "horaires" for day in DAYS},
    **{f"horaires {day}": "horaires" for day in DAYS},
    **{f"rdv {day}": "horaires" for day in DAYS},
    "finess": "finess",
    "n finess": "finess",
    "numero finess": "finess",
    "finess et": "finess",
    "fi": "finess",
    "nofinesset": "finess",
    "no finess et": "finess",
    "finessg": "finess",
    "finess g": "finess",
    "finess geographique": "finess",
    "n finess geographique": "finess",
    "finess etablissement": "finess",
    "siret": "siret",
    "n siret": "siret",
    "numero siret": "siret",
    "no siret": "siret",
    "rpps": "rpps",
    "numero": NUMBER,
    "house number": NUMBER,
    "housenumber": NUMBER,
    "adr num": NUMBER,
    "num voie": NUMBER,
    "numero voie": NUMBER,
    "n voie": NUMBER,
    "numvoie": NUMBER,
    "no voie": NUMBER,
    "typvoie": STREET_TYPE,
    "typvoi": STREET_TYPE,
    "typevoie": STREET_TYPE,
    "type voie": STREET_TYPE,
    "type de voie": STREET_TYPE,
}


def header_guesses() -> dict[str, str]:
    """Folded header → what it holds: the directory columns' names and headers, then :data:`IMPORT_HEADERS`."""
    return {**columns.header_names(), **IMPORT_HEADERS}


def close_spellings() -> dict[str, str]:
    """The headers a close spelling is compared with: each column's ``headers`` and, when it is
    ``spelled``, its name; then :data:`IMPORT_HEADERS`. Never one of :data:`NOT_GUESSED`."""
    spellings: dict[str, str] = {}
    for column in columns.columns():
        for header in ((column.name,) if column.spelled else ()) + column.headers:
            if fold(header) not in NOT_GUESSED:
                spellings.setdefault(fold(header), column.name)
    return {**spellings, **IMPORT_HEADERS}


#: Headers never guessed, not even by a close spelling: « public » is free text (« Tout public »),
#: « rdv » a yes/no flag, the others describe the publisher's legal entity, not the place.
NOT_GUESSED = (
    "public",
    "rdv",
    "structure type",
    "structure siren",
    "structure num",
    "structure voie",
    "structure cp",
    "structure insee",
    "structure com",
    "id ej",
    # the FINESS juridique numbers the legal entity, shared by its sites: never the place's id
    "nofinessej",
    "no finess ej",
    "finessj",
    "finess j",
    "finess ej",
    "finess juridique",
    "n finess juridique",
    "siren",
    # the FINESS aggregate category (« Centres Hospitaliers »): the fiche's type is its own category
    "categagretab",
    "libcategagretab",
)
#: Columns that may be guessed from several headers, the first well-formed value counting: an
#: identifier (FINESS « finess » holds the record type, « nofinesset » the number), and the columns
#: where a file may give a code before its label (FINESS « categetab » 355 before « libcategetab »
#: Centre Hospitalier; « commune » 53, its number in the département, before « ligneacheminement »).
SEVERAL_SOURCES = (*IDENTIFIERS, "type", "commune")
#: Shortest header compared by close spelling: « ZONEP » is not « zone » mistyped.
FUZZY_MIN_LENGTH = 6
FILE_SOURCE = "fichier"
_ONE_CELL_ADDRESS = re.compile(r"^(?P<street>.*?)[\s,]+(?P<cp>\d{5})\s+(?P<commune>\D.*)$")
#: A postal line « 01012 BOURG EN BRESSE CEDEX » (FINESS « ligneacheminement ») in the commune cell.
_POSTAL_LINE = re.compile(r"^(?P<cp>\d{5})\s+(?P<commune>\D.*?)(?:\s+CEDEX(?:\s+\d+)?)?$", re.IGNORECASE)
PROFILES_DIR = "imports"


@dataclass
class ImportSpec:
    """How a source becomes directory rows — what the page shows and a profile saves.

    ``mapping``: source header → directory column (or ``numero``, ``type_voie``, ``finess``,
    ``siret``, ``rpps``; ``""`` not imported). ``constants``: column → value given to every row of
    the file (it wins over a mapped column). ``recodings``: column → {value as written → value to
    keep}, compared folded. ``keep``: source headers not imported whose values are kept on the
    fiche anyway, in its description (« catr : 1102 »).
    """

    mapping: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    recodings: dict[str, dict[str, str]] = field(default_factory=dict)
    keep: list[str] = field(default_factory=list)

    def unused(self, header: list[str]) -> list[str]:
        """The headers of ``header`` neither imported nor kept in the description, in file order."""
        return [h for h in header if h.strip() and not self.mapping.get(h) and h not in self.keep]


def targets() -> list[str]:
    """Everything a source column can be mapped to, ``""`` (not imported) first."""
    return ["", *columns.names(), *EXTRA_TARGETS]


def guess_mapping(headers: list[str], *, extra: bool = False) -> dict[str, str]:
    """Guess, for each source header, the directory column it holds (``""``: not imported).

    A column that joins values (description, multi-valued cells) may take several sources; any
    other column takes the first source that names it. ``extra`` allows the targets that are not
    columns (``numero``, ``finess``, ``siret``, ``rpps``): for a caller that offers them.
    """
    mapping: dict[str, str] = {}
    used: set[str] = set()
    joined = {c.name for c in columns.columns() if c.joined}
    for header in headers:
        target = _guess(fold(header))
        if target in EXTRA_TARGETS and not extra:
            target = ""
        if target in used and target not in joined and target not in SEVERAL_SOURCES:
            target = ""
        mapping[header] = target
        if target:
            used.add(target)
    return mapping


def _guess(key: str) -> str:
    allowed = set(targets())
    if key in NOT_GUESSED:
        return ""
    guesses = header_guesses()
    target = guesses.get(key, "")
    if not target and re.match(r"^lib(elle)? ", key):  # « lib_com », « libellé commune », « lib_france_services »
        target = "commune" if re.search(r"\bcom(mune)?\b", key) else "nom"
    if not target and len(key) < FUZZY_MIN_LENGTH and key.endswith("s"):  # « mails », « sites »: a plural
        target = guesses.get(key[:-1], "")
    if not target and len(key) >= FUZZY_MIN_LENGTH:
        spellings = close_spellings()
        best = process.extractOne(key, list(spellings), scorer=fuzz.ratio, score_cutoff=85)
        target = spellings[best[0]] if best else ""
    return target if target in allowed else ""  # « horaires » only once the schema has it


def apply_mapping(rows: list[list[str]], spec: ImportSpec | dict[str, str], existing_ids: set[str]) -> pd.DataFrame:
    """Turn uploaded rows into a directory table; give an id to rows that have none.

    ``spec`` is an :class:`ImportSpec` (or only its mapping). Several sources into one column
    are joined, never overwritten; a house number goes before its street; a one-cell address
    « 12 rue X 76000 Rouen » is split; recodings then constants are applied; a position given by
    the file gets the source ``fichier``.

    Blank rows stay (blank) so that row ``i`` is line ``i + 2`` of the file in every report;
    :func:`drop_blank` removes them before the import is applied.
    """
    if not isinstance(spec, ImportSpec):
        spec = ImportSpec(mapping=dict(spec))
    header = rows[0]
    recodings = {column: {fold(k): v for k, v in table.items()} for column, table in spec.recodings.items()}
    records = []
    taken = set(existing_ids)
    in_file: set[str] = set()
    # each mapped source once: (position, target, day of opening hours or None)
    sources = [
        (i, spec.mapping[source], next((d for d in DAYS if fold(source).endswith(d)), None))
        for i, source in enumerate(header)
        if spec.mapping.get(source, "")
    ]
    kept = [i for i, source in enumerate(header) if source in spec.keep and not spec.mapping.get(source, "")]
    names = columns.names()
    for cells in rows[1:]:
        record = dict.fromkeys(names, "")
        if not any(str(c).strip() for c in cells):
            records.append(record)  # kept blank so row n stays spreadsheet line n + 2
            continue
        extra: dict[str, str] = {}
        for i, target, day in sources:
            if i < len(cells) and str(cells[i]).strip():
                value = str(cells[i]).strip()
                if target == "horaires" and day:
                    value = f"{day} : {value}"
                if target in names:
                    record[target] = _join(target, record[target], value)
                elif not _well_formed(target, extra.get(target, "")):
                    extra[target] = value
        for i in kept:
            if i < len(cells) and str(cells[i]).strip():
                record["description"] = _join(
                    "description", record["description"], f"{header[i]} : {str(cells[i]).strip()}"
                )
        _finish(record, extra, recodings, spec.constants)
        if not record["id"]:
            record["id"] = new_id(record["nom"], taken)
        elif record["id"] in in_file and any(record["id"].startswith(f"{n}-") for n in IDENTIFIERS):
            # several sites of one FINESS entity: each keeps a stable id, in file order
            record["id"] = new_id(record["id"], in_file)
        taken.add(record["id"])
        in_file.add(record["id"])
        records.append(record)
    return pd.DataFrame(records, columns=list(names), dtype=object)


def _join(column: str, old: str, value: str) -> str:
    if not old:
        return value
    if column in SEVERAL_SOURCES:
        return value if old.isdigit() and not value.isdigit() else old  # a code gives way to its label
    declared = columns.column(column)
    if declared is not None and declared.first_wins:
        return old
    separator = (declared.joined if declared is not None else "") or " ; "
    parts = split_cell(old) if separator == "|" else old.split(separator)
    new = split_cell(value) if separator == "|" else [value]
    return separator.join(parts + [p for p in new if p not in parts])


def _finish(
    record: dict[str, str], extra: dict[str, str], recodings: dict[str, dict[str, str]], constants: dict[str, str]
) -> None:
    number = extra.get(NUMBER, "")
    street_type = extra.get(STREET_TYPE, "")
    if street_type and record["adresse"] and not fold(record["adresse"]).startswith(fold(street_type) + " "):
        record["adresse"] = f"{_street_type(street_type, record['adresse'])} {record['adresse']}"
    if number and record["adresse"] and not fold(record["adresse"]).startswith(fold(number)):
        record["adresse"] = f"{number} {record['adresse']}"
    elif number and not record["adresse"]:
        record["adresse"] = number
    found = _ONE_CELL_ADDRESS.match(record["adresse"])
    if found and not record["code_postal"] and not record["commune"]:
        record["adresse"] = found["street"].strip(" ,")
        record["code_postal"], record["commune"] = found["cp"], found["commune"].strip()
    postal = _POSTAL_LINE.match(record["commune"])
    if postal:
        record["commune"] = postal["commune"].strip()
        record["code_postal"] = record["code_postal"] or postal["cp"]
    multi = columns.multi_names()
    for column, table in recodings.items():
        if record.get(column):
            values = split_cell(record[column]) if column in multi else [record[column]]
            recoded = [table.get(fold(v), v) for v in values]
            record[column] = "|".join(dict.fromkeys(r for r in recoded if r))
    for column, value in constants.items():
        if column in record:
            record[column] = value
    if not record["id"]:
        for name in IDENTIFIERS:
            if _well_formed(name, extra.get(name, "")):
                record["id"] = f"{name}-{''.join(extra[name].split()).lower()}"
                break
    if record["latitude"] and record["longitude"] and not record["geocodage_source"]:
        record["geocodage_source"] = FILE_SOURCE


def _well_formed(target: str, value: str) -> bool:
    """Whether ``value`` is an identifier of kind ``target`` (``finess``…); any other target's
    value is well formed when it is not blank."""
    if target not in IDENTIFIERS:
        return bool(value)
    return bool(_IDENTIFIER_SHAPES[target].match(re.sub(r"\s+", "", value).upper()))


def _street_type(abbreviation: str, street: str) -> str:
    """« R » → « rue » (« RUE » before a street written in capitals); an unknown one as written."""
    written = STREET_TYPES.get(fold(abbreviation).replace(" ", ""))
    if not written:
        return abbreviation
    return written.upper() if street.isupper() else written


def drop_blank(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` without its rows of blank cells (column by column: row by row took 55 s at 200,000 rows)."""
    filled = np.zeros(len(table), dtype=bool)
    for column in table.columns:
        filled |= table[column].astype(str).str.strip().ne("").to_numpy(dtype=bool)
    return table[filled].reset_index(drop=True)


def new_id(name: str, taken: set[str]) -> str:
    """An id made of ``name`` (folded, 24 characters at most) that ``taken`` does not hold yet."""
    base = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:24] or "acteur"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
