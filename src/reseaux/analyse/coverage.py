"""« Couverture »: where the network has gaps, perimeter by perimeter.

For each perimeter of a layer: the actors inside, the actors within a distance of its edge
(inside included), the population and actors per 10,000 inhabitants, the distance to the
nearest matching actor, whether an outreach action covers it, and a gap flag when nothing
matches within the distance. Everything is computed in metres in the metric system of the
perimeter's territory (:mod:`reseaux.territoire.metric`: Lambert-93 on the mainland, the official UTM
systems overseas) with shapely's STRtree (one bulk query per measure and territory), so a layer
of 2,644 communes answers in milliseconds. An actor in another territory is only ever « the
nearest », measured on the ellipsoid. The words and classes people read are
:mod:`reseaux.analyse.coverage_report`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from reseaux.annuaire.model import placed_mask, points
from reseaux.territoire.metric import (
    WGS84,
    GeographicCRSError,
    Zone,
    geodesic_m,
    to_zone,
    zone_by_epsg,
    zone_of,
    zones_of,
)

if TYPE_CHECKING:
    from reseaux.analyse.proximity import ProximityIndex

COLUMNS = ["code", "nom", "n_inside", "n_within", "population", "per_10k", "distance_nearest_m", "outreach", "gap"]


@dataclass(frozen=True)
class Part:
    """The perimeters of a layer that lie in one territory, projected in its metric system."""

    zone: Zone
    #: Their positions in :attr:`PreparedLayer.frame`.
    rows: np.ndarray
    frame: gpd.GeoDataFrame
    #: A point inside each perimeter, in WGS84 (lon, lat): where far actors are measured from.
    lon: np.ndarray
    lat: np.ndarray


@dataclass(frozen=True)
class PreparedLayer:
    """A perimeter layer projected once, each perimeter in its territory's system (the app caches
    it); made by :meth:`build`."""

    #: code, nom, population of each perimeter: the table's rows, in the layer's order.
    frame: pd.DataFrame
    #: The geometries, territory by territory.
    parts: tuple[Part, ...] = field(repr=False)

    @classmethod
    def build(cls, layer: gpd.GeoDataFrame) -> PreparedLayer:
        """Split ``layer`` (code, nom, population, geometry; any CRS) by territory and project each part."""
        frame = layer.reset_index(drop=True)
        return cls(pd.DataFrame(frame.drop(columns=frame.geometry.name)), _parts(frame) if len(frame) else ())


def _parts(frame: gpd.GeoDataFrame) -> tuple[Part, ...]:
    """The layer split by territory (the one of each perimeter's inner point), each part projected.

    Raises :class:`GeographicCRSError` naming every perimeter that reaches out of its territory's
    zone: its system would not measure it true.
    """
    wgs84 = frame.geometry.to_crs(WGS84)
    inner = wgs84.representative_point()
    lon, lat = inner.x.to_numpy(dtype=float), inner.y.to_numpy(dtype=float)
    west, south, east, north = wgs84.bounds.to_numpy().T
    epsg = zones_of(lon, lat)
    parts, astride = [], []
    for code in np.unique(epsg):
        rows = np.flatnonzero(epsg == code)
        zone = zone_by_epsg(code) or zone_of(lon[rows[0]], lat[rows[0]])
        inside = zone.contains(west[rows], south[rows]) & zone.contains(east[rows], north[rows])
        astride += [f"« {frame['nom'].iloc[i]} » ({frame['code'].iloc[i]}) hors de {zone.name}" for i in rows[~inside]]
        chosen = frame.iloc[rows]
        projected = chosen if _same_crs(frame.crs, zone.crs) else chosen.to_crs(zone.crs)
        parts.append(Part(zone, rows, projected.reset_index(drop=True), lon[rows], lat[rows]))
    if astride:
        raise GeographicCRSError(
            "périmètres à cheval sur deux territoires, qu'aucun système ne mesure juste : "
            + " ; ".join(astride)
            + ". Découpez-les par territoire dans la couche."
        )
    return tuple(parts)


def _same_crs(crs, other: str) -> bool:
    return crs is not None and crs == other


def actor_points(actors: pd.DataFrame) -> gpd.GeoSeries:
    """The actors' positions in WGS84 (those without a position are left out); :func:`coverage_table`
    projects each into the system of the territory it is measured in."""
    return points(actors)


@dataclass(frozen=True)
class Positions:
    """Actors' positions measured once, labelled by the actors' index: in WGS84, the EPSG code of
    each one's territory, and its coordinates in that territory's system. The page takes them from
    the app's cached proximity index (:meth:`of_index`), so a rerun projects no actor."""

    labels: pd.Index
    lon: np.ndarray
    lat: np.ndarray
    epsg: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, points: gpd.GeoSeries) -> Positions:
        """``points`` in any CRS, none missing (see :func:`actor_points`).

        Raises ``ValueError`` for points without a CRS."""
        if len(points) and points.crs is None:
            raise ValueError("positions des acteurs sans système de coordonnées : impossible de mesurer")
        wgs84 = points.to_crs(WGS84) if len(points) else points
        lon, lat = np.asarray(wgs84.x, dtype=float), np.asarray(wgs84.y, dtype=float)
        epsg = zones_of(lon, lat) if len(points) else np.zeros(0, dtype=int)
        x, y = np.full(len(points), np.nan), np.full(len(points), np.nan)
        for code in np.unique(epsg):
            rows = epsg == code
            if _same_crs(points.crs, f"EPSG:{code}"):  # no round trip: a point on an edge stays on it
                x[rows], y[rows] = np.asarray(points.x, dtype=float)[rows], np.asarray(points.y, dtype=float)[rows]
            else:
                x[rows], y[rows] = to_zone(lon[rows], lat[rows], int(code))
        return cls(points.index, lon, lat, epsg, x, y)

    @classmethod
    def of_index(cls, index: ProximityIndex) -> Positions:
        """The positions a proximity index has already measured (the same systems, by position)."""
        return cls(index.frame.index, index.lon, index.lat, index.epsg, index.x, index.y)

    def of_actors(self, actors: pd.DataFrame) -> Positions:
        """The positions of ``actors`` (those without a position left out), in their order.

        Raises ``ValueError`` if an actor with a position is not among these positions (another
        version of the directory)."""
        wanted = actors.index[placed_mask(actors)]
        rows = self.labels.get_indexer(wanted)
        if (rows < 0).any():
            raise ValueError(
                f"{int((rows < 0).sum())} acteurs placés sans position mesurée : "
                "positions d'une autre version de l'annuaire"
            )
        return Positions(wanted, self.lon[rows], self.lat[rows], self.epsg[rows], self.x[rows], self.y[rows])

    def local(self, part: Part) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The positions of the actors in the part's territory, in its system, :data:`MEASURED_AT_ONCE`
        at a time: their places among these positions, and their shapely points."""
        mine = np.flatnonzero(self.epsg == part.zone.epsg)
        for start in range(0, len(mine), MEASURED_AT_ONCE):
            at = mine[start : start + MEASURED_AT_ONCE]
            yield at, shapely.points(self.x[at], self.y[at])


#: Actors measured at once (their shapely points and the tree of them): the points of a million
#: actors and their tree were 0.3 GB at the top of a server's first coverage. The answer is the same
#: (counts added, the nearest the least of each part's).
MEASURED_AT_ONCE = 100_000


def coverage_table(
    layer: PreparedLayer,
    points: gpd.GeoSeries | Positions,
    *,
    distance_m: float = 1000.0,
    outreach_zones: gpd.GeoSeries | OutreachAreas | None = None,
) -> pd.DataFrame:
    """One row per perimeter with :data:`COLUMNS`.

    ``points`` are the matching actors, in any CRS (see :func:`actor_points`) or already measured
    (:class:`Positions`); ``outreach_zones``
    the areas covered by outreach actions, in any CRS, or as :class:`OutreachAreas` (projected once
    per territory, for the page to keep from one rerun to the next). Raises ``ValueError`` for points without a CRS.
    """
    frame = layer.frame
    n = len(frame)
    given = points if isinstance(points, Positions) else Positions.of(points)
    inside = np.zeros(n, dtype=int)
    within = np.zeros(n, dtype=int)
    nearest = np.full(n, np.nan)
    covered = np.zeros(n, dtype=bool)
    areas = outreach_zones if isinstance(outreach_zones, OutreachAreas) else OutreachAreas(outreach_zones)
    for part in layer.parts:
        tree = part.frame.sindex
        m = len(part.rows)
        shapes = np.asarray(part.frame.geometry.values)
        closest = np.full(m, np.inf)
        for _, coords in given.local(part):
            hits = tree.query(coords, predicate="intersects")  # (point, perimeter) pairs; an edge counts as inside
            inside[part.rows] += np.bincount(hits[1], minlength=m)
            close = tree.query(coords, predicate="dwithin", distance=distance_m)
            within[part.rows] += np.bincount(close[1], minlength=m)
            pairs, distances = STRtree(coords).query_nearest(shapes, return_distance=True, all_matches=False)
            np.minimum.at(closest, pairs[0], distances)
        nearest[part.rows] = np.where(np.isinf(closest), np.nan, closest)
        away = given.epsg != part.zone.epsg
        if away.any():
            far = _far_nearest(part, given.lon[away], given.lat[away], nearest[part.rows])
            nearest[part.rows] = np.fmin(nearest[part.rows], far)
        mine = areas.in_zone(part.zone)
        if len(mine):
            covered[part.rows[np.unique(tree.query(mine, predicate="intersects")[1])]] = True
    return measured(frame, inside, within, nearest, covered)


def measured(
    frame: pd.DataFrame, inside: np.ndarray, within: np.ndarray, nearest: np.ndarray, covered: np.ndarray | None
) -> pd.DataFrame:
    """The table of :data:`COLUMNS` for the perimeters of ``frame`` (code, nom, population) from
    what was measured of each: actors inside, within the distance, metres to the nearest (NaN:
    none), covered by an outreach action (None: not measured, the column left out)."""
    population = frame["population"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_10k = np.where(population > 0, within / population * 10_000, np.nan)
    table = pd.DataFrame(
        {
            "code": frame["code"].to_numpy(),
            "nom": frame["nom"].to_numpy(),
            "n_inside": inside,
            "n_within": within,
            "population": population,
            "per_10k": np.round(per_10k, 2),
            "distance_nearest_m": np.rint(nearest),
            "outreach": covered,
            "gap": within == 0,
        }
    )
    return table[[c for c in COLUMNS if covered is not None or c != "outreach"]]


class OutreachAreas:
    """Areas covered by outreach actions, projected into a territory's system the first time a
    layer of that territory asks, then kept: the page caches this object, so a click reprojects
    nothing."""

    def __init__(self, areas: gpd.GeoSeries | None):
        """``areas`` in any CRS (WGS84 when it has none); None or empty: no area."""
        if areas is None or not len(areas):
            self.wgs84 = gpd.GeoSeries([], crs=WGS84)
        else:
            self.wgs84 = areas.to_crs(WGS84) if areas.crs is not None else gpd.GeoSeries(areas.values, crs=WGS84)
        self._by_epsg: dict[int, np.ndarray] = {}

    def in_zone(self, zone: Zone) -> np.ndarray:
        """The areas that reach into ``zone``, in its system (shapely geometries)."""
        if zone.epsg not in self._by_epsg:
            mine = self.wgs84[self.wgs84.intersects(shapely.box(*zone.bounds))]
            self._by_epsg[zone.epsg] = np.asarray(mine.to_crs(zone.crs).values) if len(mine) else np.empty(0, object)
        return self._by_epsg[zone.epsg]


#: Far actors are first grouped in cells of this many degrees; no actor lies farther than
#: :data:`_CELL_RADIUS` metres from its cell's centre (0.025° × √2 × 111.7 km).
_CELL = 0.05
_CELL_RADIUS = 4_000.0
#: Perimeter × cell distances computed in one call at most (memory: 8 MB a million).
_BATCH = 1_000_000


def _far_nearest(part: Part, lon: np.ndarray, lat: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Metres from each perimeter of ``part`` to the nearest of actors in other territories
    (``lon``, ``lat``), on the ellipsoid; NaN where an actor of its own territory, at ``local``
    metres, is certainly nearer.

    Measured from the perimeter's inner point, not from its outline: the error is at most the
    perimeter's size (a few kilometres for a commune), immaterial at the hundreds or thousands of
    kilometres between two territories. Two vectorised geodesic calls, no projection: perimeters
    to the cells of far actors (the cost follows the area the far actors cover, not their number),
    then to the actors of the cells that can hold the nearest (within twice a cell's radius of the
    best cell, by the triangle inequality).
    """
    keys, cell_of = np.unique(
        np.column_stack([np.round(lon / _CELL), np.round(lat / _CELL)]), axis=0, return_inverse=True
    )
    cell_of = cell_of.ravel()
    n, c = len(part.rows), len(keys)
    to_cells = np.empty((n, c))
    step = max(1, _BATCH // c)
    for start in range(0, n, step):
        rows = slice(start, start + step)
        to_cells[rows] = geodesic_m(part.lon[rows, None], part.lat[rows, None], keys[:, 0] * _CELL, keys[:, 1] * _CELL)
    best = to_cells.min(axis=1)
    open_ = ~(best - _CELL_RADIUS >= local)  # NaN local (no actor of its own territory): open
    perimeter, cell = np.nonzero((to_cells <= best[:, None] + 2 * _CELL_RADIUS + 1) & open_[:, None])
    # Each (perimeter, cell) pair becomes one (perimeter, actor) pair per actor of the cell.
    by_cell = np.argsort(cell_of, kind="stable")
    first = np.searchsorted(cell_of[by_cell], np.arange(c))
    sizes = np.bincount(cell_of, minlength=c)[cell]
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    actor = by_cell[np.repeat(first[cell], sizes) + offsets]
    perimeter = np.repeat(perimeter, sizes)
    out = np.full(n, np.nan)
    np.fmin.at(out, perimeter, geodesic_m(part.lon[perimeter], part.lat[perimeter], lon[actor], lat[actor]))
    return out


def outreach_codes(actors: pd.DataFrame) -> frozenset[str]:
    """The INSEE or QPV codes named by the outreach actions' ``zone_intervention``."""
    outreach = actors[actors["type"] == "aller_vers"]
    return frozenset(code for zone in outreach["zone_intervention"] for code in zone)


def zones_of_codes(codes: frozenset[str]) -> gpd.GeoSeries:
    """The areas of ``codes`` (communes and QPV, anywhere in France), in WGS84: :func:`coverage_table`
    projects those of each territory into its system."""
    from reseaux.territoire.france import zones

    return zones(codes).to_crs(WGS84)


def theme_matrix(
    layer: PreparedLayer,
    actors: pd.DataFrame,
    themes: Sequence[str],
    labels: Mapping[str, str],
    *,
    distance_m: float = 1000.0,
    positions: Positions | None = None,
    holds=None,
) -> pd.DataFrame:
    """Perimeters × themes: the number of actors of each theme within the distance.

    ``positions``: the actors' positions already measured (a superset, see :class:`Positions`),
    else measured here. ``holds(theme)``: which placed actors (in the order of ``actors``) hold
    ``theme``, when ``actors`` does not carry their themes (a directory's index, on PostgreSQL).

    One spatial query for all actors gives the (actor, perimeter) pairs within the distance;
    each theme then only counts its own pairs.
    """
    placed = actors[placed_mask(actors)]
    given = positions.of_actors(actors) if positions is not None else Positions.of(points(placed))
    n = len(layer.frame)
    found: list[tuple[np.ndarray, np.ndarray]] = []  # (actors, perimeters) within the distance, by part
    for part in layer.parts:
        for at, coords in given.local(part):
            hits = part.frame.sindex.query(coords, predicate="dwithin", distance=distance_m)
            found.append((at[hits[0]], part.rows[hits[1]]))
    # Joined once: concatenated at each part, everything gathered so far was copied again.
    pairs = [np.concatenate([f[i] for f in found] or [np.empty(0, dtype=int)]) for i in (0, 1)]
    if holds is None:
        themes_of = placed["thematiques"].to_numpy()

        def holds(theme: str) -> np.ndarray:
            return np.fromiter((theme in t for t in themes_of), dtype=bool, count=len(themes_of))

    columns = {}
    for theme in themes:
        has = holds(theme)
        keep = has[pairs[0]] if len(pairs[0]) else np.zeros(0, dtype=bool)
        columns[labels.get(theme, theme)] = np.bincount(pairs[1][keep], minlength=n)
    return pd.DataFrame(columns, index=layer.frame["nom"].to_numpy())
