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

from reseaux.filters import ActorFilter
from reseaux.proximity import METRIC_CRS, check_metric_crs
from reseaux.referential import Referential
from reseaux.text import fr_distance, fr_number

COLUMNS = ["code", "nom", "n_inside", "n_within", "population", "per_10k", "distance_nearest_m",
           "outreach", "gap"]


@dataclass(frozen=True)
class Measure:
    """A measure the map can show: its title, its unit (singular, plural) and whether it counts actors."""

    label: str
    unit: str
    units: str
    count: bool = False

    def with_unit(self, value: float, decimals: int = 0) -> str:
        """« 1 acteur », « 24 877 m », « 0,05 acteur pour 10 000 hab. » (French: below 2, singular)."""
        word = self.unit if abs(value) < 2 else self.units
        return f"{fr_number(value, decimals)} {word}"


MEASURES = {
    "n_within": Measure("Acteurs à moins de la distance", "acteur", "acteurs", count=True),
    "n_inside": Measure("Acteurs dans le périmètre", "acteur", "acteurs", count=True),
    "per_10k": Measure("Acteurs pour 10 000 habitants", f"acteur pour {fr_number(10_000)} hab.",
                       f"acteurs pour {fr_number(10_000)} hab."),
    "distance_nearest_m": Measure("Distance à l'acteur le plus proche", "m", "m"),
}


def table_labels(distance_m: float) -> dict[str, str]:
    """French headers of the table (page, CSV and XLSX exports), units included: a downloaded file
    is read away from the page that explains it."""
    return {
        "code": "Code", "nom": "Nom", "n_inside": "Acteurs dans le périmètre",
        "n_within": f"Acteurs à moins de {fr_distance(distance_m)} (dedans compris)",
        "population": "Population (habitants)", "per_10k": "Acteurs pour 10 000 habitants",
        "distance_nearest_m": "Distance à l'acteur le plus proche (m)",
        "outreach": "Couvert par une action d'aller-vers", "gap": "Manque",
    }


def readable_table(table: pd.DataFrame, distance_m: float) -> pd.DataFrame:
    """The table as people read it: French headers, « oui »/« non », numbers left as numbers
    (the page formats them, the exports write them as numbers)."""
    yes_no = {True: "oui", False: "non"}
    return table.assign(outreach=table["outreach"].map(yes_no), gap=table["gap"].map(yes_no),
                        population=table["population"].astype("Int64" if _whole(table["population"]) else float),
                        distance_nearest_m=table["distance_nearest_m"].astype("Int64")
                        ).rename(columns=table_labels(distance_m))


def _whole(values: pd.Series) -> bool:
    finite = values.dropna()
    return bool((finite == finite.round()).all())


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


def outreach_codes(actors: pd.DataFrame) -> frozenset[str]:
    """The INSEE or QPV codes named by the outreach actions' ``zone_intervention``."""
    outreach = actors[actors["type"] == "aller_vers"]
    return frozenset(code for zone in outreach["zone_intervention"] for code in zone)


def zones_of_codes(codes: frozenset[str]) -> gpd.GeoSeries:
    """The areas of ``codes`` (communes and QPV, anywhere in France), in Lambert-93."""
    from reseaux.france import zones

    return zones(codes).to_crs(METRIC_CRS)


def outreach_zones(actors: pd.DataFrame) -> gpd.GeoSeries:
    """The areas named by the outreach actions' ``zone_intervention`` (INSEE or QPV codes), Lambert-93."""
    return zones_of_codes(outreach_codes(actors))


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


def filter_phrase(referential: Referential, flt: ActorFilter) -> str:
    """What the coverage counts, in French, after « aucun acteur »: the values of one facet are
    alternatives (« ou »), the facets all apply (« et »), as :mod:`reseaux.filters` does.

    « de thématique « IVG » ou « Contraception » et de profession « Sage-femme » »; ``""`` when
    nothing is chosen (every actor counts).
    """
    parts = []
    for facet, category, name, names in (("themes", "thematique", "thématique", "thématiques"),
                                         ("professions", "profession", "profession", "professions"),
                                         ("types", "type", "type", "types")):
        values = getattr(flt, facet)
        if values:
            quoted = " ou ".join(f"« {referential.label(category, v)} »" for v in values)
            parts.append(f"de {name} {quoted}")
    if len(parts) > 2:
        return ", ".join(parts[:-1]) + " et " + parts[-1]
    return " et ".join(parts)


def summary_sentence(table: pd.DataFrame, layer_label: str, what: str, distance_m: float) -> str:
    """« QPV 2024 : 3 sur 16 n'ont aucun acteur de thématique « IVG » à moins de 1 km. »

    ``what`` comes from :func:`filter_phrase` (empty: any actor).
    """
    total, gaps = len(table), int(table["gap"].sum())
    subject = f"acteur {what}" if what else "acteur"
    distance = fr_distance(distance_m)
    if total == 0:
        return f"{layer_label} : aucun périmètre dans cette couche."
    if gaps == 0:
        everyone = "le seul périmètre a" if total == 1 else f"les {fr_number(total)} ont"
        return f"{layer_label} : {everyone} au moins un {subject} à moins de {distance}."
    verb = "n'a" if gaps == 1 else "n'ont"
    return f"{layer_label} : {fr_number(gaps)} sur {fr_number(total)} {verb} aucun {subject} à moins de {distance}."


def classes(values: pd.Series, n: int = 5) -> list[float]:
    """Class breaks (quantiles, deduplicated) for the choropleth; the first break is the minimum.

    Counts and metres get whole-number breaks (« 6 à 7 acteurs », not « > 5.2 à 7.2 »). A single
    value gives a single class (``[v, v]``); no value at all, ``[]`` (the legend then shows no class).
    """
    finite = values.replace([np.inf, -np.inf], np.nan).dropna()
    if finite.empty:
        return []
    quantiles = np.quantile(finite, np.linspace(0, 1, n + 1))
    whole = bool((finite == finite.round()).all())
    breaks = sorted({float(b) for b in (np.ceil(quantiles) if whole else quantiles.round(2))})
    return breaks if len(breaks) > 1 else [breaks[0], breaks[0]]
