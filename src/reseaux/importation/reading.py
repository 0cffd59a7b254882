"""Reading an uploaded directory as rows of text cells: CSV, XLSX, ODS and GeoJSON.

Every format comes out the same way — sheets of rows, every cell a stripped string — so column
guessing and mapping (:mod:`reseaux.importation.importing`) never care where a file came from. A workbook
gives all its sheets (:func:`read_sheets`; :mod:`reseaux.importation.workbook` finds the one to import and
its header row); a CSV or a GeoJSON is one sheet without a name.
A GeoJSON FeatureCollection (a map export: uMap, GoGoCarto, QGIS) gives one row per feature, its
properties flattened (``contact.tel``) and its Point as ``latitude`` and ``longitude`` columns.
"""

from __future__ import annotations

import io
import json
import lzma
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from reseaux.annuaire.directory import DirectoryError, read_table
from reseaux.importation.sheet_limits import Deadline, count_elements, declares_entities, ods_extent
from reseaux.text import fr_number

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: A spreadsheet (a zip) may unpack to this much at most: a 10 MB « zip bomb » unpacks to gigabytes.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
#: Rows and columns read from an import (a sheet may declare A1:XFD1048576 and hold one cell).
MAX_ROWS = 200_000
MAX_COLUMNS = 300
#: Cells and rows of each sheet of a workbook, empty styled ones included (counted in its XML before
#: it is read), and shared strings of a workbook. openpyxl reads some 80,000 filled cells a CPU second
#: (63,000 rows × 30 columns: 23.5 s): a million is a dozen seconds, with a progress bar.
MAX_CELLS = 1_000_000
#: Cells of an OpenDocument workbook, all sheets together, as pandas expands them (« repeated » rows
#: and cells included): pandas builds every sheet whole in memory before the first row is read.
MAX_ODS_CELLS = 200_000
#: Seconds a workbook may take to read, all its sheets together, checked between its rows.
READ_SECONDS = 30.0
#: Rows read between two calls of a reader's ``progress``.
PROGRESS_ROWS = 2_000
#: What to do with a workbook too heavy to read here.
AS_CSV = (
    "Enregistrez la feuille utile seule en CSV (dans le tableur : Fichier › Enregistrer sous › CSV), "
    "puis importez ce fichier."
)
#: Columns a GeoJSON Point adds to its feature's properties.
GEOMETRY_COLUMNS = ("latitude", "longitude")


class UploadError(DirectoryError):
    """An upload that cannot be read; the message says why in French."""


T = TypeVar("T")
#: What reading a damaged zip raises: not a zip, a bad CRC (BadZipFile); a garbled stream (zlib,
#: lzma, bz2's OSError); a stream cut short (EOFError); an unknown compression
#: (NotImplementedError); an encrypted part (RuntimeError); a part missing (KeyError).
_DAMAGED_ARCHIVE = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    OSError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    KeyError,
    ValueError,
)


@dataclass
class Sheet:
    """One sheet of an upload: its name (``""`` for a CSV or a GeoJSON) and its rows of text,
    trailing blank rows and empty columns left out (``[]``: an empty sheet)."""

    name: str
    rows: list[list[str]]


def read_upload(name: str, data: bytes, *, progress: Callable[[int, int], None] | None = None) -> list[list[str]]:
    """Rows of cells (``rows[0]`` is the header) of a CSV, GeoJSON, or a workbook's first sheet.

    For a directory import, :func:`reseaux.importation.workbook.find_table` chooses among all the sheets.
    Raises :class:`UploadError` as :func:`read_sheets` does, and when the first sheet is empty.
    """
    first = read_sheets(name, data, progress=progress)[0]
    if not first.rows:
        raise UploadError(f"La première feuille du classeur (« {first.name} ») est vide.")
    return first.rows


