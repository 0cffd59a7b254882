"""Filters are data: a filter description, its application, its French sentence, its URL.

Within one facet the chosen values are alternatives (« IVG ou contraception »); between
facets they all apply. Modalities and accessibility are requirements: an actor must offer
every one chosen (« sans rendez-vous et gratuit »), which is what a professional means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from reseaux.annuaire.model import PrintIndex, coordinates, held_by, none_gone, runs_of, shared_text
from reseaux.annuaire.referential import Referential
from reseaux.text import arrow_text, fold, fold_column, text_series

SEARCH_COLUMNS = ("nom", "structure", "description", "specialites")
#: Those columns as the labels of the search fields name them (« Recherche (nom, structure, …) »).
SEARCH_NAMES = "nom, structure, spécialités, description"

#: facet -> (directory column, referential category, query-string key, all values required)
FACETS: dict[str, tuple[str, str, str, bool]] = {
    "types": ("type", "type", "type", False),
    "themes": ("thematiques", "thematique", "theme", False),
    "professions": ("profession", "profession", "profession", False),
    "publics": ("publics", "public", "public", False),
    "modalites": ("modalites", "modalite", "modalite", True),
    "accessibilite": ("accessibilite", "accessibilite", "acces", True),
}
_PLACE_KEYS = {"communes": "commune", "epci": "epci"}


#: Longest query-string value read (a link longer than this is cut, not obeyed).
MAX_QUERY_TEXT = 4000


@dataclass(frozen=True)
class ActorFilter:
    """What the user asked for. Empty fields filter nothing."""

    types: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    professions: tuple[str, ...] = ()
    publics: tuple[str, ...] = ()
    modalites: tuple[str, ...] = ()
    accessibilite: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()
    epci: tuple[str, ...] = ()
    #: ``"layer_id:code"`` of a perimeter the actors must stand in.
    perimeter: str = ""
    text: str = ""
    #: Languages spoken (free values of the directory, compared folded); any one suffices.
    langues: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def to_query(self) -> dict[str, str]:
        """Return the filter as query-string parameters (codes joined by commas)."""
        query: dict[str, str] = {}
        for facet, (_, _, key, _) in FACETS.items():
            if getattr(self, facet):
                query[key] = ",".join(getattr(self, facet))
        for name, key in _PLACE_KEYS.items():
            if getattr(self, name):
                query[key] = ",".join(getattr(self, name))
        if self.perimeter:
            query["perimetre"] = self.perimeter
        if self.text:
            query["q"] = self.text
        if self.langues:
            query["langue"] = ",".join(self.langues)
        return query

    @classmethod
    def from_query(cls, query: Mapping[str, str | list[str]], referential: Referential) -> ActorFilter:
        """Read a filter back from query-string parameters; unknown codes are ignored."""

        def values(key: str) -> tuple[str, ...]:
            raw = query.get(key, "")
            items = raw if isinstance(raw, list) else [raw]
            found = (v.strip() for item in items for v in str(item)[:MAX_QUERY_TEXT].split(",") if v.strip())
            return tuple(dict.fromkeys(found))  # each value once (a link may repeat one thousands of times)

        kwargs: dict = {}
        for facet, (_, category, key, _) in FACETS.items():
            known = set(referential.codes(category))
            kwargs[facet] = tuple(v for v in values(key) if v in known)
        for name, key in _PLACE_KEYS.items():
            kwargs[name] = values(key)
        kwargs["perimeter"] = ",".join(values("perimetre")[:1])
        kwargs["text"] = str(query.get("q", "") or "")[:200]
        kwargs["langues"] = values("langue")
        return cls(**kwargs)

    def without(self, facet: str) -> ActorFilter:
        """Return a copy with ``facet`` cleared (to say which filter empties a list)."""
        empty = "" if facet in ("perimeter", "text") else ()  # every other field is a tuple
        return replace(self, **{facet: empty})


@dataclass
class FacetIndex:
    """For each (column, code), which actors have it: a mask, kept packed eight actors a byte.

    Built once per directory version (the app caches it): a filter change is then a few
    NumPy ``|`` and ``&`` instead of a pass over 100,000 tuples. Packed, the 86 codes of the
    referential take 11 MB at a million actors instead of 86 MB; unpacking the chosen ones costs
    about a millisecond each.
    """

    size: int
    packed: dict[tuple[str, str], np.ndarray]

    @classmethod
    def build(cls, actors: pd.DataFrame) -> FacetIndex:
        packed: dict[tuple[str, str], np.ndarray] = {}
        for column, _, _, _ in FACETS.values():
            if column not in actors:
                continue
            masks: dict[str, np.ndarray] = {}  # one column's at a time, then packed
            for position, value in enumerate(actors[column].tolist()):
                for code in value if isinstance(value, tuple | list) else ([value] if value else []):
                    mask = masks.get(code)
                    if mask is None:
                        mask = masks[code] = np.zeros(len(actors), dtype=bool)
                    mask[position] = True
            packed.update({(column, code): np.packbits(mask) for code, mask in masks.items()})
        return cls(len(actors), packed)

    def code_mask(self, column: str, code: str) -> np.ndarray:
        """The actors that have ``code`` in ``column`` (none when no actor has it)."""
        bits = self.packed.get((column, code))
        if bits is None:
            return np.zeros(self.size, dtype=bool)
        return np.unpackbits(bits, count=self.size).view(bool)

    def mask(self, column: str, chosen: set[str], require_all: bool) -> np.ndarray:
        parts = [self.code_mask(column, code) for code in chosen] or [np.zeros(self.size, dtype=bool)]
        return np.logical_and.reduce(parts) if require_all else np.logical_or.reduce(parts)


@dataclass
class FilterResult:
    actors: pd.DataFrame
    sentence: str
    mask: pd.Series = field(repr=False, default=None)


def search_text(actors: pd.DataFrame) -> pd.Series:
    """Return the folded text searched by the free-text filter, one string per actor: the
    :data:`SEARCH_COLUMNS` of its row joined by spaces, as :func:`reseaux.text.fold` folds it.

    Computed once per directory (the app caches it). Each column is folded by Arrow
    (:func:`reseaux.text.fold_column`, as the Annuaire's search text) and the columns joined by
    Arrow, ``SEARCH_CHUNK`` rows at a time: folded row by row in Python, a million fiches took
    5.5 s of the map's load (docs/mesures.md). Kept as Arrow strings (``str``).
    """
    if len(actors) > SEARCH_CHUNK:
        return pd.concat(
            [search_text(actors.iloc[start : start + SEARCH_CHUNK]) for start in range(0, len(actors), SEARCH_CHUNK)]
        )
    folded = [
        arrow_text(fold_column(_as_text(actors[column])), whole=True) for column in SEARCH_COLUMNS if column in actors
    ]
    if not folded:
        return pd.Series("", index=actors.index, dtype=str)
    joined = pc.binary_join_element_wise(*folded, pa.scalar(" ", pa.large_string()))
    # A blank column leaves two spaces: one, as fold() of the whole row leaves.
    return text_series(pc.utf8_trim(pc.replace_substring_regex(joined, " {2,}", " "), " "), actors.index)


def search_text_after(
    actors: pd.DataFrame, prints: np.ndarray, before: np.ndarray, text: pd.Series, before_ids: pd.Series | None = None
) -> pd.Series:
    """:func:`search_text` of ``actors``, whose rows' fingerprints are ``prints``
    (:class:`~reseaux.annuaire.model.RowPrints`), from ``text``, that of a previous reading whose
    rows' fingerprints are ``before``: a row's text is of its cells alone, so a row whose cells
    were there is given their text, and only the others are folded (0: no fingerprint).

    Given ``before_ids`` (the previous reading's identifiers), the text is made of slices of
    ``text`` and of the rows folded again, not copied, when every fiche of the previous reading
    is still there, as the directory's own columns are (:meth:`TakenBack.merged
    <reseaux.annuaire.validation.TakenBack.merged>`): after a save of one fiche among a million,
    its copy was 80 MB at the top of the server's memory during the reread. A slice keeps every
    byte of its buffer: a fiche gone (erased) must not stay in it, so then the text is copied."""
    if len(before) != len(text):
        return search_text(actors)
    at = PrintIndex(before).positions(prints)
    found = at >= 0
    if not found.any():
        return search_text(actors)
    again = np.flatnonzero(~found)
    folded = search_text(actors.iloc[again]) if len(again) else text.iloc[:0]
    if before_ids is not None and "id" in actors and none_gone(before_ids, at[found], actors["id"].iloc[again]):
        source = at.copy()
        source[again] = len(text) + np.arange(len(again))
        runs = runs_of(source)
        shared = shared_text(text, folded, runs) if runs is not None else None
        if shared is not None:
            return pd.Series(shared.array, index=actors.index, copy=False)
    taken = arrow_text(text, whole=True).take(pa.array(np.maximum(at, 0)))
    if len(again):
        taken = pc.replace_with_mask(taken, pa.array(~found), arrow_text(folded, whole=True))
    return text_series(taken, actors.index)


def _as_text(values: pd.Series) -> pd.Series:
    """A column as the text searched: a list of words (spécialités) joined by spaces."""
    if values.dtype != object:
        return values
    return values.map(lambda v: " ".join(v) if isinstance(v, tuple | list) else ("" if pd.isna(v) else str(v)))


#: Rows folded at a time by :func:`search_text` (the Arrow copies of a chunk, not of the whole).
SEARCH_CHUNK = 50_000


def apply_filter(
    actors: pd.DataFrame,
    flt: ActorFilter,
    referential: Referential,
    *,
    perimeters: Mapping[str, gpd.GeoDataFrame] | None = None,
    commune_epci: Mapping[str, str] | None = None,
    place_names: Mapping[str, str] | None = None,
    search: pd.Series | None = None,
    facets: FacetIndex | None = None,
) -> FilterResult:
    """Filter ``actors`` by ``flt``.

    ``perimeters`` maps layer ids to loaded layers (for ``flt.perimeter``), ``commune_epci``
    maps INSEE codes to EPCI SIREN (for ``flt.epci``), ``place_names`` names codes in the
    sentence, ``search`` is :func:`search_text` of ``actors`` when already computed.
    Returns the filtered frame and the French sentence that describes the filter.
    """
    mask = pd.Series(True, index=actors.index)
    for facet, (column, _, _, require_all) in FACETS.items():
        chosen = set(getattr(flt, facet))
        if chosen and column in actors:
            if facets is not None and facets.size == len(actors):
                mask &= facets.mask(column, chosen, require_all)
            else:
                mask &= _facet_mask(actors[column], chosen, require_all)
    if flt.communes:
        mask &= actors["code_insee"].isin(flt.communes)
    if flt.epci:
        lookup = commune_epci or {}
        mask &= actors["code_insee"].map(lambda c: lookup.get(c, "")).isin(flt.epci)
    if flt.perimeter:
        mask &= perimeter_mask(actors, flt.perimeter, perimeters or {})
    if flt.langues and "langues" in actors:
        wanted = {fold(lang) for lang in flt.langues}
        mask &= actors["langues"].map(lambda spoken: not wanted.isdisjoint(fold(s) for s in spoken))
    if flt.text.strip():
        folded = search if search is not None else search_text(actors)
        for word in fold(flt.text).split():
            mask &= folded.str.contains(word, regex=False)
    return FilterResult(actors[mask], describe(flt, referential, place_names or {}), mask)


#: Each field of :class:`ActorFilter` as a person names it (« C'est le filtre « thématique » qui… »).
FIELD_NAMES = {
    "types": "type",
    "themes": "thématique",
    "professions": "profession",
    "publics": "public",
    "modalites": "modalité",
    "accessibilite": "accessibilité",
    "langues": "langue",
    "communes": "commune",
    "epci": "EPCI",
    "perimeter": "périmètre",
    "text": "recherche libre",
}


def emptying_fields(actors: pd.DataFrame, flt: ActorFilter, referential: Referential, **context) -> list[str]:
    """The fields of ``flt`` each of which, taken off alone, gives actors back (in
    :data:`FIELD_NAMES` order); for a filter that leaves no actor. ``context``: as :func:`apply_filter`."""
    return [
        name
        for name in FIELD_NAMES
        if getattr(flt, name) and len(apply_filter(actors, flt.without(name), referential, **context).actors)
    ]


def describe(flt: ActorFilter, referential: Referential, place_names: Mapping[str, str]) -> str:
    """Say in French what ``flt`` keeps, e.g. « Acteurs sur la thématique « IVG », à Rouen. »"""
    if flt.is_empty:
        return "Tous les acteurs de l'annuaire, sans filtre."
    clauses: list[str] = []
    intro = {
        "types": "de type",
        "themes": "sur la thématique",
        "professions": "exerçant comme",
        "publics": "accueillant le public",
        "modalites": "avec la modalité",
        "accessibilite": "avec l'accessibilité",
    }
    for facet, (_, category, _, require_all) in FACETS.items():
        codes = getattr(flt, facet)
        if codes:
            labels = [f"« {referential.label(category, c)} »" for c in codes]
            clauses.append(f"{intro[facet]} {_join(labels, 'et' if require_all else 'ou')}")
    if flt.communes:
        names = [place_names.get(f"commune:{c}", c) for c in flt.communes]
        clauses.append(f"dans la commune de {_join(names, 'ou')}")
    if flt.epci:
        names = [place_names.get(f"epci:{c}", c) for c in flt.epci]
        clauses.append(f"dans l'EPCI {_join(names, 'ou')}")
    if flt.perimeter:
        clauses.append(f"dans le périmètre « {place_names.get(flt.perimeter, flt.perimeter)} »")
    if flt.langues:
        clauses.append(f"parlant {_join([f'« {lang} »' for lang in flt.langues], 'ou')}")
    if flt.text.strip():
        clauses.append(f"dont le nom, la structure, les spécialités ou la description contient « {flt.text.strip()} »")
    return "Acteurs " + ", ".join(clauses) + "."


def _join(items: list[str], word: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _facet_mask(values: pd.Series, chosen: set[str], require_all: bool) -> pd.Series:
    if values.map(lambda v: isinstance(v, tuple | list)).any():
        if require_all:
            return values.map(lambda v: chosen.issubset(v))
        return values.map(lambda v: not chosen.isdisjoint(v))
    return values.isin(chosen)


def perimeter_shape(perimeter: str, perimeters: Mapping[str, gpd.GeoDataFrame]):
    """The outline (WGS 84, shapely) of the perimeter ``"layer_id:code"`` among the loaded layers
    ``perimeters``, its pieces united; None when there is no such perimeter."""
    layer_id, _, code = perimeter.partition(":")
    layer = perimeters.get(layer_id)
    if layer is None:
        return None
    shapes = layer[layer["code"] == code]
    if shapes.empty:
        return None
    if shapes.crs is not None and shapes.crs != "EPSG:4326":  # the loaded layers are; a frame given may not be
        shapes = shapes.to_crs("EPSG:4326")
    return shapes.geometry.union_all()


def perimeter_mask(actors: pd.DataFrame, perimeter: str, perimeters: Mapping[str, gpd.GeoDataFrame]) -> pd.Series:
    """Which of ``actors`` stand in the perimeter ``"layer_id:code"`` (an edge counts), as a filter keeps them."""
    shape = perimeter_shape(perimeter, perimeters)
    if shape is None:
        return pd.Series(False, index=actors.index)
    shapely.prepare(shape)
    # The numbers, not a million shapely points at each rerun; an edge counts, as in Couverture.
    lon, lat, _ = coordinates(actors)
    inside = np.zeros(len(actors), dtype=bool)
    inside[held_by(shape, lon, lat)] = True
    return pd.Series(inside, index=actors.index)
