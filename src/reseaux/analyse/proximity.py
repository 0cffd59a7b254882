"""« Trouver un partenaire »: the nearest actors to a point, in metres.

The index is the actors' coordinates in the metric system of each one's territory
(:mod:`reseaux.territoire.metric`: Lambert-93 on the mainland, the official UTM systems overseas) in two
NumPy arrays, built once per directory version (the app caches it). A query computes the exact
distance to every candidate of the origin's territory in one vectorised pass (the others, in
another territory, on the ellipsoid) and keeps the k closest within the radius: at 100,000 actors
that is a few milliseconds, with filters applied as a boolean mask and no approximation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from reseaux.analyse.filters import FACETS, ActorFilter, apply_filter, describe, search_text
from reseaux.annuaire import columns
from reseaux.annuaire.fields import valid_email, valid_website
from reseaux.annuaire.listing import cell_text
from reseaux.annuaire.model import coordinates
from reseaux.annuaire.referential import Referential
from reseaux.territoire.layers import LayerSpec
from reseaux.territoire.metric import geodesic_m, sphere_m, to_zone, zone_of, zones_of
from reseaux.text import fr_distance

#: Groups of layers that only give context (communes, EPCI, hospitals): not named in the sentence
#: unless the registry gives the layer an ``article``.
CONTEXT_GROUPS = {"Territoires", "Territoire", "Référence santé"}


@dataclass(frozen=True)
class ProximityIndex:
    """Projected coordinates of the actors that have a position, aligned with ``frame``: each
    actor in the metric system of its own territory (``epsg``), with its WGS84 position."""

    frame: pd.DataFrame
    x: np.ndarray
    y: np.ndarray
    #: The folded text of the free-text filter (:func:`reseaux.analyse.filters.search_text`), aligned with ``frame``.
    text: pd.Series
    #: The EPSG code of the system ``x`` and ``y`` are in, per actor (:func:`reseaux.territoire.metric.zones_of`).
    epsg: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    @classmethod
    def build(cls, actors: pd.DataFrame, text: pd.Series | None = None) -> ProximityIndex:
        """Index the actors that have a position (``latitude``, ``longitude`` in WGS84); ``text`` is
        their searched text when already folded (``Actors.search``, aligned with ``actors``), else it
        is folded here."""
        lon, lat, has_position = coordinates(actors)
        every = bool(has_position.all())
        # Every actor placed (the usual directory): its rows as they are, not a copy of them.
        placed = actors.copy(deep=False) if every else actors[has_position]
        # Numbers projected zone by zone, not geometries: a million actors made two million
        # shapely points (about 0.4 GB) at the first search of a server.
        lon, lat = (lon, lat) if every else (lon[has_position], lat[has_position])
        epsg = zones_of(lon, lat)
        x, y = np.full(len(placed), np.nan), np.full(len(placed), np.nan)
        for code in np.unique(epsg):
            rows = epsg == code
            x[rows], y[rows] = to_zone(lon[rows], lat[rows], int(code))  # its own zone: true there
        if text is not None:
            text = text.copy(deep=False) if every else text.loc[placed.index]
        return cls(placed, x, y, search_text(placed) if text is None else text, epsg, lon, lat)


@dataclass
class SearchResult:
    """The k nearest actors (``actors`` with ``distance_m``, closest first) and what explains them."""

    actors: pd.DataFrame
    sentence: str
    #: When nothing matched: the facet whose removal gives results, and those results.
    blocking: list[str] = field(default_factory=list)
    without_blocking: pd.DataFrame | None = None
    #: When nothing matched within the radius: the partners that match beyond it, closest first
    #: (with their true ``distance_m``), empty when none matches anywhere.
    beyond: pd.DataFrame | None = None
    #: The smallest of the offered radii (metres) that finds someone, and how many it shows (at
    #: most k); None when even the largest finds no one.
    wider_m: float | None = None
    wider_count: int = 0


def _distances(
    index: ProximityIndex, lat: float, lon: float, keep: np.ndarray, k: int, radius_m: float | None
) -> np.ndarray:
    """Metres from (lat, lon) to each kept actor (``inf`` for the others).

    Actors in the origin's territory: in its system. Actors elsewhere (another continent, the
    other side of an ocean): on the ellipsoid, after a spherical pre-filter that only drops those
    certainly beyond the radius or beyond ``k`` closer ones (the sphere is within 0.6 % of the
    ellipsoid: 2 % of slack is safe).
    """
    zone = zone_of(lon, lat)
    x0, y0 = to_zone(lon, lat, zone.epsg)
    distances = np.full(len(index.x), np.inf)
    same = keep & (index.epsg == zone.epsg)
    distances[same] = np.hypot(index.x[same] - x0, index.y[same] - y0)
    away = np.flatnonzero(keep & ~same)
    if len(away):
        rough = sphere_m(lon, lat, index.lon[away], index.lat[away])
        limit = np.inf if radius_m is None else radius_m * 1.02 + 1
        if len(away) > k:
            limit = min(limit, np.partition(rough, k - 1)[k - 1] * 1.02 + 1)
        away = away[rough <= limit]
        distances[away] = geodesic_m(lon, lat, index.lon[away], index.lat[away])
    return distances


def nearest(
    index: ProximityIndex,
    lat: float,
    lon: float,
    *,
    mask: np.ndarray | pd.Series | None = None,
    k: int = 10,
    radius_m: float | None = 10_000.0,
) -> pd.DataFrame:
    """Return the ``k`` actors closest to (lat, lon) within ``radius_m`` (None: no limit).

    Distances are true in every territory: measured in the origin's territory system
    (:func:`reseaux.territoire.metric.zone_of`), on the ellipsoid for actors in another territory.

    ``mask`` (aligned with ``index.frame``) keeps only the matching actors. The result is a
    copy of the rows with a ``distance_m`` column (rounded to the metre), closest first; ties
    are broken by the order of the directory so answers are stable.
    """
    if k <= 0:
        raise ValueError("k doit être positif")
    keep = np.ones(len(index.x), dtype=bool) if mask is None else np.array(mask, dtype=bool)
    distances = _distances(index, lat, lon, keep, k, radius_m)
    keep &= np.isfinite(distances)
    if radius_m is not None:
        # 1 cm of slack: a partner exactly on the circle stays in despite the float round trip
        # through WGS84.
        keep &= distances <= radius_m + 0.01
    candidates = np.flatnonzero(keep)
    if len(candidates) > k:  # every actor as close as the k-th: a tie there is broken by the order too
        kth = np.partition(distances[candidates], k - 1)[k - 1]
        candidates = candidates[distances[candidates] <= kth]
    order = candidates[np.lexsort((candidates, distances[candidates]))][:k]
    out = index.frame.iloc[order].copy()
    out["distance_m"] = np.rint(distances[order]).astype(int)
    return out


#: The ``k`` nearest actors ``flt`` keeps within ``radius_m`` metres (None: no limit) of the point
#: searched from, closest first, with ``distance_m``: asked of the directory in memory
#: (:func:`in_memory`) or of the database (``stockage.readings``).
Ask = Callable[[ActorFilter, int, float | None], pd.DataFrame]


def in_memory(
    index: ProximityIndex,
    lat: float,
    lon: float,
    referential: Referential,
    *,
    actors: pd.DataFrame | None = None,
    **filter_context,
) -> Ask:
    """The nearest to (lat, lon) asked of ``index``, each filter applied once (``filter_context``:
    as :func:`reseaux.analyse.filters.apply_filter`). Given ``actors``, the directory ``index``
    was built of, with its facet index and search text in ``filter_context`` (``Actors.facets``,
    ``Actors.search``), the filters are applied to it through its facet index (at a million
    fiches, the codes of the chosen facets looked up instead of a million rows walked: a search
    on a theme went from 0.43 to 0.12 s) and taken at the index's rows."""
    if actors is None:
        filter_context.setdefault("search", index.text)
        frame, rows = index.frame, None
    else:
        frame, rows = actors, actors.index.get_indexer(index.frame.index)
    masks: dict[ActorFilter, np.ndarray] = {}

    def ask(flt: ActorFilter, k: int, radius_m: float | None) -> pd.DataFrame:
        if flt not in masks:
            mask = apply_filter(frame, flt, referential, **filter_context).mask.to_numpy()
            masks[flt] = mask if rows is None else mask[rows]
        return nearest(index, lat, lon, mask=masks[flt], k=k, radius_m=radius_m)

    return ask


