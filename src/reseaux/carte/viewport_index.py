"""What is in view, answered by the server: the clusters and pins of a map's viewport at a zoom,
from an index of the actors built once per view (beyond ``RESEAUX_MAP_SERVER_ABOVE`` placed actors,
the page carries no positions: see :func:`reseaux.carte.actor_layer.build_actor_layer`).

The clustering is a grid in the map's own pixels (Web Mercator, 256-pixel tiles): at zoom ``z``
the actors of one square of :data:`CELL_PX` pixels make one cluster, drawn at their mean place,
counted; an actor alone in its square is a pin. The squares of zoom ``z`` are made of four squares
of zoom ``z + 1`` (a cell's index halves from one zoom to the one below), so the levels up to
:data:`PRE_ZOOM` are summed once, each from the one above it, when the index is built; beyond it a
viewport holds few actors, found in the actors sorted by longitude (two binary searches) and
grouped on the spot. Either way an answer costs milliseconds and holds at most a viewport's worth
of squares, whatever the directory's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: A cluster's square, in screen pixels (supercluster's radius in the browser's index is 60 too).
CELL_PX = 60
#: The levels summed when the index is built (0 to this zoom); beyond it, grouped on request.
PRE_ZOOM = 11
#: The deepest zoom of the map's tiles; a cluster there lists its fiche rows (a building's actors).
TOP_ZOOM = 19
#: A request's view may span at most this many squares a side (a 4K screen with its margin: 100).
MAX_CELLS = 160
#: At most this many rows listed in a cluster at :data:`TOP_ZOOM` (the fiche route's limit).
MAX_LEAVES = 500
_MAX_LAT = 85.05112878


def world_xy(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator coordinates in [0, 1] (x eastwards from 180° W, y southwards from 85° N)."""
    x = (np.asarray(lon, dtype="f8") + 180.0) / 360.0
    s = np.sin(np.radians(np.clip(np.asarray(lat, dtype="f8"), -_MAX_LAT, _MAX_LAT)))
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)
    return np.clip(x, 0.0, 1.0), np.clip(y, 0.0, 1.0)


