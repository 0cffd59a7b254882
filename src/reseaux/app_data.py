"""Everything the pages read, loaded once: referential, layers, directory, place names.

Plain Python (no Streamlit): the UI module caches :func:`load_territory` and
:func:`load_actors`, tests call them directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import weakref
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, partial
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import pandas as pd

from reseaux import config, memory
from reseaux.analyse.filters import FacetIndex, search_text, search_text_after
from reseaux.annuaire import cache_format, fields
from reseaux.annuaire.decoding import iter_table
from reseaux.annuaire.directory import Directory, load_directory
from reseaux.annuaire.model import coordinates
from reseaux.annuaire.referential import Referential, load_referential
from reseaux.annuaire.validation import TakenBack, validate_changes
from reseaux.territoire import france
from reseaux.territoire.layer_store import layer_store
from reseaux.territoire.layers import LayerSpec
from reseaux.territoire.metric import HeldZone, zones_held
from reseaux.territoire.territory import NetworkTerritory, default_layers
from reseaux.territoire.territory import load as load_network

#: Metropolitan France (min lon, min lat, max lon, max lat): the view when nothing else is known.
FRANCE_BOUNDS = (-5.2, 41.3, 9.6, 51.1)


@dataclass
class Territory:
    """The perimeter layers and what is derived from them."""

    specs: list[LayerSpec]
    layers: dict[str, gpd.GeoDataFrame]
    commune_epci: dict[str, str]
    place_names: dict[str, str]
    home_bounds: tuple[float, float, float, float]
    network: NetworkTerritory | None = None
    #: (layer, reason) of each declared layer left out because it cannot be used.
    broken: list[tuple[str, str]] = field(default_factory=list)
    _geojson: dict[str, dict] = field(default_factory=dict, repr=False)
    _options: dict = field(default_factory=dict, repr=False)
    _bounds: dict = field(default_factory=dict, repr=False)
    _home_areas: gpd.GeoSeries | None = field(default=None, repr=False)

    @property
    def geojson(self) -> dict[str, dict]:
        """Layers as the map draws them, converted on first use and kept (read-only)."""
        if len(self._geojson) < len(self.layers):
            from reseaux.carte.perimeters import display_geojson

            for layer_id, frame in self.layers.items():
                if layer_id not in self._geojson:
                    self._geojson[layer_id] = display_geojson(frame)
        return self._geojson

    @property
    def home_communes(self) -> frozenset[str]:
        """INSEE codes of the network's territory (empty: not restricted)."""
        return self.network.communes if self.network else frozenset()

    @property
    def title(self) -> str:
        return self.network.title if self.network else "Réseau"

    def opening_bounds(self, actors: pd.DataFrame) -> tuple[float, float, float, float]:
        """Where the map opens: the territory, unless most of the directory lies elsewhere (a
        directory of another region opens on its actors, not on an empty territory); then on the
        actors of the territory that holds the most (:meth:`places`): a national directory opens
        on mainland France, not on a world from the Antilles to La Réunion.

        Kept for the frame it was reckoned of, as long as that frame lives (held weakly: a former
        version of the directory is not kept alive for it): the map page asks at every rerun,
        0.3 to 0.4 s at 1,000,000 actors."""
        return self._opening(actors)[0]

    def places(self, actors: pd.DataFrame) -> list[HeldZone]:
        """The territories (mainland France, each overseas one, a UTM zone elsewhere) that hold
        the directory's placed actors, the one that holds the most first: the map's « Aller à »
        when there are two or more. Kept as :meth:`opening_bounds` is."""
        return self._opening(actors)[1]

    def _opening(self, actors: pd.DataFrame) -> tuple[tuple[float, float, float, float], list[HeldZone]]:
        kept = self._bounds.get(id(actors))
        if kept is not None and kept[0]() is actors:
            return kept[1]
        opening = self._opening_of(actors)
        if len(self._bounds) > 8:
            self._bounds.clear()
        self._bounds[id(actors)] = (weakref.ref(actors), opening)
        return opening

    def _opening_of(self, actors: pd.DataFrame) -> tuple[tuple[float, float, float, float], list[HeldZone]]:
        lon, lat, placed = coordinates(actors)
        if not placed.any():
            return self.home_bounds, []
        x, y = lon[placed], lat[placed]
        places = zones_held(x, y)
        minx, miny, maxx, maxy = self.home_bounds
        inside = ((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)).mean()
        if inside >= 0.5:
            return self.home_bounds, places
        x0, y0, x1, y1 = places[0].bounds
        pad = max(0.01, 0.05 * max(x1 - x0, y1 - y0))
        return (x0 - pad, y0 - pad, x1 + pad, y1 + pad), places

    def spec(self, layer_id: str) -> LayerSpec:
        return next(s for s in self.specs if s.id == layer_id)

    def perimeter_geojson(self, key: str) -> dict | None:
        """GeoJSON of the perimeter ``"layer:code"`` (to outline it on the map), None if unknown."""
        layer_id, _, code = key.partition(":")
        frame = self.layers.get(layer_id)
        if frame is None:
            return None
        chosen = frame[frame["code"].astype(str) == code]
        return chosen[["geometry"]].__geo_interface__ if len(chosen) else None

    def perimeter_options(self, layer_ids: list[str], actors: pd.DataFrame | None = None) -> dict[str, str]:
        """``{"layer:code": "Label — nom"}``: the perimeters of ``layer_ids`` that share surface with the
        territory or contain or touch a placed actor of ``actors``, layer after layer (each choice says
        its layer), by name within a layer. Kept per (layers, directory version): the sidebar asks at
        every rerun.

        Read from the layers themselves: read from the place names, a layer « epci » offered the
        1,255 EPCI of France named for the EPCI filter, without its label, most of them absent from
        the layer (no outline, no actor)."""
        memo_key = (tuple(layer_ids), id(actors))
        kept = self._options.get(memo_key)
        if kept is not None and kept[0]() is actors:
            return kept[1]
        from reseaux.carte.perimeters import PlacedPoints, perimeters_in_play

        points = PlacedPoints.of(actors, self.home_points if self.home_areas is not None else None)
        options: dict[str, str] = {}
        for spec in self.specs:
            frame = self.layers.get(spec.id)
            if spec.id not in layer_ids or frame is None:
                continue
            chosen = frame[perimeters_in_play(frame, self.home_areas, points)]
            for code, name in sorted(zip(chosen["code"], chosen["nom"], strict=True), key=lambda c: c[1].casefold()):
                options[f"{spec.id}:{code}"] = f"{spec.label} — {name}"
        if len(self._options) > 4:
            self._options.clear()
        # Held weakly, checked with its key (an id can be another frame's once this one is gone):
        # held as it was, the version a save replaced stayed in every server's memory (0.4 GB at a
        # million fiches, found in a served map after a save: bench_served_map).
        self._options[memo_key] = (weakref.ref(actors) if actors is not None else _no_frame, options)
        return options

    def covering_layer(self, layer_ids: list[str], actors: pd.DataFrame) -> str:
        """The layer « Couverture » opens on: the first of ``layer_ids`` (the territory's own, QPV first
        in the demo) when some placed actor stands in it, else the one whose perimeters hold the most
        actors (the first of them on a tie), else the first. A PACA directory opened on the QPV of
        Rouen: an empty map, every perimeter a gap."""
        from reseaux.carte.perimeters import PlacedPoints, points_held

        if not layer_ids:
            raise ValueError("aucune couche de périmètres")
        points = PlacedPoints.of(actors)
        held = {}
        for layer_id in layer_ids:
            frame = self.layers[layer_id]
            held[layer_id] = points_held(frame, points)
            if layer_id == layer_ids[0] and held[layer_id]:
                return layer_id
        return max(layer_ids, key=lambda i: held[i])  # max keeps the first of equals

    @property
    def home_areas(self) -> gpd.GeoSeries | None:
        """Outlines of the territory's communes (None: no territory, the whole of France), read once."""
        if not self.home_communes:
            return None
        if self._home_areas is None:
            self._home_areas = (
                france.outlines_of(self.home_communes).geometry.to_crs("EPSG:4326").reset_index(drop=True)
            )
        return self._home_areas

    @property
    def home_points(self) -> gpd.GeoSeries:
        """An inner point of each commune of the territory (the national table's), in WGS84."""
        table = france.communes()
        chosen = table[table["code_insee"].isin(self.home_communes)]
        return gpd.GeoSeries(
            gpd.points_from_xy(pd.to_numeric(chosen["point_lon"]), pd.to_numeric(chosen["point_lat"])), crs="EPSG:4326"
        )


