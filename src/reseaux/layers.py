"""The registry of perimeter layers (``geo/layers.toml``) and their loading.

Each layer is declared once; every loaded layer is a GeoDataFrame in WGS84 with the same
columns — ``code``, ``nom``, ``population`` (NaN when unknown) and ``geometry`` — so the map,
the filters and the coverage analysis handle any layer alike.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

STANDARD_COLUMNS = ["code", "nom", "population", "geometry"]
COMMUNES_FILE = "communes_normandie.geojson"
_KINDS = ("file", "table")


class RegistryError(Exception):
    """The layer registry is wrong; the message lists every problem at once, in French."""


@dataclass(frozen=True)
class LayerSpec:
    """One entry of the registry."""

    id: str
    label: str
    group: str
    kind: str
    file: str
    color: str
    source: str
    licence: str
    vintage: str
    id_field: str = "perimetre"
    name_field: str = "perimetre"
    visible: bool = False
    example: bool = False
    dash: bool = False
    population_field: str = ""
    where: dict = field(default_factory=dict)
    table_layer: str = ""
    level: str = ""
    code_field: str = "code"
    #: For table layers: sum the population of member communes (false when the perimeter is
    #: only a proxy drawn with its commune, e.g. a QPV without an open polygon).
    population_from_communes: bool = True

    @property
    def attribution(self) -> str:
        return f"{self.label} : {self.source} — {self.licence} — {self.vintage}"


def load_registry(path: Path) -> list[LayerSpec]:
    """Read the registry at ``path`` and check it, files included.

    Raises :class:`RegistryError` listing every problem (unknown key, missing file, duplicate
    id, unknown kind) so a coordinator fixes them in one go.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"Registre des couches illisible ({path}) : {exc}") from exc
    known = set(LayerSpec.__dataclass_fields__)
    specs: list[LayerSpec] = []
    problems: list[str] = []
    for number, entry in enumerate(raw.get("layer", []), start=1):
        name = entry.get("id", f"n° {number}")
        unknown = set(entry) - known
        if unknown:
            problems.append(f"couche « {name} » : clé(s) inconnue(s) {', '.join(sorted(unknown))}")
            continue
        try:
            spec = LayerSpec(**entry)
        except TypeError as exc:
            problems.append(f"couche « {name} » : clé obligatoire manquante ({exc})")
            continue
        if spec.kind not in _KINDS:
            problems.append(f"couche « {name} » : kind « {spec.kind} » inconnu (file ou table)")
        if not (path.parent / spec.file).exists():
            problems.append(f"couche « {name} » : fichier {path.parent / spec.file} introuvable")
        if spec.id in {s.id for s in specs}:
            problems.append(f"couche « {name} » : identifiant déjà utilisé")
        specs.append(spec)
    if problems:
        raise RegistryError("Registre des couches invalide :\n- " + "\n- ".join(problems))
    return specs


def load_layers(specs: list[LayerSpec], geo_dir: Path) -> dict[str, gpd.GeoDataFrame]:
    """Load every layer of ``specs`` from ``geo_dir``; returns ``{layer id: GeoDataFrame}``."""
    communes = _read_communes(geo_dir)
    return {spec.id: load_layer(spec, geo_dir, communes) for spec in specs}


def load_layer(spec: LayerSpec, geo_dir: Path, communes: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Load one layer as a GeoDataFrame with :data:`STANDARD_COLUMNS`, in EPSG:4326."""
    if spec.kind == "file":
        frame = _load_file_layer(spec, geo_dir)
    else:
        frame = _load_table_layer(spec, geo_dir, communes if communes is not None else _read_communes(geo_dir))
    # A 1e-6° grid (about 10 cm) keeps every shape and halves the size of the map's payload.
    frame["geometry"] = frame.geometry.set_precision(1e-6)
    return frame


def polygonal(shapes: gpd.GeoSeries) -> gpd.GeoSeries:
    """Repair ``shapes`` keeping only their polygonal parts: an invalid polygon made valid may
    become a collection holding lines or points, which no map or area can use. A shape left
    with nothing polygonal becomes empty."""
    fixed = shapely.make_valid(np.asarray(shapes.values))
    out = []
    for shape in fixed:
        if shape is None or shape.geom_type in ("Polygon", "MultiPolygon"):
            out.append(shape)
            continue
        parts = [p for p in shapely.get_parts(shape) if p.geom_type in ("Polygon", "MultiPolygon")]
        out.append(shapely.union_all(parts) if parts else shapely.Polygon())
    return gpd.GeoSeries(out, index=shapes.index, crs=shapes.crs)


# --- private helpers -------------------------------------------------------------------------


def _read_communes(geo_dir: Path) -> gpd.GeoDataFrame:
    communes = gpd.read_file(geo_dir / COMMUNES_FILE)
    return communes.to_crs("EPSG:4326")


def _apply_where(frame: pd.DataFrame, where: dict) -> pd.DataFrame:
    for column, value in where.items():
        if isinstance(value, bool):
            frame = frame[frame[column].astype(str).str.lower() == str(value).lower()]
        else:
            frame = frame[frame[column].astype(str) == str(value)]
    return frame


def _load_file_layer(spec: LayerSpec, geo_dir: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(geo_dir / spec.file)
    frame = _apply_where(frame, spec.where)
    frame = frame.to_crs("EPSG:4326") if frame.crs else frame.set_crs("EPSG:4326")
    population = (
        pd.to_numeric(frame[spec.population_field], errors="coerce")
        if spec.population_field
        else pd.Series(float("nan"), index=frame.index)
    )
    out = gpd.GeoDataFrame(
        {
            "code": frame[spec.id_field].astype(str).str.removesuffix(".0"),
            "nom": frame[spec.name_field].astype(str),
            "population": population.astype(float),
        },
        geometry=frame.geometry.make_valid(),
        crs="EPSG:4326",
    )
    return out.reset_index(drop=True)


def _load_table_layer(spec: LayerSpec, geo_dir: Path, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    table = pd.read_csv(geo_dir / spec.file, dtype=str, keep_default_na=False)
    if spec.table_layer:
        table = table[table["couche"] == spec.table_layer]
    table = _apply_where(table, spec.where)
    level = table["niveau"] if not spec.level else pd.Series(spec.level, index=table.index)
    rows = []
    for (code, name), group in table.groupby([spec.id_field, spec.name_field], sort=False):
        insee = set(group.loc[level[group.index] == "commune", spec.code_field])
        siren = set(group.loc[level[group.index] == "epci", spec.code_field])
        members = communes[communes["code_insee"].isin(insee) | communes["epci_siren"].isin(siren)]
        if members.empty:
            continue
        rows.append(
            {
                "code": code,
                "nom": name,
                "population": float(members["population"].sum()) if spec.population_from_communes else float("nan"),
                "geometry": members.geometry.union_all(),
            }
        )
    frame = gpd.GeoDataFrame(rows, columns=STANDARD_COLUMNS, geometry="geometry", crs="EPSG:4326")
    return frame.reset_index(drop=True)