def world_latlon(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`world_xy`: (latitude, longitude) in degrees."""
    lon = np.asarray(x) * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(math.pi * (1 - 2 * np.asarray(y)))))
    return lat, lon


def cells_per_world(zoom: int) -> float:
    """How many squares of :data:`CELL_PX` pixels span the world's width at ``zoom``."""
    return 256.0 * 2.0**zoom / CELL_PX


@dataclass
class _Level:
    """The occupied squares of one zoom, sorted by key: their column and row, count, sums of x and
    y (for the mean place) and one actor of each (the pin of a square that holds one)."""

    cx: np.ndarray
    cy: np.ndarray
    count: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    first: np.ndarray


class ViewportIndex:
    """The actors of one map view (placed ones, in any order), ready to answer viewports.

    ``lat``, ``lon`` in degrees; ``rows`` their fiche rows (what the fiche route is asked); ``colors``
    the index of each one's colour in the layer's palette. Raises ValueError when the arrays differ
    in length. :meth:`subset` makes the index of some of them (a filter's) without sorting again.
    """

    def __init__(self, lat, lon, rows, colors) -> None:
        lat, lon = np.asarray(lat, dtype="f8"), np.asarray(lon, dtype="f8")
        rows, colors = np.asarray(rows, dtype="i8"), np.asarray(colors, dtype="u1")
        if not (len(lat) == len(lon) == len(rows) == len(colors)):
            raise ValueError("ViewportIndex: latitudes, longitudes, lignes et couleurs de longueurs différentes")
        x, y = world_xy(lat, lon)
        order = np.argsort(x)
        self.n = len(order)
        self.x, self.y = x[order], y[order]
        self.lat, self.lon = lat[order], lon[order]
        self.rows, self.colors = rows[order], colors[order]
        scale = cells_per_world(PRE_ZOOM)
        self._pre_key = _key(np.floor(self.x * scale).astype("i8"), np.floor(self.y * scale).astype("i8"))
        self._pre_order = np.argsort(self._pre_key)
        self._slots: np.ndarray | None = None
        self._levels = self._summed()

    def subset(self, rows, colors) -> ViewportIndex:
        """The index of the actors of fiche rows ``rows`` (each in this index) drawn in ``colors``:
        this one's order and squares kept (no sort: a few hundredths of a second at 1,000,000).
        Raises ValueError for a row not in this index."""
        rows, colors = np.asarray(rows, dtype="i8"), np.asarray(colors, dtype="u1")
        if len(rows) != len(colors):
            raise ValueError("ViewportIndex.subset: lignes et couleurs de longueurs différentes")
        where = self._places(rows)
        if (where < 0).any():
            raise ValueError("ViewportIndex.subset: des lignes ne sont pas dans l'index")
        chosen = np.zeros(self.n, dtype=bool)
        chosen[where] = True
        painted = np.zeros(self.n, dtype="u1")
        painted[where] = colors
        part = object.__new__(ViewportIndex)
        if len(where) and chosen.all():
            # Every actor of this index (the map without a filter): its arrays and squares, shared
            # (never written once made), and its own colours — 0.06 GB less at 1,000,000.
            part.__dict__.update(self.__dict__)
            part.colors = painted
            return part
        keep = np.flatnonzero(chosen)
        renumber = np.cumsum(chosen) - 1
        part.n = len(keep)
        part.x, part.y, part.lat, part.lon = self.x[keep], self.y[keep], self.lat[keep], self.lon[keep]
        part.rows, part.colors = self.rows[keep], painted[keep]
        part._pre_key = self._pre_key[keep]
        part._pre_order = renumber[self._pre_order[chosen[self._pre_order]]]
        part._slots = None
        part._levels = part._summed()
        return part

    def _summed(self) -> dict[int, _Level]:
        """The squares of zooms 0 to :data:`PRE_ZOOM`, each from the one above."""
        key = self._pre_key[self._pre_order]
        starts = _starts(key)
        points = self._pre_order
        level = _Level(
            cx=(key[starts] & _LOW).astype("i8") if len(starts) else np.zeros(0, dtype="i8"),
            cy=(key[starts] >> 32) if len(starts) else np.zeros(0, dtype="i8"),
            count=np.diff(np.r_[starts, len(key)]).astype("i8"),
            sx=np.add.reduceat(self.x[points], starts) if len(starts) else np.zeros(0),
            sy=np.add.reduceat(self.y[points], starts) if len(starts) else np.zeros(0),
            first=points[starts],
        )
        levels = {PRE_ZOOM: level}
        for zoom in range(PRE_ZOOM - 1, -1, -1):
            level = _coarser(level)
            levels[zoom] = level
        return levels

    def _places(self, rows: np.ndarray) -> np.ndarray:
        """Where each fiche row of ``rows`` stands in this index (-1: not in it), through a table
        by row number built on the first look-up (rows are a directory's: 0 to its length)."""
        if self._slots is None:
            self._slots = np.full(int(self.rows.max()) + 1 if self.n else 0, -1, dtype="i8")
            self._slots[self.rows] = np.arange(self.n)
        inside = (rows >= 0) & (rows < len(self._slots))
        return np.where(inside, self._slots[np.where(inside, rows, 0)] if len(self._slots) else -1, -1)

    def position(self, row: int) -> tuple[float, float] | None:
        """(latitude, longitude) of fiche row ``row``, or None when it is not in this view."""
        i = int(self._places(np.array([int(row)], dtype="i8"))[0])
        return None if i < 0 else (float(self.lat[i]), float(self.lon[i]))

    def groups(self, bbox: tuple[float, float, float, float], zoom: int) -> dict:
        """What stands in ``bbox`` (west, south, east, north in degrees) at ``zoom``, as the browser
        draws it: ``{"clusters": [[lat, lon, count, rows], …], "pins": [[lat, lon, row, colour], …]}``
        — ``rows`` is ``[]`` except at :data:`TOP_ZOOM` (at most :data:`MAX_LEAVES`).

        Raises ValueError for a bbox that is not one (west > east, south > north, not numbers) or
        spans more than :data:`MAX_CELLS` squares a side at ``zoom``."""
        west, south, east, north = (float(v) for v in bbox)
        if not all(math.isfinite(v) for v in (west, south, east, north)) or west > east or south > north:
            raise ValueError("vue invalide : ouest, sud, est, nord attendus, ouest ≤ est et sud ≤ nord")
        zoom = max(0, min(int(zoom), TOP_ZOOM))
        (x0, x1), (y1, y0) = world_xy(np.array([south, north]), np.array([west, east]))  # y grows southwards
        scale = cells_per_world(zoom)
        c0, c1 = math.floor(x0 * scale), math.floor(x1 * scale)
        r0, r1 = math.floor(y0 * scale), math.floor(y1 * scale)
        if c1 - c0 >= MAX_CELLS or r1 - r0 >= MAX_CELLS:
            raise ValueError(f"vue trop grande pour ce zoom (au plus {MAX_CELLS} carrés de côté)")
        if zoom <= PRE_ZOOM:
            level = self._levels[zoom]
            keep = (level.cx >= c0) & (level.cx <= c1) & (level.cy >= r0) & (level.cy <= r1)
            return self._answer(level, np.flatnonzero(keep), zoom, None)
        lo, hi = np.searchsorted(self.x, [c0 / scale, (c1 + 1) / scale])
        band = np.arange(lo, hi)
        cy = np.floor(self.y[band] * scale)
        inside = band[(cy >= r0) & (cy <= r1)]
        level, members = self._group(inside, zoom, members=True)
        return self._answer(level, np.arange(len(level.count)), zoom, members)

    def _group(self, points: np.ndarray, zoom: int, *, members: bool = False):
        """The squares of ``points`` (indexes into the sorted actors) at ``zoom``; with ``members``,
        also the indexes of each square's actors (a list of arrays)."""
        scale = cells_per_world(zoom)
        cx = np.floor(self.x[points] * scale).astype("i8")
        cy = np.floor(self.y[points] * scale).astype("i8")
        key = _key(cx, cy)
        order = np.argsort(key)
        key = key[order]
        starts = _starts(key)
        sorted_points = points[order]
        level = _Level(
            cx=cx[order][starts],
            cy=cy[order][starts],
            count=np.diff(np.r_[starts, len(key)]).astype("i8"),
            sx=np.add.reduceat(self.x[sorted_points], starts) if len(starts) else np.zeros(0),
            sy=np.add.reduceat(self.y[sorted_points], starts) if len(starts) else np.zeros(0),
            first=sorted_points[starts],
        )
        if not members:
            return level
        return level, np.split(sorted_points, starts[1:])

    def _answer(self, level: _Level, chosen: np.ndarray, zoom: int, members: list | None) -> dict:
        count = level.count[chosen]
        alone = chosen[count == 1]
        grouped = chosen[count > 1]
        pins = [
            [round(a, 6), round(b, 6), r, c]
            for a, b, r, c in zip(
                self.lat[level.first[alone]].tolist(),
                self.lon[level.first[alone]].tolist(),
                self.rows[level.first[alone]].tolist(),
                self.colors[level.first[alone]].tolist(),
                strict=True,
            )
        ]
        lat, lon = world_latlon(level.sx[grouped] / level.count[grouped], level.sy[grouped] / level.count[grouped])
        leaves = (
            [self.rows[members[k][:MAX_LEAVES]].tolist() for k in grouped.tolist()]
            if zoom >= TOP_ZOOM and members is not None
            else [[] for _ in range(len(grouped))]
        )
        clusters = [
            [round(a, 6), round(b, 6), n, rows]
            for a, b, n, rows in zip(lat.tolist(), lon.tolist(), level.count[grouped].tolist(), leaves, strict=True)
        ]
        return {"clusters": clusters, "pins": pins}


_LOW = (1 << 32) - 1


def _key(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """One integer a square (row, then column): sorting on it groups each square's actors."""
    return cy * (1 << 32) + cx


def _starts(key: np.ndarray) -> np.ndarray:
    """Where each run of equal values of sorted ``key`` starts."""
    return np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, dtype="i8")


def _coarser(level: _Level) -> _Level:
    """The squares one zoom below ``level``'s: each made of (up to) four of its own."""
    cx, cy = level.cx >> 1, level.cy >> 1
    key = _key(cx, cy)
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = _starts(key)
    return _Level(
        cx=cx[order][starts],
        cy=cy[order][starts],
        count=np.add.reduceat(level.count[order], starts) if len(starts) else np.zeros(0, dtype="i8"),
        sx=np.add.reduceat(level.sx[order], starts) if len(starts) else np.zeros(0),
        sy=np.add.reduceat(level.sy[order], starts) if len(starts) else np.zeros(0),
        first=level.first[order][starts],
    )