@dataclass
class Actors:
    directory: Directory
    search: pd.Series
    _facets: FacetIndex | None = None
    #: Fiches of the whole directory this view leaves out (members-only, for a visitor): said beside the count.
    reserved: int = 0

    @property
    def facets(self) -> FacetIndex:
        """Masks per referential code, built once per loaded version (fast filter changes)."""
        if self._facets is None:
            self._facets = FacetIndex.build(self.directory.actors)
        return self._facets


def load_territory(
    layers_path: Path | None = None, geo_dir: Path | None = None, network: NetworkTerritory | None = None
) -> Territory:
    """Load the registry and every layer; raise RegistryError with every problem at once.

    The territory file (:mod:`reseaux.territoire.territory`) names the registry and the home view;
    ``RESEAUX_LAYERS`` overrides its registry. Communes and EPCI are named from the national
    reference data, wherever the actors are."""
    network = network or load_network()
    layers_path = layers_path or registry_path(network)
    geo_dir = geo_dir or config.path("geo_dir")
    broken: list[tuple[str, str]] = []
    if layers_path:
        specs, layers, broken = layer_store(layers_path, geo_dir).load()
    else:  # no registry: the territory's communes, EPCI and QPV from the national data
        specs, layers = default_layers(network)
    communes = france.communes()
    names: dict[str, str] = {}
    names.update({f"commune:{c}": n for c, n in zip(communes["code_insee"], communes["nom"], strict=True)})
    names.update({f"epci:{c}": n for c, n in france.names("epci").items()})
    for spec in specs:
        frame = layers[spec.id]
        names.update(
            {f"{spec.id}:{c}": f"{spec.label} — {n}" for c, n in zip(frame["code"], frame["nom"], strict=True)}
        )
    bounds = network.bounds()
    if bounds is None:
        drawn = [layers[s.id] for s in specs if len(layers[s.id])]
        bounds = tuple(pd.concat(drawn).total_bounds) if drawn else FRANCE_BOUNDS
    return Territory(
        specs=specs,
        layers=layers,
        commune_epci=dict(zip(communes["code_insee"], communes["epci_siren"], strict=True)),
        place_names=names,
        home_bounds=tuple(float(b) for b in bounds),
        network=network,
        broken=broken,
    )


