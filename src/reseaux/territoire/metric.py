"""The metric CRS in which a distance is true, territory by territory.

Lambert-93 is exact on the mainland and in Corsica only: in La Réunion it reads a true kilometre
as 1.87 km. Each French territory has its official projected system (IGN, EPSG): a point, or an
extent, is measured in the system of the territory it lies in, chosen by its position (the
system's area of use), never by a list of départements. Points far apart — in two territories —
are measured on the ellipsoid (:func:`geodesic_m`), not in either projection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pyproj import CRS, Geod, Transformer

#: The mainland's system; also the answer for an empty extent (the app's home territory).
LAMBERT_93 = 2154
WGS84 = "EPSG:4326"
#: The ellipsoid of RGF93 and of the overseas RGAF09, RGFG95, RGR92, RGM04, RGSPM06 frames.
GEOD = Geod(ellps="GRS80")


class GeographicCRSError(ValueError):
    """A distance was asked in a geographic CRS (degrees), or in a projection outside its area
    of use (Lambert-93 in La Réunion): refuse rather than mislead."""


@dataclass(frozen=True)
class Zone:
    """A territory's official metric system and where it applies (lon/lat, WGS84)."""

    name: str
    epsg: int
    #: west, south, east, north in degrees.
    bounds: tuple[float, float, float, float]

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"

    def contains(self, lon, lat):
        """Whether each (lon, lat) lies in the zone (arrays in, booleans out)."""
        west, south, east, north = self.bounds
        return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


# The bounds are each system's EPSG area of use (checked by tests/test_metric.py against pyproj),
# except French Guiana: EPSG gives RGFG95 / UTM 22N « east of 54°W », but IGN uses it for the whole
# territory, whose west bank of the Maroni reaches 54.6°W (scale error there: 0.16 %).
ZONES: tuple[Zone, ...] = (
    Zone("France métropolitaine et Corse", LAMBERT_93, (-9.86, 41.15, 10.38, 51.56)),
    Zone("Guadeloupe, Martinique, Saint-Martin, Saint-Barthélemy", 5490, (-63.66, 14.08, -60.0, 18.31)),
    Zone("Guyane", 2972, (-54.65, 2.11, -49.45, 8.88)),
    Zone("La Réunion", 2975, (54.0, -24.72, 58.24, -18.28)),
    Zone("Mayotte", 4471, (43.68, -14.49, 46.7, -11.33)),
    Zone("Saint-Pierre-et-Miquelon", 4467, (-57.1, 43.41, -55.9, 47.37)),
)


def utm_zone(lon: float, lat: float) -> Zone:
    """The WGS 84 / UTM zone of a point no French system covers (another country, the Pacific)."""
    number = int((lon + 180) // 6) % 60 + 1
    west = -180 + (number - 1) * 6
    north = lat >= 0
    return Zone(
        f"UTM {number}{'N' if north else 'S'}",
        (32600 if north else 32700) + number,
        (west, 0.0 if north else -80.0, west + 6, 84.0 if north else 0.0),
    )


def zone_of(lon: float, lat: float) -> Zone:
    """The zone whose system measures around (lon, lat): a French territory, else its UTM zone.

    Raises ``ValueError`` for a position that is not a number of degrees.
    """
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"position invalide : longitude {lon}, latitude {lat}")
    for zone in ZONES:
        if zone.contains(lon, lat):
            return zone
    return utm_zone(lon, lat)