def read_sheets(name: str, data: bytes, *, progress: Callable[[int, int], None] | None = None) -> list[Sheet]:
    """Every sheet of a CSV, XLSX, ODS or GeoJSON upload, in the workbook's order.

    ``progress(rows read, rows in the sheet)`` is called while a workbook is read.
    Raises :class:`UploadError` (French) for a file too big, empty, damaged or of another format,
    a sheet beyond :data:`MAX_CELLS` cells or :data:`MAX_ROWS` rows, or a workbook beyond
    :data:`READ_SECONDS` seconds of reading.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"Fichier trop gros ({len(data) // 1024} Ko) : la limite est {MAX_UPLOAD_BYTES // 1024 // 1024} Mo."
        )
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "xlsx":
        sheets = _read_xlsx(data, progress)
    elif suffix == "ods":
        sheets = _read_ods(data)
    elif suffix in ("geojson", "json"):
        sheets = [Sheet("", _read_geojson(data))]
    elif suffix in ("csv", "txt"):
        sheets = [Sheet("", read_table(data)[0])]
    else:
        raise UploadError(
            f"Format « .{suffix} » non pris en charge : importez un fichier .csv, .xlsx, .ods ou .geojson."
        )
    for sheet in sheets:
        sheet.rows = _drop_empty_columns(_drop_trailing_blank(sheet.rows))
        if len(sheet.rows) > MAX_ROWS + 1:
            where = f"La feuille « {sheet.name} » compte " if sheet.name else ""
            raise UploadError(
                f"{where}{len(sheet.rows) - 1:_} lignes : la limite d'un import est {MAX_ROWS:_} "
                "lignes ; coupez le fichier en plusieurs parties.".replace("_", "\u202f")
            )
    if not any(sheet.rows for sheet in sheets):
        raise UploadError(
            "Le fichier est vide." if len(sheets) < 2 else f"Les {len(sheets)} feuilles du classeur sont vides."
        )
    return sheets


def _measure_archive(data: bytes, kind: str, measure: Callable[[zipfile.ZipFile], T]) -> T:
    """``measure(archive)`` of a spreadsheet's zip, once its parts are known to unpack to
    :data:`MAX_UNPACKED_BYTES` at most (read from the archive's directory, before anything is
    unpacked).

    The one place a spreadsheet's archive is opened before it is read: a damaged one — not a zip,
    a garbled deflate stream (``zlib.error``), a compression no reader knows
    (``NotImplementedError``), an encrypted part (``RuntimeError``), a part cut short, a part
    missing — raises :class:`UploadError` in French, never a traceback."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > MAX_UNPACKED_BYTES:
                raise UploadError(
                    f"Classeur {kind} refusé : il se décompresse en {unpacked // 1024 // 1024} Mo "
                    f"(au plus {MAX_UNPACKED_BYTES // 1024 // 1024} Mo). Enregistrez les données "
                    "utiles en CSV."
                )
            return measure(archive)
    except _DAMAGED_ARCHIVE as exc:
        raise UploadError(
            f"Classeur {kind} illisible : archive abîmée ou protégée par un mot de passe ; "
            "enregistrez-le de nouveau depuis le tableur (sans mot de passe), ou en CSV."
        ) from exc


def _entities_refused(kind: str) -> UploadError:
    return UploadError(
        f"Classeur {kind} refusé : son XML déclare des entités (une construction qu'aucun "
        "tableur n'écrit, utilisée pour saturer un serveur ou lire ses fichiers). "
        "Enregistrez les données utiles en CSV."
    )


def _refuse_entities(exc: BaseException, kind: str) -> None:
    """Say so when a spreadsheet was refused for declaring XML entities.

    openpyxl parses through defusedxml (a dependency, see pyproject.toml), which refuses entity
    declarations before expanding any: the « billion laughs » (a few kilobytes that expand to
    gigabytes) and external entities (which would read a server file) never run. An OpenDocument
    workbook is refused before it is read (:func:`_check_ods_extent`)."""
    from defusedxml import DefusedXmlException

    seen = exc
    while seen is not None:
        if isinstance(seen, DefusedXmlException):
            raise _entities_refused(kind) from exc
        seen = seen.__cause__ or seen.__context__


def _drop_trailing_blank(rows: list[list[str]]) -> list[list[str]]:
    while rows and not any(str(c).strip() for c in rows[-1]):
        rows.pop()
    return rows


def _drop_empty_columns(rows: list[list[str]]) -> list[list[str]]:
    """Drop columns with neither header nor value: a CSV whose lines end with the separator."""
    if not rows:
        return rows
    width = max(len(r) for r in rows)
    keep = [i for i in range(width) if any(i < len(r) and str(r[i]).strip() for r in rows)]
    if len(keep) == width:
        return rows
    return [[r[i] if i < len(r) else "" for i in keep] for r in rows]