def _no_frame() -> None:
    """The weak reference of « no directory » (:meth:`Territory.perimeter_options` without actors)."""
    return None


def registry_path(network: NetworkTerritory) -> Path | None:
    """The layer registry in use: ``RESEAUX_LAYERS`` when set, else the territory file's."""
    return config.path("layers") if os.environ.get(config.SETTINGS["layers"].env) else network.registry


def load_referential_file(path: Path | None = None) -> Referential:
    return load_referential(path or config.path("referential"))


def load_actors(path: Path | None, referential: Referential, *, database=None) -> Actors:
    """Load and validate the directory; raises DirectoryError when it cannot be read at all.

    ``database`` (:class:`reseaux.stockage.DatabaseDirectory`) reads the directory as a database
    keeps it, instead of the file at ``path``: the whole version as a CSV file parsed as a file,
    or, for a server that read the version before, only the rows a save wrote since. The file
    is read a block at a time, never held whole (0.2 GB at a million fiches). The parsed
    directory is kept beside the geocoding cache, keyed by the hash of the file (or by the
    database's version), of the referential and of the code that reads them, and by the day: a
    cold start on an unchanged file reads it back instead of validating every row again (100,000
    rows: 0.3 s instead of 5 s). A date in the future is not one the next day: a new day reads the
    file from the day before's reading, validating again the rows with a warning on a date
    (:func:`validate_rows`)."""
    with memory.reading():
        if database is not None:
            return _load_stored(database, referential)
        return _load_actors(path, referential)