def search(
    index: ProximityIndex,
    lat: float,
    lon: float,
    flt: ActorFilter,
    referential: Referential,
    *,
    k: int = 10,
    radius_m: float = 10_000.0,
    radii_m: Sequence[float] = (),
    beyond: int = 3,
    **filter_context,
) -> SearchResult:
    """Nearest actors matching ``flt``; when none match within ``radius_m``, the way on: the
    ``beyond`` nearest matching partners wherever they are, the smallest of ``radii_m`` (the radii
    a person can choose) that reaches one, and which filter empties the list (:func:`search_with`
    asked of ``index``)."""
    names = filter_context.get("place_names")
    ask = in_memory(index, lat, lon, referential, **filter_context)
    return search_with(ask, flt, referential, k=k, radius_m=radius_m, radii_m=radii_m, beyond=beyond, place_names=names)


def search_with(
    ask: Ask,
    flt: ActorFilter,
    referential: Referential,
    *,
    k: int = 10,
    radius_m: float = 10_000.0,
    radii_m: Sequence[float] = (),
    beyond: int = 3,
    place_names: Mapping[str, str] | None = None,
) -> SearchResult:
    """:func:`search`, each nearest asked of ``ask`` (the directory in memory, or the database)."""
    found = ask(flt, k, radius_m)
    outcome = SearchResult(found, describe(flt, referential, place_names or {}))
    if found.empty:
        _wider(outcome, ask, flt, k, radius_m, radii_m, beyond)
    if found.empty and not flt.is_empty:
        for facet in [*FACETS, "langues", "communes", "epci", "perimeter", "text"]:
            if not getattr(flt, facet):
                continue
            alternative = ask(flt.without(facet), k, radius_m)
            if not alternative.empty:
                outcome.blocking.append(facet)
                if outcome.without_blocking is None:
                    outcome.without_blocking = alternative
    return outcome