def zones_of(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The EPSG code of the zone of each point (vectorised :func:`zone_of`)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.zeros(len(lon), dtype=int)
    for zone in ZONES:
        out[(out == 0) & zone.contains(lon, lat)] = zone.epsg
    rest = np.flatnonzero(out == 0)
    if len(rest):  # UTM, as utm_zone says, for all at once (a directory abroad: not one call each)
        x, y = lon[rest], lat[rest]
        wrong = ~(np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90))
        if wrong.any():
            zone_of(x[wrong][0], y[wrong][0])  # raises, saying which
        number = ((x + 180) // 6).astype(int) % 60 + 1
        out[rest] = np.where(y >= 0, 32600, 32700) + number
    return out


@dataclass(frozen=True)
class HeldZone:
    """A zone that holds positions: its name, how many, and their bounds (west, south, east, north)."""

    name: str
    count: int
    bounds: tuple[float, float, float, float]


def zones_held(lon: np.ndarray, lat: np.ndarray) -> list[HeldZone]:
    """The zones the positions lie in, the one that holds the most first (the order of :data:`ZONES`
    between equals): a French territory by its name, another place by its UTM zone."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    epsg = zones_of(lon, lat)
    codes, counts = np.unique(epsg, return_counts=True)
    rank = {z.epsg: i for i, z in enumerate(ZONES)}
    held = []
    for code, count in sorted(
        zip(codes.tolist(), counts.tolist(), strict=True), key=lambda c: (-c[1], rank.get(c[0], 99), c[0])
    ):
        rows = epsg == code
        x, y = lon[rows], lat[rows]
        zone = zone_by_epsg(code) or utm_zone(float(x[0]), float(y[0]))
        name = zone.name if zone.epsg in rank else f"Ailleurs (fuseau {zone.name})"
        held.append(HeldZone(name, count, (float(x.min()), float(y.min()), float(x.max()), float(y.max()))))
    return held


def zone_by_epsg(epsg: int) -> Zone | None:
    return next((z for z in ZONES if z.epsg == epsg), None)


@lru_cache(maxsize=64)
def transformer(source: str, target: str) -> Transformer:
    """The (lon, lat / x, y ordered) transformer between two systems, built once."""
    return Transformer.from_crs(source, target, always_xy=True)


def to_zone(lon, lat, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 positions into the system ``epsg`` (metres)."""
    return transformer(WGS84, f"EPSG:{epsg}").transform(lon, lat)


def geodesic_m(lon0, lat0, lon, lat) -> np.ndarray:
    """Distances in metres on the GRS80 ellipsoid from one point to many, or pair by pair (the four
    arguments are broadcast together, as NumPy does), in one vectorised call."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (lon0, lat0, lon, lat)))
    if not arrays[0].size:
        return np.zeros(arrays[0].shape)
    _, _, dist = GEOD.inv(*(np.ascontiguousarray(a) for a in arrays))
    return np.asarray(dist, dtype=float)


def sphere_m(lon0: float, lat0: float, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Great-circle distances on a sphere of 6,371 km: a cheap pre-filter, within 0.6 % of
    :func:`geodesic_m` (use it to discard, never to answer)."""
    p0, l0 = np.radians(lat0), np.radians(lon0)
    p, lam = np.radians(lat), np.radians(lon)
    h = np.sin((p - p0) / 2) ** 2 + np.cos(p0) * np.cos(p) * np.sin((lam - l0) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def check_metric_crs(crs, bounds: Sequence[float] | None = None) -> None:
    """Raise :class:`GeographicCRSError` if ``crs`` is geographic (distances would be in degrees)
    or, when ``bounds`` (lon/lat) are given, if they lie outside the zone where ``crs`` is true."""
    if crs is None or CRS.from_user_input(crs).is_geographic:
        raise GeographicCRSError(
            f"distance demandée dans un système géographique ({crs}) : projetez dans le "
            "système du territoire (Lambert-93 en métropole, UTM outre-mer)"
        )
    if bounds is None:
        return
    epsg = CRS.from_user_input(crs).to_epsg()
    zone = zone_by_epsg(epsg) if epsg else None
    area = zone.bounds if zone else CRS.from_user_input(crs).area_of_use.bounds
    west, south, east, north = bounds
    if west < area[0] or south < area[1] or east > area[2] or north > area[3]:
        raise GeographicCRSError(f"{crs} ne mesure pas juste hors de sa zone ({area}) : points en {tuple(bounds)}")