def _load_actors(path: Path | None, referential: Referential) -> Actors:
    path = path or config.path("actors")
    last = (str(path), _directory_key("", referential))  # the file, and the code and referential that read it
    previous = _LAST_READ.get(last)  # the version this process read last, and its text
    day = fields.today()  # a reading depends on it (« date dans le futur »): kept per day
    try:
        file = open(path, "rb")  # noqa: SIM115 — closed below, once parsed
    except OSError:
        file = None  # load_directory says why, in French
    with file or contextlib.nullcontext():
        digest = _digest(file) if file else ""
        unchanged = _directory_key(digest, referential) if file else ""
        key = _dated(unchanged, day) if file else ""
        cached = _cached_directory(key) if key else None
        if cached is not None:
            return _remembered(last, cached, None)
        if previous is None and file:  # started today: this file's reading of a day before, if kept
            previous = _kept_before(unchanged, day)
        directory = load_directory(file or path, referential, previous[0] if previous else None)
    return _read(directory, previous, partial(_file_is, path, digest), last, None, key)


def _load_stored(database, referential: Referential) -> Actors:
    """:func:`load_actors` of the database's directory: as its changes since the version this
    process read last; else from the parse cache, asked by the version before anything is read
    (a server starting on a version another read, or that it read before a restart); else whole."""
    last = ("base", _directory_key("", referential))
    previous = _LAST_READ.get(last)
    day = fields.today()
    if previous is not None and previous[2] is not None:
        changed = _read_changes(previous, referential, database)
        if changed is not None:
            directory, mark = changed
            still = partial(_version_is, str(mark.version))
            return _read(directory, previous, still, last, mark, _version_key(mark, referential, day))
    current = database.mark(with_keys=False)  # the version alone: is its reading kept already?
    cached = _cached_directory(_version_key(current, referential, day))
    if cached is not None:
        mark = database.mark()  # its row keys too, to read the next version as its changes
        if (mark.version, mark.identity) == (current.version, current.identity):
            return _remembered(last, cached, mark)
        previous = previous or (*cached, None)  # saved meanwhile: its rows are taken back
    file, version, mark = database.whole()  # maybe a newer version than ``mark``'s: saved between
    with file:
        unchanged = _version_unchanged(mark, referential)
        cached = _cached_directory(_dated(unchanged, day))
        if cached is not None:
            return _remembered(last, cached, mark)
        if previous is None:  # started today: this version's reading of a day before, if kept
            previous = _kept_before(unchanged, day)
        directory = load_directory(file, referential, previous[0] if previous else None)
    return _read(directory, previous, partial(_version_is, version), last, mark, _dated(unchanged, day))


def _kept_before(unchanged: str, day: date) -> tuple | None:
    """The reading of the same file or version kept on one of the seven days before ``day``."""
    earlier = (_cached_directory(_dated(unchanged, day - timedelta(days=n))) for n in range(1, 8))
    return next(((*kept, None) for kept in earlier if kept is not None), None)


def _remembered(last: tuple[str, str], cached: tuple[Directory, pd.Series], mark) -> Actors:
    """A reading found in the parse cache, remembered as the one this process read last."""
    _LAST_READ.clear()
    _LAST_READ[last] = (*cached, mark)
    return Actors(directory=cached[0], search=cached[1])


def _read(directory: Directory, previous, still_current, last: tuple[str, str], mark, key: str) -> Actors:
    """A new reading completed (the communes filled, the search text), kept for the next start
    (``key``, while ``still_current()``) and for the next version's reading."""
    france.fill_communes(directory.actors)  # shown, not written: the file is left as it is
    if previous and previous[0].prints is not None and directory.prints is not None:
        before = previous[0]
        search = search_text_after(
            directory.actors, directory.prints.prints, before.prints.prints, previous[1], before.actors["id"]
        )
    else:
        search = search_text(directory.actors)
    if key:
        _keep_directory(key, (directory, search), still_current, alone=mark is not None)
    _LAST_READ.clear()  # once complete: another thread may read the next version from it
    _LAST_READ[last] = (directory, search, mark)
    return Actors(directory=directory, search=search)


