"""Reading a perimeter file someone gave (the layer form, ``python -m reseaux layers add``):
bounded before any reading, and every failure of the GDAL drivers said in French.

A zip is opened by GDAL member by member, unpacked in memory: a 9 MB archive that unpacks to
gigabytes, or holds thousands of members, kept a server busy for minutes before failing with an
English message. Its table of contents (read without unpacking anything) is checked first.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

LOG = logging.getLogger("reseaux")


class LayerError(Exception):
    """One layer cannot be used; the message says why and what to write instead, in French."""


#: A zipped layer may unpack to this much at most (a regional layer of IRIS is tens of MB).
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
#: Members of a zipped layer at most (a shapefile is 4 to 8 files; a few layers side by side).
MAX_MEMBERS = 200
#: Perimeters in one layer at most (the communes of France are 35,000, its IRIS 50,000).
MAX_FEATURES = 100_000

_HOW_TO = (
    "ouvrez-le dans QGIS et exportez-le en GeoJSON ou en GeoPackage, ou zippez ensemble "
    "les fichiers .shp, .shx, .dbf et .prj du shapefile, puis ajoutez-le de nouveau"
)
#: What GDAL says (in English) → what it means for the person, in French.
_KNOWN = (
    (
        re.compile(r"not recognized as (being in )?a supported file format", re.I),
        "format non reconnu (ce n'est ni un GeoJSON, ni un GeoPackage, ni un shapefile)",
    ),
    (re.compile(r"\.shx|\.dbf", re.I), "shapefile incomplet (il manque le .shx ou le .dbf)"),
    # pyogrio's words when GDAL opened the file and found no layer in it (a .shp without its .shx)
    (re.compile(r"out of bounds|no layers", re.I), "aucune couche de contours trouvée dedans"),
    (re.compile(r"decompress|inflate|crc|corrupt", re.I), "archive zip endommagée"),
    (re.compile(r"no such file", re.I), "fichier introuvable"),
    (re.compile(r"json|parse|syntax", re.I), "contenu mal formé"),
)
_PATH = re.compile(r"(?:zip://|/vsizip/)?(?:/[^\s'\":,()]+)+")


def check_archive(path: Path) -> None:
    """Refuse, before GDAL reads it, a zip (a zipped shapefile, or a KMZ: a zipped KML) that is
    damaged, holds too many members, unpacks beyond :data:`MAX_UNPACKED_BYTES` (as its table of
    contents declares) or holds a shapefile without its .shx or .dbf (GDAL then says the format is
    unknown). Other files pass.

    Raises :class:`LayerError` (French), naming the file and what to do."""

    suffix = path.suffix.lower()
    if suffix not in (".zip", ".kmz"):
        return
    again = (
        "exportez-le de nouveau (Google My Maps, Google Earth) en KML ou KMZ"
        if suffix == ".kmz"
        else ("zippez de nouveau les fichiers du shapefile (.shp, .shx, .dbf, .prj)")
    )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        LOG.warning("couche : archive %s illisible : %s", path, exc)
        raise LayerError(f"{path.name} n'est pas une archive zip lisible : {again} et ajoutez-le") from exc
    if len(members) > MAX_MEMBERS:
        raise LayerError(
            f"{path.name} contient {len(members)} fichiers (au plus {MAX_MEMBERS}) : "
            + (
                "exportez seulement la carte"
                if suffix == ".kmz"
                else "zippez seulement les fichiers de la couche (.shp, .shx, .dbf, .prj)"
            )
        )
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise LayerError(
            f"{path.name} se décompresse en {unpacked // 1024 // 1024} Mo (au plus "
            f"{MAX_UNPACKED_BYTES // 1024 // 1024} Mo) : simplifiez les contours ou gardez seulement "
            "les périmètres utiles (QGIS : Vecteur › Géométrie › Simplifier), puis ajoutez-le de nouveau"
        )
    names = {m.filename.lower() for m in members}
    for shp in sorted(n for n in names if n.endswith(".shp")):
        lacking = [shp[:-4] + s for s in (".shx", ".dbf") if shp[:-4] + s not in names]
        if lacking:
            raise LayerError(
                f"{path.name} : le shapefile {Path(shp).name} est incomplet, il manque "
                f"{' et '.join(Path(n).name for n in lacking)} : zippez ensemble les fichiers .shp, "
                ".shx, .dbf et .prj de la couche, puis ajoutez-la de nouveau"
            )


def check_size(path: Path, features: int) -> None:
    """Refuse a layer of more than :data:`MAX_FEATURES` perimeters (``features`` as GDAL counts them;
    negative when it does not know)."""

    if features > MAX_FEATURES:
        raise LayerError(
            f"{path.name} contient {features} périmètres (au plus {MAX_FEATURES}) : "
            "gardez seulement ceux du territoire, puis ajoutez-le de nouveau"
        )


def unreadable(name: str, exc: BaseException):
    """The :class:`LayerError` to raise when GDAL (pyogrio) cannot read the file
    ``name``: what it means in French and what to do, then GDAL's own words without any server path
    (the whole of them go to the server log)."""

    said = str(exc)
    LOG.warning("couche : %s illisible : %s", name, said)
    detail = _PATH.sub(lambda m: Path(m.group(0).removeprefix("zip://")).name, said).strip()
    meaning = next((text for pattern, text in _KNOWN if pattern.search(detail)), "fichier illisible")
    detail = f" (détail technique : {detail[:200]})" if detail else ""
    return LayerError(f"{name} : {meaning} ; {_HOW_TO}{detail}")
