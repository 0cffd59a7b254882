"""Reading an uploaded directory as rows of text cells: CSV, XLSX, ODS and GeoJSON.

Every format comes out the same way — ``rows[0]`` is the header, every cell a stripped string —
so column guessing and mapping (:mod:`reseaux.importing`) never care where a file came from.
A GeoJSON FeatureCollection (a map export: uMap, GoGoCarto, QGIS) gives one row per feature, its
properties flattened (``contact.tel``) and its Point as ``latitude`` and ``longitude`` columns.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime

from reseaux.directory import DirectoryError, read_table

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: A spreadsheet (a zip) may unpack to this much at most: a 10 MB « zip bomb » unpacks to gigabytes.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
#: Rows and columns read from an import (a sheet may declare A1:XFD1048576 and hold one cell).
MAX_ROWS = 200_000
MAX_COLUMNS = 300
FORMATS = ("csv", "txt", "xlsx", "ods", "geojson", "json")
#: Columns a GeoJSON Point adds to its feature's properties.
GEOMETRY_COLUMNS = ("latitude", "longitude")


class UploadError(DirectoryError):
    """An upload that cannot be read; the message says why in French."""


def read_upload(name: str, data: bytes) -> list[list[str]]:
    """Rows of cells (``rows[0]`` is the header) from a CSV, XLSX, ODS or GeoJSON upload.

    Raises :class:`UploadError` (French) for a file too big, empty, damaged or of another format.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"Fichier trop gros ({len(data) // 1024} Ko) : la limite est "
                           f"{MAX_UPLOAD_BYTES // 1024 // 1024} Mo.")
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "xlsx":
        rows = _read_xlsx(data)
    elif suffix == "ods":
        rows = _read_ods(data)
    elif suffix in ("geojson", "json"):
        rows = _read_geojson(data)
    elif suffix in ("csv", "txt"):
        rows, _, _ = read_table(data)
    else:
        raise UploadError(f"Format « .{suffix} » non pris en charge : importez un fichier "
                           ".csv, .xlsx, .ods ou .geojson.")
    rows = _drop_empty_columns(_drop_trailing_blank(rows))
    if not rows:
        raise UploadError("Le fichier est vide.")
    if len(rows) > MAX_ROWS + 1:
        raise UploadError(f"{len(rows) - 1:_} lignes : la limite d'un import est {MAX_ROWS:_} lignes ; coupez le "
                          "fichier en plusieurs parties.".replace("_", "\u202f"))
    return rows


def _check_archive(data: bytes, kind: str) -> None:
    """Refuse a spreadsheet whose parts unpack beyond :data:`MAX_UNPACKED_BYTES` (read from the
    archive's directory, before anything is unpacked)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise UploadError(f"Classeur {kind} illisible (archive abîmée) : enregistrez-le de nouveau.") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise UploadError(f"Classeur {kind} refusé : il se décompresse en {unpacked // 1024 // 1024} Mo (au plus "
                          f"{MAX_UNPACKED_BYTES // 1024 // 1024} Mo). Enregistrez les données utiles en CSV.")


def _refuse_entities(exc: BaseException, kind: str) -> None:
    """Say so when a spreadsheet was refused for declaring XML entities.

    openpyxl and odfpy parse through defusedxml (a dependency, see requirements.txt), which
    refuses entity declarations before expanding any: the « billion laughs » (a few kilobytes
    that expand to gigabytes) and external entities (which would read a server file) never run.
    No spreadsheet program writes them."""
    from defusedxml import DefusedXmlException

    seen = exc
    while seen is not None:
        if isinstance(seen, DefusedXmlException):
            raise UploadError(f"Classeur {kind} refusé : son XML déclare des entités (une construction qu'aucun "
                              "tableur n'écrit, utilisée pour saturer un serveur ou lire ses fichiers). "
                              "Enregistrez les données utiles en CSV.") from exc
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
    keep = [i for i in range(width)
            if any(i < len(r) and str(r[i]).strip() for r in rows)]
    if len(keep) == width:
        return rows
    return [[r[i] if i < len(r) else "" for i in keep] for r in rows]


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    _check_archive(data, "Excel")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        _refuse_entities(exc, "Excel")
        raise UploadError(f"Classeur Excel illisible ({type(exc).__name__}) : enregistrez-le de nouveau "
                           "au format .xlsx ou en CSV.") from exc
    sheet = book.worksheets[0]
    sheet.reset_dimensions()  # the size the sheet declares may be a lie (A1:XFD1048576): read what is there
    rows = []
    for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
        rows.append([cell_text(v) for v in row])
        if len(rows) > MAX_ROWS + 1:
            break
    book.close()
    if not _drop_trailing_blank(rows):
        raise UploadError("La première feuille du classeur est vide.")
    return rows


def _read_ods(data: bytes) -> list[list[str]]:
    import pandas as pd

    _check_archive(data, "OpenDocument")
    try:
        frame = pd.read_excel(io.BytesIO(data), engine="odf", header=None, dtype=object)
    except ImportError as exc:
        raise UploadError("Lecture des classeurs .ods indisponible (paquet odfpy absent) : "
                           "enregistrez le classeur en .xlsx ou en CSV.") from exc
    except Exception as exc:  # odfpy raises many kinds for a damaged file
        _refuse_entities(exc, "OpenDocument")
        raise UploadError(f"Classeur OpenDocument illisible ({type(exc).__name__}) : enregistrez-le de "
                           "nouveau au format .ods, .xlsx ou CSV.") from exc
    rows = [[cell_text(v) for v in row] for row in frame.itertuples(index=False)]
    if not _drop_trailing_blank(rows):
        raise UploadError("La première feuille du classeur est vide.")
    return rows


def _read_geojson(data: bytes) -> list[list[str]]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UploadError(f"GeoJSON illisible ({exc}) : le fichier doit être du JSON en UTF-8.") from exc
    except RecursionError as exc:  # « [[[[… » nested beyond Python's stack: no map export does that
        raise UploadError("GeoJSON refusé : ses valeurs sont imbriquées sur des milliers de niveaux, ce "
                          "qu'aucune carte n'exporte.") from exc
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
        raise UploadError(f"GeoJSON refusé : ses objets ont {len(header):_} propriétés différentes (au plus "
                          f"{MAX_COLUMNS}). Exportez seulement les champs utiles.".replace("_", "\u202f"))
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
        return [{"properties": e, "geometry": e.get("geo") and {"type": "Point", "coordinates": [
            e["geo"].get("longitude"), e["geo"].get("latitude")]}} for e in document["data"] if isinstance(e, dict)]
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