#: Read the new version of the database as its changes while they are at most this many rows,
#: or a tenth of the directory: beyond, the whole version is read (as fast, and simpler).
CHANGES_AT_MOST = 5_000


def _read_changes(previous, referential: Referential, database) -> tuple[Directory, object] | None:
    """The database's new version read as its changes since ``previous`` and its mark (see
    :func:`load_actors`), None when it has to be read whole."""
    before, _, mark = previous
    taking = TakenBack.of(before, before.prints.header) if before.prints is not None else None
    if taking is None:
        return None
    again = mark.keys[taking.to_read_again(len(mark.keys))]
    found = database.changes(mark, again, max(CHANGES_AT_MOST, len(mark.keys) // 10))
    if found is None:
        return None
    with found.file:
        rows, encoding, delimiter = iter_table(found.file)
        directory = validate_changes(taking, mark.keys, found.mark.keys, rows, found.keys, referential)
    if directory is None:
        return None
    directory.encoding, directory.delimiter = encoding, delimiter
    return directory, found.mark


def _version_unchanged(mark, referential: Referential) -> str:
    """The cache key of the database's version ``mark`` names, read by this code with
    ``referential`` (as :func:`_directory_key` of a file)."""
    return _directory_key(f"{mark.identity} {mark.version}", referential)


def _version_key(mark, referential: Referential, day: date) -> str:
    """The cache key of the reading, on ``day``, of the database's version ``mark`` names."""
    return _dated(_version_unchanged(mark, referential), day)


#: The directory this process read last, by source and reader: the next version of the same file
#: takes back its unchanged rows instead of validating them again (see
#: :func:`reseaux.annuaire.validation.validate_rows`): after a save at a million fiches, the map's
#: next page read them all again, 88 s. One directory, its search text and, read from a database,
#: its mark (None for a file), which the server's cache holds anyway.
_LAST_READ: dict[tuple[str, str], tuple[Directory, pd.Series, object]] = {}


def forget_last_read() -> None:
    """Let go of the directory read last (an erasure: nothing of it is kept in memory)."""
    _LAST_READ.clear()


def _version_is(version: str) -> bool:
    """Whether the database's directory is still at ``version``."""
    from reseaux.stockage import directory_store

    return directory_store().current_version() == version


def _file_is(path: Path, digest: str) -> bool:
    """Whether the file at ``path`` still has the SHA-256 ``digest``."""
    try:
        with open(path, "rb") as now:
            return _digest(now) == digest
    except OSError:
        return False


def _digest(file: BinaryIO) -> str:
    """The SHA-256 of a file, read a block at a time from its start (not held whole)."""
    file.seek(0)
    return hashlib.file_digest(file, "sha256").hexdigest()


#: What the parsed directory depends on besides the file: the code that reads and completes it
#: (decoding, validation, columns, fields and model were parts of directory.py before it was split:
#: an upgrade that changes one of them parses the file again).
_READERS = (
    "annuaire/directory.py",
    "annuaire/decoding.py",
    "annuaire/cache_format.py",
    "annuaire/validation.py",
    "annuaire/columns.py",
    "annuaire/fields.py",
    "annuaire/model.py",
    "acces/access.py",
    "territoire/france.py",
    "annuaire/referential.py",
    "text.py",
)  # access: empty visibilite


def reading_key(referential: Referential) -> str:
    """What the reading of a directory depends on besides its cells: the code that reads it and
    ``referential`` (the key of the readings a database keeps, :mod:`reseaux.stockage.readings`)."""
    return _directory_key("", referential)


def _directory_key(digest: str, referential: Referential) -> str:
    """The cache key of the file of SHA-256 ``digest`` read by this code with ``referential``."""
    key = hashlib.sha256(digest.encode("ascii"))
    key.update(_readers_digest())
    key.update(repr(referential).encode("utf-8"))
    return key.hexdigest()[:32]


@cache
def _readers_digest() -> bytes:
    """The digest of the code that reads a directory (:data:`_READERS`): read once per process,
    not at each load (the code a process runs does not change under it)."""
    code = hashlib.sha256()
    here = Path(__file__).parent
    for name in _READERS:
        code.update((here / name).read_bytes())
    return code.digest()


def _dated(key: str, day: date) -> str:
    """The cache key of a reading (:func:`_directory_key`) made on ``day``."""
    return hashlib.sha256(f"{key} {day.isoformat()}".encode("ascii")).hexdigest()[:32]


def parse_cache_folder() -> Path:
    """Where parsed directories are kept (beside the geocoding cache); an erasure empties it."""
    return config.path("geocache").parent / "annuaire"


def _cached_directory(key: str) -> tuple[Directory, pd.Series] | None:
    """The parsed directory kept for ``key``; None when absent or unreadable. The folder is the
    app's own (beside the geocoding cache); a file that cannot be read back is ignored."""
    import pickle

    try:
        with open(parse_cache_folder() / f"{key}.pickle", "rb") as kept:  # our own file
            return pickle.load(kept)  # from the file, not its bytes read whole first
    except Exception:  # noqa: BLE001 — absent, truncated or from another version: read the file again
        return None


def _keep_directory(key: str, directory: tuple[Directory, pd.Series], still_current, *, alone: bool = False) -> None:
    """Keep ``directory`` for :func:`_cached_directory`.

    An erasure empties the folder once the file is saved (:func:`reseaux.annuaire.privacy.purge_actor`);
    a load that read the file before the erasure and writes here after it would bring the erased
    fiche back: once written, ``still_current()`` tells whether the directory is still the one
    parsed (the file's bytes, the database's version), and the copy is removed when it changed.

    ``alone`` (a version of the database): the readings of other versions are removed. The
    erasure empties the folder of the server that erased; another server on the same database
    kept the versions before it, her fiche in them, on its own disk, until three more versions
    came. It now lets them go at its first reading of the new version: a version the database
    replaced is never read again (a restoration makes a new one). The reading of the same
    version on a day before goes too (its key holds the day): :func:`_kept_before` finds it
    only for a server that restarts on a new day before it has kept that day's reading."""

    from reseaux.annuaire.exports import private_folder, write_atomic

    folder = parse_cache_folder()
    try:
        private_folder(folder)  # the fiches of people, parsed: private (and the file, new, is 0600)
        kept = folder / f"{key}.pickle"
        others = [found for found in folder.glob("*.pickle") if found != kept]
        for old in others if alone else sorted(others, key=_modified)[:-3]:
            old.unlink(missing_ok=True)  # the last few versions only
        write_atomic(kept, partial(cache_format.dump, directory))
        if not still_current():  # saved meanwhile (maybe erased): this one is stale
            kept.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only data folder: no cache, nothing lost


def _modified(path: Path) -> float:
    """When ``path`` was written; 0 when it is gone meanwhile (another server let it go)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def visible_view(full: Actors, role: str, visitors: str) -> Actors:
    """The part of ``full`` that ``role`` may see, as its own :class:`Actors` (rows renumbered
    0..n-1, so fiches, facets and map rows all refer to the same positions)."""
    from reseaux.acces.access import visible_actors

    whole = full.directory.actors
    shown = visible_actors(whole, role, visitors)
    # Rows kept aside and problems hold raw rows of people: not for those who cannot see them all.
    nothing_rejected = full.directory.rejected.iloc[0:0]
    if len(shown) == len(whole) and whole.index.equals(pd.RangeIndex(len(whole))):
        # Every fiche visible: the same rows, not a copy of them (a million public fiches copied
        # for visitors were 0.4 GB more in each server process). Shallow copies: with pandas'
        # copy-on-write, a change made to the view is made to its own copy, never to ``full``.
        return Actors(
            directory=Directory(actors=whole.copy(deep=False), rejected=nothing_rejected, issues=[]),
            search=full.search.copy(deep=False),
        )
    return Actors(
        directory=Directory(actors=shown.reset_index(drop=True), rejected=nothing_rejected, issues=[]),
        search=full.search[shown.index].reset_index(drop=True),
        reserved=len(whole) - len(shown),
    )