def _read_xlsx(data: bytes, progress: Callable[[int, int], None] | None = None) -> list[Sheet]:
    """Every worksheet's rows; a sheet whose XML holds more than :data:`MAX_CELLS` cells (or a
    workbook with as many shared strings) is refused before parsing, and the whole reading past
    :data:`READ_SECONDS`."""
    from openpyxl import load_workbook

    counts = _measure_archive(data, "Excel", count_elements)
    if counts.total("si") > MAX_CELLS:  # openpyxl reads them all before the first row
        raise UploadError(
            f"Classeur Excel refusé : il contient {fr_number(counts.total('si'))} textes (au plus "
            f"{fr_number(MAX_CELLS)}). {AS_CSV}"
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        _refuse_entities(exc, "Excel")
        raise UploadError(
            f"Classeur Excel illisible ({type(exc).__name__}) : enregistrez-le de nouveau au format .xlsx ou en CSV."
        ) from exc
    deadline = Deadline(READ_SECONDS)  # one for the workbook: 27 sheets do not get 27 times the time
    sheets: list[Sheet] = []
    try:
        for sheet in book.worksheets:
            part = getattr(sheet, "_worksheet_path", None)  # unknown: the largest sheet counts
            cells, lines = counts.of(part, "c"), counts.of(part, "row")
            if cells + lines > MAX_CELLS:  # each is an XML element to parse: a million empty rows is 22 s
                raise UploadError(
                    f"Classeur Excel refusé : sa feuille « {sheet.title} » compte {fr_number(cells)} "
                    f"cellules sur {fr_number(lines)} lignes, vides mises en forme comprises (au plus "
                    f"{fr_number(MAX_CELLS)} cellules et lignes en tout). {AS_CSV}"
                )
            sheet.reset_dimensions()  # the size the sheet declares may be a lie (A1:XFD1048576): read what is there
            sheets.append(Sheet(str(sheet.title), _sheet_rows(sheet, lines, progress, deadline)))
    except UploadError:
        raise
    except Exception as exc:  # a damaged sheet (a shared string that does not exist…) fails while read
        _refuse_entities(exc, "Excel")
        raise UploadError(
            f"Classeur Excel illisible ({type(exc).__name__}) : enregistrez-le de nouveau au format .xlsx ou en CSV."
        ) from exc
    finally:
        book.close()
    if not sheets:
        raise UploadError("Le classeur ne contient aucune feuille de calcul (seulement des graphiques).")
    return sheets


def _sheet_rows(
    sheet, expected: int, progress: Callable[[int, int], None] | None, deadline: Deadline
) -> list[list[str]]:
    """Rows of a read-only sheet as text, trailing blank rows left out, within :data:`MAX_ROWS`
    rows and the workbook's ``deadline``."""
    rows: list[list[str]] = []
    blanks: list[list[str]] = []  # blank rows kept only when a filled one follows (lines stay aligned)
    for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
        if deadline.passed():
            raise UploadError(
                f"Lecture du classeur arrêtée au bout de {fr_number(READ_SECONDS)} s (feuille "
                f"« {sheet.title} », ligne {fr_number(number)}) : il est trop lourd pour être lu ici. {AS_CSV}"
            )
        if progress and number % PROGRESS_ROWS == 0:
            progress(number, max(expected, number))
        cells = [cell_text(v) for v in row]
        if not any(cells):
            blanks.append(cells if len(blanks) < 1 else blanks[0])  # one list shared by a run of blanks
            continue
        if len(rows) + len(blanks) >= MAX_ROWS + 1:
            raise UploadError(
                f"Feuille « {sheet.title} » : plus de {fr_number(MAX_ROWS)} lignes : la limite d'un import est "
                f"{fr_number(MAX_ROWS)} lignes ; coupez le fichier en plusieurs parties."
            )
        rows.extend(blanks)
        blanks = []
        rows.append(cells)
    return rows


def _read_ods(data: bytes) -> list[Sheet]:
    import pandas as pd

    _check_ods_extent(data)
    try:
        frames = pd.read_excel(io.BytesIO(data), engine="calamine", header=None, dtype=object, sheet_name=None)
    except Exception as exc:  # calamine raises its own errors (and pandas others) for a damaged file
        raise UploadError(
            f"Classeur OpenDocument illisible ({type(exc).__name__}) : enregistrez-le de "
            "nouveau au format .ods, .xlsx ou CSV."
        ) from exc
    return [
        Sheet(str(name), [[cell_text(v) for v in row] for row in frame.itertuples(index=False)])
        for name, frame in frames.items()
    ]


def _check_ods_extent(data: bytes) -> None:
    """Refuse an OpenDocument workbook whose XML declares entities, with a sheet that would expand
    beyond :data:`MAX_ROWS` rows, or sheets beyond :data:`MAX_ODS_CELLS` cells together: one row
    « repeated » a billion times is 1.6 KB on disk."""

    def measure(archive):
        if declares_entities(archive):
            raise _entities_refused("OpenDocument")
        return ods_extent(archive, max_rows=MAX_ROWS + 1, max_cells=MAX_ODS_CELLS)

    extent = _measure_archive(data, "OpenDocument", measure)
    at_least = "" if extent.complete else "au moins "
    if extent.rows > MAX_ROWS + 1:
        raise UploadError(
            f"Classeur OpenDocument refusé : une de ses feuilles compte {at_least}"
            f"{fr_number(extent.rows - 1)} lignes (au plus {fr_number(MAX_ROWS)}). {AS_CSV}"
        )
    if not extent.complete or extent.cells > MAX_ODS_CELLS:
        cells = max(extent.cells, extent.elements)
        raise UploadError(
            f"Classeur OpenDocument refusé : ses feuilles comptent {at_least}{fr_number(cells)} "
            f"cellules (au plus {fr_number(MAX_ODS_CELLS)} dans un classeur .ods). {AS_CSV}"
        )


def _read_geojson(data: bytes) -> list[list[str]]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UploadError(f"GeoJSON illisible ({exc}) : le fichier doit être du JSON en UTF-8.") from exc
    except RecursionError as exc:  # « [[[[… » nested beyond Python's stack: no map export does that
        raise UploadError(
            "GeoJSON refusé : ses valeurs sont imbriquées sur des milliers de niveaux, ce qu'aucune carte n'exporte."
        ) from exc
    features = _features(document)
    records: list[dict[str, str]] = []
    for feature in features:
        if not isinstance(feature, dict):
            continue
        record = flatten(feature.get("properties") or {})
        record.update(_point(feature.get("geometry")))
        records.append(record)
    if not records:
        raise UploadError("Le GeoJSON ne contient aucun objet (« features » vide).")
    header = list(dict.fromkeys(k for r in records for k in r if k not in GEOMETRY_COLUMNS))
    if len(header) > MAX_COLUMNS:
        raise UploadError(
            f"GeoJSON refusé : ses objets ont {len(header):_} propriétés différentes (au plus "
            f"{MAX_COLUMNS}). Exportez seulement les champs utiles.".replace("_", "\u202f")
        )
    header += [c for c in GEOMETRY_COLUMNS if any(c in r for r in records)]
    return [header, *[[r.get(h, "") for h in header] for r in records]]


def _features(document) -> list:
    """The features of a FeatureCollection, of a uMap map (its layers) or of a bare list."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise UploadError("Le GeoJSON doit être une FeatureCollection.")
    if document.get("type") == "Feature":
        return [document]
    if isinstance(document.get("features"), list):
        return document["features"]
    if isinstance(document.get("layers"), list):  # uMap's « umap » export: one collection per layer
        return [f for layer in document["layers"] if isinstance(layer, dict) for f in layer.get("features") or []]
    if isinstance(document.get("data"), list):  # GoGoCarto's API answer
        return [
            {
                "properties": e,
                "geometry": e.get("geo")
                and {"type": "Point", "coordinates": [e["geo"].get("longitude"), e["geo"].get("latitude")]},
            }
            for e in document["data"]
            if isinstance(e, dict)
        ]
    raise UploadError("Le GeoJSON doit être une FeatureCollection (aucune liste « features » trouvée).")


#: Levels of nested properties spread into columns; deeper values stay one cell of JSON text.
MAX_DEPTH = 4


def flatten(value, prefix: str = "", depth: int = 0) -> dict[str, str]:
    """Nested properties as one level: ``{"a": {"b": 1}}`` → ``{"a.b": "1"}``; a list of plain values
    becomes one cell joined with ``|``; below :data:`MAX_DEPTH` levels, a value is one cell (its
    JSON text)."""
    flat: dict[str, str] = {}
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        flat[prefix] = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dict):
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key), depth + 1))
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            flat[prefix] = "|".join(cell_text(v) for v in value if cell_text(v))
        else:
            for i, item in enumerate(value):
                flat.update(flatten(item, f"{prefix}.{i}", depth + 1))
    else:
        flat[prefix] = cell_text(value)
    return flat


def _point(geometry) -> dict[str, str]:
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return {}
    coordinates = geometry.get("coordinates") or []
    if len(coordinates) < 2 or not all(isinstance(c, int | float) for c in coordinates[:2]):
        return {}
    return {"latitude": f"{coordinates[1]:.6f}", "longitude": f"{coordinates[0]:.6f}"}


def cell_text(value) -> str:
    """A cell as text: ``None`` and NaN blank, ``12.0`` as ``12``, dates as ``AAAA-MM-JJ``."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()
