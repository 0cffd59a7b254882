"""What a loaded directory is: its actors, the rows kept aside, and each problem found (:class:`Issue`).

An actor's position is its ``latitude`` and ``longitude`` (WGS84), numbers or both missing: the
directory holds no geometry objects. As shapely points, a million positions took 0.2 GB of a
server's memory (a GEOS point and a Python object each) for what two columns of numbers say; the
spatial work asks :func:`points` for those it needs, built at once by shapely's vectorised
constructor, or works on the numbers themselves (``carte.perimeters.PlacedPoints``; docs/mesures.md,
« Huitième passage »).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pandas.arrays import ArrowStringArray

from reseaux.text import held_text

ERROR = "erreur"
WARNING = "avertissement"


class DirectoryError(Exception):
    """The file cannot be read at all (missing, empty, required columns absent). French text."""


@dataclass(frozen=True)
class Issue:
    """One problem in the directory, located as a spreadsheet shows it."""

    line: int | None
    column: str | None
    value: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"ligne {self.line}")
        if self.column:
            where.append(f"colonne « {self.column} »")
        prefix = ", ".join(where)
        return f"{prefix} : {self.message}" if prefix else self.message


@dataclass(frozen=True)
class RowPrints:
    """The header a directory was read with, and a fingerprint of the cells of each of its
    usable rows, in the order of ``Directory.actors`` (0: a row never taken back)."""

    header: tuple[str, ...]
    prints: np.ndarray  # uint64, one per actor


class PrintIndex:
    """Where each fingerprint of a reading is (:class:`RowPrints`): sorted once, asked by block."""

    def __init__(self, prints: np.ndarray) -> None:
        self.order = np.argsort(prints, kind="stable")
        self.sorted = prints[self.order]

    def positions(self, prints: np.ndarray) -> np.ndarray:
        """For each of ``prints``, the position of a row that had it; -1 where none (and for 0,
        the fingerprint of a row never taken back)."""
        if not len(self.sorted):
            return np.full(len(prints), -1, dtype=np.intp)
        at = np.minimum(np.searchsorted(self.sorted, prints), len(self.sorted) - 1)
        found = (self.sorted[at] == prints) & (prints != 0)
        return np.where(found, self.order[at], -1)


@dataclass
class Directory:
    """A loaded directory: usable actors, rows kept aside, and every issue found."""

    actors: pd.DataFrame
    rejected: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    #: What a later reading of the next version of the file needs to take rows back instead of
    #: validating them again (:func:`reseaux.annuaire.validation.validate_rows`); None for a
    #: directory not read from a file (a view, a table).
    prints: RowPrints | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def placed(self) -> pd.DataFrame:
        """The actors that have a position (those the map can draw)."""
        return self.actors[placed_mask(self.actors)]

    @property
    def n_placed(self) -> int:
        """How many actors have a position (counted, not copied: :attr:`placed` copies the frame)."""
        return int(placed_mask(self.actors).sum())

    @property
    def n_unplaced(self) -> int:
        return len(self.actors) - self.n_placed


def coordinates(actors: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The longitude and the latitude of every row (WGS84 floats, NaN where not known), and which
    rows are placed (both known): the one reading of a position, for every spatial answer."""
    if not len(actors) or "latitude" not in actors:
        return np.full(len(actors), np.nan), np.full(len(actors), np.nan), np.zeros(len(actors), dtype=bool)
    lat, lon = _numbers(actors["latitude"]), _numbers(actors["longitude"])
    return lon, lat, ~(np.isnan(lat) | np.isnan(lon))


def _numbers(values: pd.Series) -> np.ndarray:
    """A column as floats, NaN where not a number. A column of floats (a directory read holds its
    positions so) is not copied, asked several times at each run of a page at a million fiches:
    it is given read-only, a caller that would write in it fails instead of moving fiches."""
    if values.dtype == np.float64:
        held = values.to_numpy().view()
        held.flags.writeable = False
        return held
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def held_by(shape, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The positions (in ``lon`` and ``lat``, WGS84 numbers) of the points in ``shape`` or on its
    edge (a WGS84 shapely geometry): those in its box asked exactly, no shapely point made; NaN
    never is."""
    west, south, east, north = shape.bounds
    boxed = np.flatnonzero((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north))
    return boxed[shapely.intersects_xy(shape, lon[boxed], lat[boxed])]


def placed_mask(actors: pd.DataFrame) -> np.ndarray:
    """Which actors have a position (a latitude and a longitude), one boolean per row."""
    return coordinates(actors)[2]


def points(actors: pd.DataFrame) -> gpd.GeoSeries:
    """The positions of the placed actors as points (WGS84), indexed as their rows; built when asked."""
    lon, lat, placed = coordinates(actors)
    return gpd.GeoSeries(gpd.points_from_xy(lon[placed], lat[placed]), index=actors.index[placed], crs="EPSG:4326")


#: Beyond so many runs of consecutive rows, or chunks in a column, a column taken back is copied
#: whole (:func:`shared_text`): many small slices would slow every reading of the column.
MOST_RUNS = 64
MOST_CHUNKS = 512


def runs_of(source: np.ndarray) -> list[tuple[int, int]] | None:
    """``source`` (positions) as runs of consecutive positions, (first, length) each; None beyond
    :data:`MOST_RUNS`."""
    if not len(source):
        return []
    breaks = np.flatnonzero(np.diff(source) != 1) + 1
    if len(breaks) >= MOST_RUNS:
        return None
    starts = np.concatenate([[0], breaks])
    lengths = np.diff(np.concatenate([starts, [len(source)]]))
    return list(zip(source[starts].tolist(), lengths.tolist(), strict=True))


def shared_text(ours: pd.Series, theirs: pd.Series, runs: list[tuple[int, int]]) -> pd.Series | None:
    """The column of text whose rows are ``runs`` of ``ours`` then ``theirs`` (positions past
    ``ours`` are ``theirs``'), as slices of their Arrow chunks: no text copied. None when the
    column is not Arrow text in both, or would have more than :data:`MOST_CHUNKS` chunks."""
    if not (isinstance(ours.array, ArrowStringArray) and isinstance(theirs.array, ArrowStringArray)):
        return None
    held, added = held_text(ours.array), held_text(theirs.array)
    if ours.dtype != theirs.dtype or held is None or added is None or held.type != added.type:
        return None
    both = pa.chunked_array([*held.chunks, *added.chunks], held.type)
    chunks = [chunk for first, length in runs for chunk in both.slice(first, length).chunks if len(chunk)]
    if len(chunks) > MOST_CHUNKS:
        return None
    return pd.Series(ArrowStringArray(pa.chunked_array(chunks, both.type), dtype=ours.dtype), copy=False)


def none_gone(before_ids: pd.Series, taken: np.ndarray, again_ids: pd.Series) -> bool:
    """Whether each fiche of a previous reading (its identifiers ``before_ids``) is in the next
    one: its row taken back (a position of ``taken``) or read again (its identifier among
    ``again_ids``). Slices of the previous text keep every byte of it, the fiches gone included:
    an erased fiche must not stay in the server's memory, nor in the reading it keeps on its disk
    (:func:`shared_text` is asked only when none is gone)."""
    left = np.ones(len(before_ids), dtype=bool)
    left[np.asarray(taken, dtype=np.intp)] = False
    gone = set(before_ids.iloc[np.flatnonzero(left)].tolist())
    return not gone or gone <= set(again_ids.tolist())
