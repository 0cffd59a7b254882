"""« Couverture »: where the network has gaps, perimeter by perimeter.

For each perimeter of a layer: the actors inside, the actors within a distance of its edge
(inside included), the population and actors per 10,000 inhabitants, the distance to the
nearest matching actor, whether an outreach action covers it, and a gap flag when nothing
matches within the distance. Everything is computed in metres in Lambert-93 with shapely's
STRtree (one bulk query per measure), so a layer of 2,644 communes answers in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from reseaux.proximity import METRIC_CRS, check_metric_crs

COLUMNS = ["code", "nom", "n_inside", "n_within", "population", "per_10k", "distance_nearest_m",
           "outreach", "gap"]
#: French headers of the table (page, CSV and XLSX exports).
LABELS = {
    "code": "Code", "nom": "Nom", "n_inside": "Acteurs dedans", "n_within": "Acteurs à moins de la distance",
    "population": "Population", "per_10k": "Acteurs pour 10 000 hab.",
    "distance_nearest_m": "Distance à l'acteur le plus proche (m)", "outreach": "Couvert par une action d'aller-vers",
    "gap": "Manque",
}
MEASURES = {
    "n_within": "Acteurs à moins de la distance",
    "n_inside": "Acteurs dans le périmètre",
    "per_10k": "Acteurs pour 10 000 habitants",
    "distance_nearest_m": "Distance à l'acteur le plus proche",
}


@dataclass(frozen=True)
class PreparedLayer:
    """A perimeter layer projected to Lambert-93 once (the app caches it)."""

    frame: gpd.GeoDataFrame  # code, nom, population, geometry in EPSG:2154

    @classmethod
    def build(cls, layer: gpd.GeoDataFrame) -> PreparedLayer:
        metric = layer.to_crs(METRIC_CRS).reset_index(drop=True)
        check_metric_crs(metric.crs)
        return cls(metric)


def actor_points(actors: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The actors' positions in Lambert-93 (those without a position are left out)."""
    return actors.geometry[actors.geometry.notna()].to_crs(METRIC_CRS)


def coverage_table(layer: PreparedLayer, points: gpd.GeoSeries, *, distance_m: float = 1000.0,
                   outreach_zones: gpd.GeoSeries | None = None) -> pd.DataFrame:
    """One row per perimeter with :data:`COLUMNS`.

    ``points`` are the matching actors in Lambert-93 (see :func:`actor_points`);
    ``outreach_zones`` the areas covered by outreach actions, in Lambert-93.
    """
    check_metric_crs(points.crs if len(points) else METRIC_CRS)
    frame = layer.frame
    n = len(frame)
    geoms = np.asarray(frame.geometry.values)
    coords = np.asarray(points.values)
    inside = np.zeros(n, dtype=int)
    within = np.zeros(n, dtype=int)
    nearest = np.full(n, np.nan)
    if len(coords):
        tree = frame.sindex
        hits = tree.query(coords, predicate="intersects")  # (point, perimeter) pairs; an edge counts as inside
        inside = np.bincount(hits[1], minlength=n)
        close = tree.query(coords, predicate="dwithin", distance=distance_m)
        within = np.bincount(close[1], minlength=n)
        from shapely import STRtree

        point_tree = STRtree(coords)
        pairs, distances = point_tree.query_nearest(geoms, return_distance=True, all_matches=False)
        nearest[pairs[0]] = np.rint(distances)
    population = frame["population"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_10k = np.where(population > 0, within / population * 10_000, np.nan)
    covered = np.zeros(n, dtype=bool)
    if outreach_zones is not None and len(outreach_zones):
        pairs = frame.sindex.query(np.asarray(outreach_zones.values), predicate="intersects")
        covered[np.unique(pairs[1])] = True
    table = pd.DataFrame({
        "code": frame["code"].to_numpy(), "nom": frame["nom"].to_numpy(),
        "n_inside": inside, "n_within": within, "population": population,
        "per_10k": np.round(per_10k, 2), "distance_nearest_m": nearest,
        "outreach": covered, "gap": within == 0,
    })
    return table[COLUMNS]


def outreach_zones(actors: pd.DataFrame, communes: gpd.GeoDataFrame, qpv: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The areas named by the outreach actions' ``zone_intervention`` (INSEE or QPV codes), Lambert-93."""
    outreach = actors[actors["type"] == "aller_vers"]
    codes = {code for zone in outreach["zone_intervention"] for code in zone}
    shapes = pd.concat([communes[communes["code"].isin(codes)].geometry, qpv[qpv["code"].isin(codes)].geometry])
    return gpd.GeoSeries(shapes.values, crs=communes.crs).to_crs(METRIC_CRS)


def theme_matrix(layer: PreparedLayer, actors: gpd.GeoDataFrame, themes: Sequence[str],
                 labels: Mapping[str, str], *, distance_m: float = 1000.0) -> pd.DataFrame:
    """Perimeters × themes: the number of actors of each theme within the distance.

    One spatial query for all actors gives the (actor, perimeter) pairs within the distance;
    each theme then only counts its own pairs.
    """
    placed = actors[actors.geometry.notna()]
    points = np.asarray(actor_points(actors).values)
    n = len(layer.frame)
    pairs = layer.frame.sindex.query(points, predicate="dwithin", distance=distance_m) if len(points) else \
        np.empty((2, 0), dtype=int)
    themes_of = placed["thematiques"].to_numpy()
    columns = {}
    for theme in themes:
        has = np.fromiter((theme in t for t in themes_of), dtype=bool, count=len(themes_of))
        keep = has[pairs[0]] if len(pairs[0]) else np.zeros(0, dtype=bool)
        columns[labels.get(theme, theme)] = np.bincount(pairs[1][keep], minlength=n)
    return pd.DataFrame(columns, index=layer.frame["nom"].to_numpy())


def summary_sentence(table: pd.DataFrame, layer_label: str, what: str, distance_m: float) -> str:
    """« 3 QPV sur 16 n'ont aucun acteur « IVG » à moins de 1 km. »"""
    gaps = int(table["gap"].sum())
    distance = f"{distance_m / 1000:g} km".replace(".", ",") if distance_m >= 1000 else f"{distance_m:g} m"
    subject = f"acteur {what}" if what else "acteur"
    if gaps == 0:
        return f"Tous les périmètres « {layer_label} » ({len(table)}) ont au moins un {subject} à moins de {distance}."
    verb = "n'a" if gaps == 1 else "n'ont"
    return f"{gaps} « {layer_label} » sur {len(table)} {verb} aucun {subject} à moins de {distance}."


def classes(values: pd.Series, n: int = 5) -> list[float]:
    """Class breaks (quantiles, deduplicated) for the choropleth; the first break is the minimum.

    Counts and metres get whole-number breaks (« > 5 à 7 », not « > 5.2 à 7.2 »).
    """
    finite = values.replace([np.inf, -np.inf], np.nan).dropna()
    if finite.empty:
        return [0.0, 1.0]
    quantiles = np.quantile(finite, np.linspace(0, 1, n + 1))
    whole = bool((finite == finite.round()).all())
    breaks = sorted({float(b) for b in (np.ceil(quantiles) if whole else quantiles.round(2))})
    return breaks if len(breaks) > 1 else [breaks[0], breaks[0] + 1]