def _wider(
    outcome: SearchResult,
    ask: Ask,
    flt: ActorFilter,
    k: int,
    radius_m: float,
    radii_m: Sequence[float],
    beyond: int,
) -> None:
    """Fill ``outcome.beyond`` and the smallest wider radius that finds someone (nothing within
    ``radius_m`` matched)."""
    outcome.beyond = ask(flt, max(1, beyond), None)
    if outcome.beyond.empty:
        return
    closest = float(outcome.beyond["distance_m"].iloc[0])
    for wider in sorted(r for r in radii_m if r > radius_m):
        if wider + 0.5 >= closest:  # distance_m is rounded to the metre
            count = len(ask(flt, k, wider))
            if count:
                outcome.wider_m, outcome.wider_count = wider, count
                return


def containing_perimeters(
    lat: float, lon: float, layers: Mapping[str, gpd.GeoDataFrame], specs: list[LayerSpec]
) -> list[tuple[LayerSpec, str, str]]:
    """(layer, code, name) of every perimeter that holds the point, its edge included (as the filter and
    Couverture count), in registry order."""
    point = Point(lon, lat)
    found = []
    for spec in specs:
        layer = layers.get(spec.id)
        if layer is None or layer.empty or (layer.geom_type == "Point").all():
            continue
        hits = layer.iloc[layer.sindex.query(point, predicate="intersects")] if hasattr(layer, "sindex") else layer
        for row in hits.itertuples():
            found.append((spec, row.code, row.nom))
    return found


def perimeter_sentence(found: list[tuple[LayerSpec, str, str]]) -> str:
    """« Ce point est dans le QPV Les Hauts de Rouen, la CPTS … »: each layer's perimeters named with
    the registry's ``article``, in the order of ``found`` (the registry's), then those of layers
    without an article by their label; layers of context without an article are left out."""
    parts = []
    seen = set()
    for spec, _code, name in sorted(found, key=lambda f: not f[0].article):
        article = spec.article or None
        if (spec.id, name) in seen or (article is None and spec.group in CONTEXT_GROUPS):
            continue
        if article is None:  # a layer added by the network: named by its label
            seen.add((spec.id, name))
            parts.append(f"{spec.label} : {name}")
            continue
        seen.add((spec.id, name))
        determiner, _, acronym = article.partition(" ") if not article.startswith("l'") else ("l'", "", article[2:])
        if acronym and name.split(" ")[0] == acronym:  # « CLS Métropole… » is already named
            article = determiner
        parts.append(f"{article}{name}" if article.endswith("'") else f"{article} {name}")
    if not parts:
        return ""
    return "Ce point est dans " + ", ".join(parts[:-1]) + (" et " if len(parts) > 1 else "") + parts[-1] + "."


def outreach_covering(actors: pd.DataFrame, commune_code: str | None, qpv_codes: set[str]) -> pd.DataFrame:
    """Outreach actions (aller-vers) whose ``zone_intervention`` names the commune or a QPV."""
    codes = set(qpv_codes) | ({commune_code} if commune_code else set())
    if not codes:
        return actors.iloc[0:0]
    outreach = actors[actors["type"] == "aller_vers"]
    # a mask of booleans even when there is no outreach action (an empty mask of objects would pick columns)
    return outreach[outreach["zone_intervention"].map(lambda zone: not codes.isdisjoint(zone)).astype(bool)]


def directions_links(from_lat: float, from_lon: float, to_lat: float, to_lon: float) -> dict[str, str]:
    """Itinerary links (walking on OpenStreetMap, any mode on Google Maps)."""
    return {
        "OpenStreetMap": (
            "https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot"
            f"&route={from_lat:.5f}%2C{from_lon:.5f}%3B{to_lat:.5f}%2C{to_lon:.5f}"
        ),
        "Google Maps": (
            "https://www.google.com/maps/dir/?api=1"
            f"&origin={from_lat:.5f},{from_lon:.5f}&destination={to_lat:.5f},{to_lon:.5f}"
        ),
    }


@dataclass(frozen=True)
class Partner:
    """One result as a professional reads it: plain text (labels, not codes), links ready.

    The list and the map's popups are both drawn from this, so they say the same thing.
    """

    number: int
    name: str
    role: str
    distance: str
    latitude: float
    longitude: float
    structure: str = ""
    address: str = ""
    #: ``(French label, text)`` of the filled columns shown in Trouver, in their order.
    facts: tuple[tuple[str, str], ...] = ()
    phone: str = ""
    #: ``tel:`` link (digits and « + » only), empty without a phone number.
    phone_uri: str = ""
    email: str = ""
    #: Only an http(s) address; anything else is not a link.
    website: str = ""
    #: Placed at the centre of its commune (no precise geocoding).
    approximate: bool = False
    directions: dict[str, str] = field(default_factory=dict)

    def details(self) -> list[tuple[str, str]]:
        """(French label, text) of the filled columns shown in Trouver's results
        (:func:`reseaux.annuaire.columns.shown_in`), in their order."""
        return list(self.facts)


def partners(shown: pd.DataFrame, referential: Referential, origin: tuple[float, float]) -> list[Partner]:
    """The rows of a search result (closest first, with ``distance_m``) as numbered :class:`Partner`."""
    return [
        _partner(number, row._asdict(), referential, origin)
        for number, row in enumerate(shown.itertuples(index=False), start=1)
    ]


def _partner(number: int, row: dict, referential: Referential, origin: tuple[float, float]) -> Partner:
    def text(column: str) -> str:
        value = row.get(column, "")
        if isinstance(value, tuple | list):
            return ", ".join(str(v) for v in value if v)
        return "" if value is None or value != value else str(value).strip()

    shown = [
        (column.label, cell_text(column, row.get(column.name, ""), referential).strip())
        for column in columns.shown_in(columns.TROUVER)
    ]
    role = (
        referential.label("profession", row["profession"])
        if row.get("profession")
        else referential.label("type", row.get("type", ""))
    )
    phone = text("telephone")
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    website = text("site_web")
    return Partner(
        number=number,
        name=text("nom"),
        role=role,
        distance=fr_distance(row.get("distance_m")),
        latitude=float(row["latitude"]),
        longitude=float(row["longitude"]),
        structure=text("structure"),
        address=" ".join(p for p in (text("adresse"), text("code_postal"), text("commune")) if p),
        facts=tuple((label, said) for label, said in shown if said),
        phone=phone,
        phone_uri=f"tel:{digits}" if digits else "",
        email=text("email") if valid_email(text("email")) else "",
        website=website if valid_website(website) else "",
        approximate=row.get("geocodage_source") == "commune",
        directions=directions_links(origin[0], origin[1], float(row["latitude"]), float(row["longitude"])),
    )
